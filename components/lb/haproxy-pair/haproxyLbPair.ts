/** Two load-balancer hosts running HAProxy, with KeepAlived moving a virtual IP between them. */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig, HaproxyLbConfig, LbHostConfig } from "../../config/types";
import { ClusterView } from "../../cluster/view";
import { SshSettings, connectionFor, needsSudo } from "../../host/connection";
import { hostStep } from "../../host/hostStep";
import { Naming } from "../../host/naming";
import { LbBackend } from "../backends";
import { renderSupervisionDropIn } from "../supervision";
import { installSupervisionScript, removeSupervisionScript } from "../supervisionScripts";
import { renderHaproxyCfg } from "./haproxyCfg";
import {
  KEEPALIVED_CHECK_SCRIPT_PATH,
  KEEPALIVED_SCRIPT_USER,
  VRRP_NICE,
  renderHaproxyCheckScript,
  renderKeepalivedConf,
} from "./keepalivedConf";
import {
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

export const HAPROXY_LB_PAIR_TYPE = "k3s-ha:lb:HaproxyLbPair";

export interface HaproxyLbPairArgs {
  /** The validated cluster: the pair's settings and hosts, and the servers it balances. */
  cluster: ClusterView;
  /** The K3s servers traffic is balanced over. */
  backends: (cluster: ClusterConfig) => LbBackend[];
  /** How to reach the hosts, and what every step waits for. */
  ssh: SshSettings;
  naming: Naming;
}

const lbOf = (c: ClusterConfig) => c.loadBalancer as HaproxyLbConfig;

export class HaproxyLbPair extends pulumi.ComponentResource {
  /** Every step on both hosts; whatever needs the VIP serving depends on these. */
  public readonly steps: pulumi.Resource[] = [];

  /**
   * One host at a time, in the order of lbHosts: lb-2's steps wait for all of lb-1's and first
   * check that lb-1 serves on its own address, so a config lb-1 refuses (haproxy -c, keepalived -t)
   * or does not serve with stops the run before lb-2 changes and the VIP keeps a working holder.
   */
  constructor(name: string, args: HaproxyLbPairArgs, opts?: pulumi.ComponentResourceOptions) {
    super(HAPROXY_LB_PAIR_TYPE, name, {}, opts);
    const lb = args.cluster.shape.loadBalancer as HaproxyLbConfig<pulumi.Input<string>>;
    const haproxyCfg = args.cluster.derive((c) => renderHaproxyCfg({ backends: args.backends(c) }));
    let previous: { index: number; steps: pulumi.Resource[] } | undefined;
    const configured: {
      index: number;
      keepalivedConf: pulumi.Input<string>;
      steps: pulumi.Resource[];
    }[] = [];
    lb.hosts.forEach((_, index) => {
      const { steps, keepalivedConf } = this.configureHost(
        index,
        args,
        haproxyCfg,
        previous,
        index < lb.hosts.length - 1,
      );
      this.steps.push(...steps);
      configured.push({ index, keepalivedConf, steps });
      previous = { index, steps };
    });
    // A KeepAlived held stopped across a VRRP change starts once every later host has changed.
    configured.slice(0, -1).forEach(({ index, keepalivedConf }, i) => {
      const host = lb.hosts[index];
      const later = configured.slice(i + 1);
      const resume = this.step(args, host, "keepalived-resume", {
        dependsOn: later.flatMap((c) => c.steps),
      });
      this.steps.push(
        hostStep(
          resume.name,
          {
            connection: connectionFor(host, args.ssh),
            sudo: needsSudo(args.ssh),
            create: resumeKeepalivedScript(),
            delete: removeResumeKeepalivedScript(),
            rerunOn: [{ label: "keepalived.conf", value: keepalivedConf }],
          },
          resume.opts,
        ),
      );
    });
    this.registerOutputs({});
  }

  /** `<cluster>-lb-<host>-<role>`, as the pair's steps were always named below the component `lb`. */
  private step(
    args: HaproxyLbPairArgs,
    host: LbHostConfig<pulumi.Input<string>>,
    role: string,
    more: pulumi.CustomResourceOptions = {},
  ) {
    const local = `lb-${host.name}-${role}`;
    return {
      name: args.naming.name(local),
      opts: { parent: this, ...more },
    };
  }

  private configureHost(
    index: number,
    args: HaproxyLbPairArgs,
    haproxyCfg: pulumi.Input<string>,
    after: { index: number; steps: pulumi.Resource[] } | undefined,
    rollsFirst: boolean,
  ): { steps: pulumi.Resource[]; keepalivedConf: pulumi.Input<string> } {
    const { cluster, ssh } = args;
    const pair = cluster.shape.loadBalancer as HaproxyLbConfig<pulumi.Input<string>>;
    const host = pair.hosts[index];
    const connection = connectionFor(host, ssh);
    const sudo = needsSudo(ssh);
    const afterPeer = after?.steps ?? [];
    const afterPeerOpts = after ? { dependsOn: afterPeer } : {};
    // The peer that changes first (lb-1, for lb-2), by its own address, never the VIP.
    const peerOf = (c: ClusterConfig, servers: boolean): LbPeerFirst | undefined => {
      if (!after) return undefined;
      const peer = lbOf(c).hosts[after.index];
      return {
        name: peer.name,
        address: peer.address,
        ...(servers && { servers: args.backends(c).map((b) => b.address) }),
      };
    };
    const haproxy = this.step(args, host, "haproxy", afterPeerOpts);
    const haproxyStep = hostStep(
      haproxy.name,
      {
        connection,
        sudo,
        // The step that changes the backends also checks that the peer passes /ping with them.
        create: cluster.derive((c) => applyHaproxyCfgScript(peerOf(c, true))),
        delete: removeHaproxyCfgScript(),
        stdin: haproxyCfg,
      },
      haproxy.opts,
    );
    // systemd restarts KeepAlived and HAProxy when they die; on a host without it the step warns.
    const supervise = this.step(args, host, "supervise", afterPeerOpts);
    const superviseStep = hostStep(
      supervise.name,
      {
        connection,
        sudo,
        create: installSupervisionScript(["keepalived", "haproxy"]),
        delete: removeSupervisionScript(["keepalived", "haproxy"]),
        stdin: renderSupervisionDropIn(),
      },
      supervise.opts,
    );
    const check = this.step(args, host, "keepalived-check", afterPeerOpts);
    const checkStep = hostStep(
      check.name,
      {
        connection,
        sudo,
        create: cluster.derive((c) =>
          installCheckScriptScript(
            KEEPALIVED_CHECK_SCRIPT_PATH,
            KEEPALIVED_SCRIPT_USER,
            peerOf(c, false),
          ),
        ),
        delete: removeCheckScriptScript(KEEPALIVED_CHECK_SCRIPT_PATH, KEEPALIVED_SCRIPT_USER),
        stdin: renderHaproxyCheckScript(),
      },
      check.opts,
    );
    const keepalivedConf = cluster.derive((c) => {
      const lb = lbOf(c);
      const self = lb.hosts[index];
      const others = lb.hosts.filter((_, i) => i !== index);
      return renderKeepalivedConf({
        interface: lb.interface,
        virtualRouterId: lb.virtualRouterId,
        vip: lb.vip,
        vipPrefixLength: lb.vipPrefixLength,
        priority: self.priority,
        peerPriority: others[0]?.priority,
        routerId: self.name,
        nopreempt: lb.nopreempt,
        advertIntervalMs: lb.advertIntervalMs,
        ...(lb.unicast
          ? { unicast: { sourceAddress: self.address, peers: others.map((h) => h.address) } }
          : {}),
      });
    });
    // The host that changes first holds KeepAlived across a VRRP change its peer cannot hear; the
    // peer's name stays out of its scripts, so renaming lb-2 re-runs nothing on lb-1.
    const roll = rollsFirst ? { vip: pair.vip } : undefined;
    const keepalived = this.step(args, host, "keepalived", {
      // KeepAlived claims the VIP only once HAProxy serves behind it and its check exists.
      dependsOn: [...afterPeer, haproxyStep, checkStep],
    });
    const keepalivedStep = hostStep(
      keepalived.name,
      {
        connection,
        sudo,
        create: cluster.derive((c) => applyKeepalivedConfScript(VRRP_NICE, peerOf(c, false), roll)),
        delete: removeKeepalivedConfScript(),
        stdin: keepalivedConf,
      },
      keepalived.opts,
    );
    return { steps: [haproxyStep, checkStep, keepalivedStep, superviseStep], keepalivedConf };
  }
}
