/** Two load-balancer hosts running HAProxy, with KeepAlived moving a virtual IP between them. */
import * as pulumi from "@pulumi/pulumi";
import { HaproxyLbConfig, LbHostConfig } from "../../config/types";
import { SshSettings, connectionFor, needsSudo } from "../../host/connection";
import { hostStep } from "../../host/hostStep";
import { LbBackend } from "../backends";
import { renderHaproxyCfg } from "./haproxyCfg";
import {
  KEEPALIVED_CHECK_SCRIPT_PATH,
  KEEPALIVED_SCRIPT_USER,
  renderHaproxyCheckScript,
  VRRP_NICE,
  renderKeepalivedConf,
} from "./keepalivedConf";
import {
  KeepalivedRoll,
  LbPeerFirst,
  applyHaproxyCfgScript,
  applyKeepalivedConfScript,
  installCheckScriptScript,
  removeCheckScriptScript,
  removeHaproxyCfgScript,
  removeKeepalivedConfScript,
  removeResumeKeepalivedScript,
  resumeKeepalivedScript,
} from "./scripts";
import { renderSupervisionDropIn } from "../supervision";
import { installSupervisionScript, removeSupervisionScript } from "../supervisionScripts";
import { HAPROXY_LB_PAIR_TYPE } from "../../cluster/typeTokens";

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
    const configured: { host: LbHostConfig; keepalivedConf: string; steps: pulumi.Resource[] }[] =
      [];
    args.lb.hosts.forEach((host, i) => {
      const next = args.lb.hosts[i + 1];
      const { steps, keepalivedConf } = this.configureHost(
        `${name}-${host.name}`,
        host,
        args,
        haproxyCfg,
        checkScript,
        previous,
        next && { vip: args.lb.vip },
      );
      this.steps.push(...steps);
      configured.push({ host, keepalivedConf, steps });
      previous = { peer: { name: host.name, address: host.address }, steps };
    });
    // A KeepAlived held stopped across a VRRP change starts once every later host has changed.
    configured.slice(0, -1).forEach(({ host, keepalivedConf }, i) => {
      const later = configured.slice(i + 1);
      this.steps.push(
        hostStep(
          `${name}-${host.name}-keepalived-resume`,
          {
            connection: connectionFor(host, args.ssh),
            sudo: needsSudo(args.ssh),
            create: resumeKeepalivedScript(),
            delete: removeResumeKeepalivedScript(),
            rerunOn: [{ label: "keepalived.conf", value: keepalivedConf }],
          },
          { parent: this, dependsOn: later.flatMap((c) => c.steps) },
        ),
      );
    });
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
    roll: KeepalivedRoll | undefined,
  ): { steps: pulumi.Resource[]; keepalivedConf: string } {
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
    const keepalivedConf = renderKeepalivedConf({
      interface: lb.interface,
      virtualRouterId: lb.virtualRouterId,
      vip: lb.vip,
      vipPrefixLength: lb.vipPrefixLength,
      priority: host.priority,
      peerPriority: others[0]?.priority,
      routerId: host.name,
      nopreempt: lb.nopreempt,
      advertIntervalMs: lb.advertIntervalMs,
      ...(lb.unicast
        ? { unicast: { sourceAddress: host.address, peers: others.map((h) => h.address) } }
        : {}),
    });
    const keepalived = hostStep(
      `${prefix}-keepalived`,
      {
        connection,
        sudo,
        create: applyKeepalivedConfScript(VRRP_NICE, peer, roll),
        delete: removeKeepalivedConfScript(),
        stdin: keepalivedConf,
      },
      // KeepAlived claims the VIP only once HAProxy serves behind it and its check exists.
      { parent: this, dependsOn: [...afterPeer, haproxy, check] },
    );
    return { steps: [haproxy, check, keepalived, supervise], keepalivedConf };
  }
}
