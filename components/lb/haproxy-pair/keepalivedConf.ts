/** Renders keepalived.conf and its HAProxy check script for the load-balancer pair. Pure: takes validated values. */
import { defaultOf } from "../../config/keys";
import { HAPROXY_HEALTH_PORT, HAPROXY_HEALTH_URI } from "./haproxyCfg";
import { MANAGED_HEADER, hostFile } from "../../host/script";

/** Where the program installs the check script (0755 root:root, as enable_script_security demands). */
export const KEEPALIVED_CHECK_SCRIPT_PATH = "/etc/keepalived/check_haproxy.sh";
/**
 * The unprivileged system user KeepAlived runs the check script as (script_user), which the check
 * script's step creates. KeepAlived's own default name: without script_user it uses this user when
 * it exists, else root.
 */
export const KEEPALIVED_SCRIPT_USER = "keepalived_script";

export interface KeepalivedArgs {
  /** Interface that carries VRRP and receives the VIP. */
  interface: string;
  /** 1-255, unique on the L2 segment. */
  virtualRouterId: number;
  /** The virtual IP, without prefix. */
  vip: string;
  vipPrefixLength: number;
  /** This host's VRRP priority, 1-254. */
  priority: number;
  /** Start BACKUP and keep the VIP where it is when a higher-priority peer returns. */
  nopreempt: boolean;
  /** Unicast VRRP from this host's address to its peers; omitted = multicast. */
  unicast?: { sourceAddress: string; peers: string[] };
  /** Default KEEPALIVED_CHECK_SCRIPT_PATH. */
  checkScriptPath?: string;
  /** The peer's priority; with preemption the higher of the two starts MASTER. Omitted = BACKUP. */
  peerPriority?: number;
  /** global_defs router_id; omitted = KeepAlived uses the host name. */
  routerId?: string;
  /** VRRPv3 advertisement interval; default DEFAULT_ADVERT_INTERVAL_MS. */
  advertIntervalMs?: number;
}

/**
 * A backup declares the master dead after 3 advertisement intervals plus a skew of up to one
 * interval (RFC 5798 Master_Down_Interval): about 0.9 s at the default 250 ms, where VRRPv2's
 * whole-second minimum gives 3.6 s.
 */
const DEFAULT_ADVERT_INTERVAL_MS = defaultOf("vrrpAdvertIntervalMs");
/**
 * Nice value of KeepAlived's VRRP process (global_defs vrrp_priority): busy processes on the host
 * get a sliver of the CPU next to it, so its adverts keep their pace. Not vrrp_rt_priority:
 * KeepAlived 2.2.7 (Debian 12's) sets its realtime VRRP process's RLIMIT_RTTIME to 0 on every
 * reload ("child process cannot set realtime rlimit") and the kernel kills it at once ("exited
 * due to signal 9 - has rlimit_rttime been exceeded?"); in the e2e lab the VIP then had no
 * holder for up to 1.5 s while the parent respawned it. A realtime process is also refused where
 * the kernel has RT group scheduling and the service's cgroup no RT budget.
 */
export const VRRP_NICE = -20;

/*
 * Choices the file does not explain itself:
 * - No `authentication`: VRRPv2 PASS auth is an 8-character cleartext string that anyone on the
 *   segment can read, RFC 3768 dropped it, and VRRPv3 (IPv6) has none.
 * - The check script has weight 0 (the default): a failing check puts this host in FAULT and the
 *   peer takes the VIP. A negative weight works only when it exceeds the priority gap.
 * - KeepAlived refuses `nopreempt` unless the initial state is BACKUP, so nopreempt means BACKUP.
 * - The check script runs as an unprivileged user (script_user): it only asks HTTP of 127.0.0.1.
 *   KeepAlived checks at load that this user can reach and execute the script.
 * - Unicast mode checks each advert's source against the peers (check_unicast_src): without it
 *   KeepAlived accepts an advert from any address, so any host that can reach this one could send
 *   a higher priority and take the VIP. A host that spoofs a peer's address still can: see the
 *   docs/security.md, "VRRP on a shared segment".
 * - VRRPv3 (RFC 5798): the only version with sub-second advertisements. A v2 and a v3 host do not
 *   understand each other's adverts, so a running pair changes version by the "hold" roll in
 *   lbScripts.ts, never one reload after the other.
 * - vrrp_priority -20: busy processes on the host cannot delay the VRRP process's adverts past
 *   the peer's 3-interval timeout (VRRP_NICE says why not realtime).
 * - The check script runs every second (vrrp_script intervals are whole seconds) and probes
 *   several times within each run, exiting at the second failed probe in a row: `fall 1` then
 *   acts on about 0.6 s of evidence, not on one slow answer.
 */
export function renderKeepalivedConf(args: KeepalivedArgs): string {
  const scriptPath = args.checkScriptPath ?? KEEPALIVED_CHECK_SCRIPT_PATH;
  const advertSeconds = (args.advertIntervalMs ?? DEFAULT_ADVERT_INTERVAL_MS) / 1000;
  const startsMaster =
    !args.nopreempt && args.peerPriority !== undefined && args.priority > args.peerPriority;
  const unicast = args.unicast
    ? [
        `  unicast_src_ip ${args.unicast.sourceAddress}`,
        "  unicast_peer {",
        ...args.unicast.peers.map((peer) => `    ${peer}`),
        "  }",
        "  # Ignore adverts whose source address is not one of the peers above.",
        "  check_unicast_src",
        "  # Go to FAULT, not MASTER, when no peer address is usable.",
        "  unicast_fault_no_peer",
      ]
    : [];
  const lines = [
    MANAGED_HEADER,
    "",
    "global_defs {",
    "  vrrp_version 3",
    `  vrrp_priority ${VRRP_NICE}`,
    "  enable_script_security",
    `  script_user ${KEEPALIVED_SCRIPT_USER}`,
    "  vrrp_garp_master_refresh 60",
    ...(args.routerId !== undefined ? [`  router_id ${args.routerId}`] : []),
    "}",
    "",
    "vrrp_script chk_haproxy {",
    `  script "${scriptPath}"`,
    "  interval 1",
    "  timeout 3",
    "  fall 1",
    "  rise 2",
    "}",
    "",
    "vrrp_instance k3s-api-vip {",
    `  state ${startsMaster ? "MASTER" : "BACKUP"}`,
    `  interface ${args.interface}`,
    `  virtual_router_id ${args.virtualRouterId}`,
    `  priority ${args.priority}`,
    `  advert_int ${advertSeconds}`,
    ...(args.nopreempt ? ["  nopreempt"] : []),
    ...unicast,
    "  virtual_ipaddress {",
    `    ${args.vip}/${args.vipPrefixLength} dev ${args.interface}`,
    "  }",
    "  track_script {",
    "    chk_haproxy",
    "  }",
    "}",
  ];
  return lines.join("\n") + "\n";
}

/** The check KeepAlived starts every second (check_haproxy.sh), probing the local HAProxy's monitor URI. */
export function renderHaproxyCheckScript(args: { healthPort?: number } = {}): string {
  const port = args.healthPort ?? HAPROXY_HEALTH_PORT;
  return hostFile("lb/haproxy-pair/check_haproxy.sh", {
    health_url: `http://127.0.0.1:${port}${HAPROXY_HEALTH_URI}`,
  });
}
