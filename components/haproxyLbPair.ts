/** Two load-balancer hosts running HAProxy, with KeepAlived moving a virtual IP between them. */
import * as pulumi from "@pulumi/pulumi";
import { HaproxyLbConfig, LbHostConfig } from "./config";
import { SshSettings, connectionFor, needsSudo } from "./remote/connection";
import { hostStep } from "./remote/hostStep";
import { LbBackend, renderHaproxyCfg } from "./render/haproxy";
import {
  KEEPALIVED_CHECK_SCRIPT_PATH,
  KEEPALIVED_SCRIPT_USER,
  renderHaproxyCheckScript,
  renderKeepalivedConf,
} from "./render/keepalived";
import {
  LbPeerFirst,
  applyHaproxyCfgScript,
  applyKeepalivedConfScript,
  installCheckScriptScript,
  removeCheckScriptScript,
  removeHaproxyCfgScript,
  removeKeepalivedConfScript,
} from "./render/lbScripts";
import { renderSupervisionDropIn } from "./render/supervision";
import { installSupervisionScript, removeSupervisionScript } from "./render/supervisionScripts";
import { HAPROXY_LB_PAIR_TYPE } from "./tokens";

export interface HaproxyLbPairArgs {
  /** The VIP, interface, VRRP settings and the two hosts. */
  lb: HaproxyLbConfig;
  /** The K3s servers traffic is balanced over. */
  backends: LbBackend[];
  /** How to reach the hosts. */
  ssh: SshSettings;
}

export class HaproxyLbPair extends pulumi.ComponentResource {
  /** The registration address: the VIP. */
  public readonly address: string;
  /** Every step on both hosts; whatever needs the VIP serving depends on these. */
  public readonly steps: pulumi.Resource[] = [];

  /**
   * One host at a time, in the order of lbHosts: lb-2's steps wait for all of lb-1's and first
   * check that lb-1 serves on its own address, so a config lb-1 refuses (haproxy -c, keepalived -t)
   * or does not serve with stops the run before lb-2 changes and the VIP keeps a working holder.
   */
  constructor(name: string, args: HaproxyLbPairArgs, opts?: pulumi.ComponentResourceOptions) {
    super(HAPROXY_LB_PAIR_TYPE, name, {}, opts);
    const haproxyCfg = renderHaproxyCfg({ backends: args.backends });
    const checkScript = renderHaproxyCheckScript();
    let previous: { peer: LbPeerFirst; steps: pulumi.Resource[] } | undefined;
    for (const host of args.lb.hosts) {
      const steps = this.configureHost(
        `${name}-${host.name}`,
        host,
        args,
        haproxyCfg,
        checkScript,
        previous,
      );
      this.steps.push(...steps);
      previous = { peer: { name: host.name, address: host.address }, steps };
    }
    this.address = args.lb.vip;
    this.registerOutputs({ address: this.address });
  }

  private configureHost(
    prefix: string,
    host: LbHostConfig,
    args: HaproxyLbPairArgs,
    haproxyCfg: string,
    checkScript: string,
    after: { peer: LbPeerFirst; steps: pulumi.Resource[] } | undefined,
  ): pulumi.Resource[] {
    const connection = connectionFor(host, args.ssh);
    const sudo = needsSudo(args.ssh);
    const lb = args.lb;
    const others = lb.hosts.filter((h) => h.name !== host.name);
    const peer = after?.peer;
    const afterPeer = after?.steps ?? [];
    const afterPeerOpts = after ? { parent: this, dependsOn: afterPeer } : { parent: this };
    const haproxy = hostStep(
      `${prefix}-haproxy`,
      {
        connection,
        sudo,
        // The step that changes the backends also checks that the peer passes /ping with them.
        create: applyHaproxyCfgScript(
          peer && { ...peer, servers: args.backends.map((b) => b.address) },
        ),
        delete: removeHaproxyCfgScript(),
        stdin: haproxyCfg,
      },
      afterPeerOpts,
    );
    // systemd restarts KeepAlived and HAProxy when they die; on a host without it the step warns.
    const supervise = hostStep(
      `${prefix}-supervise`,
      {
        connection,
        sudo,
        create: installSupervisionScript(["keepalived", "haproxy"]),
        delete: removeSupervisionScript(["keepalived", "haproxy"]),
        stdin: renderSupervisionDropIn(),
      },
      afterPeerOpts,
    );
    const check = hostStep(
      `${prefix}-keepalived-check`,
      {
        connection,
        sudo,
        create: installCheckScriptScript(
          KEEPALIVED_CHECK_SCRIPT_PATH,
          KEEPALIVED_SCRIPT_USER,
          peer,
        ),
        delete: removeCheckScriptScript(KEEPALIVED_CHECK_SCRIPT_PATH, KEEPALIVED_SCRIPT_USER),
        stdin: checkScript,
      },
      afterPeerOpts,
    );
    const keepalived = hostStep(
      `${prefix}-keepalived`,
      {
        connection,
        sudo,
        create: applyKeepalivedConfScript(peer),
        delete: removeKeepalivedConfScript(),
        stdin: renderKeepalivedConf({
          interface: lb.interface,
          virtualRouterId: lb.virtualRouterId,
          vip: lb.vip,
          vipPrefixLength: lb.vipPrefixLength,
          priority: host.priority,
          peerPriority: others[0]?.priority,
          routerId: host.name,
          nopreempt: lb.nopreempt,
          ...(lb.unicast
            ? { unicast: { sourceAddress: host.address, peers: others.map((h) => h.address) } }
            : {}),
        }),
      },
      // KeepAlived claims the VIP only once HAProxy serves behind it and its check exists.
      { parent: this, dependsOn: [...afterPeer, haproxy, check] },
    );
    return [haproxy, check, keepalived, supervise];
  }
}
