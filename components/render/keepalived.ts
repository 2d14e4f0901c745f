/** Renders keepalived.conf and its HAProxy check script for the load-balancer pair. Pure. */
import { HAPROXY_HEALTH_PORT, HAPROXY_HEALTH_URI } from "./haproxy";
import { checkPort, failOnProblems, ipFamily } from "./lbBackends";
import { MANAGED_HEADER } from "./shell";

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
}

// keepalived splits `script` on spaces and has no escaping worth relying on.
const SAFE_PATH = /^\/[A-Za-z0-9._/-]+$/;
const INTERFACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;
const ROUTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function checkArgs(args: KeepalivedArgs, scriptPath: string): string[] {
  const problems: string[] = [];
  if (!INTERFACE_NAME.test(args.interface)) {
    problems.push(`interface: ${JSON.stringify(args.interface)} is not an interface name`);
  }
  if (
    !Number.isInteger(args.virtualRouterId) ||
    args.virtualRouterId < 1 ||
    args.virtualRouterId > 255
  ) {
    problems.push(`virtualRouterId: ${args.virtualRouterId} must be an integer in 1..255`);
  }
  for (const [field, value] of [
    ["priority", args.priority],
    ["peerPriority", args.peerPriority],
  ] as const) {
    // 255 is reserved for the address owner, which a floating VIP never has.
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 254)) {
      problems.push(`${field}: ${value} must be an integer in 1..254`);
    }
  }
  if (args.peerPriority === args.priority) {
    problems.push(
      `peerPriority: equals priority (${args.priority}); the pair needs distinct priorities`,
    );
  }
  const family = ipFamily(args.vip);
  if (family === undefined) {
    problems.push(`vip: ${JSON.stringify(args.vip)} is not an IPv4 or IPv6 address`);
  }
  const maxPrefix = family === 6 ? 128 : 32;
  if (
    !Number.isInteger(args.vipPrefixLength) ||
    args.vipPrefixLength < 1 ||
    args.vipPrefixLength > maxPrefix
  ) {
    problems.push(`vipPrefixLength: ${args.vipPrefixLength} must be an integer in 1..${maxPrefix}`);
  }
  if (args.unicast) {
    const { sourceAddress, peers } = args.unicast;
    // KeepAlived drops peers of the other family and then runs without them.
    const sameFamily = (field: string, address: string) => {
      const f = ipFamily(address);
      if (f === undefined)
        problems.push(`${field}: ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
      else if (family !== undefined && f !== family) {
        problems.push(`${field}: ${address} is IPv${f} but the VIP is IPv${family}`);
      }
    };
    sameFamily("unicast.sourceAddress", sourceAddress);
    if (peers.length === 0) problems.push("unicast.peers: at least one peer is required");
    peers.forEach((peer, i) => {
      sameFamily(`unicast.peers[${i}]`, peer);
      if (peer === sourceAddress)
        problems.push(`unicast.peers[${i}]: ${peer} is this host's own address`);
    });
    if (new Set(peers).size !== peers.length)
      problems.push("unicast.peers: an address appears twice");
  }
  if (!SAFE_PATH.test(scriptPath)) {
    problems.push(
      `checkScriptPath: ${JSON.stringify(scriptPath)} must be an absolute path without spaces or quotes`,
    );
  }
  if (args.routerId !== undefined && !ROUTER_ID.test(args.routerId)) {
    problems.push(
      `routerId: ${JSON.stringify(args.routerId)} must be 1-63 letters, digits, '.', '_' or '-'`,
    );
  }
  return problems;
}

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
 *   README, "VRRP on a shared segment".
 */
export function renderKeepalivedConf(args: KeepalivedArgs): string {
  const scriptPath = args.checkScriptPath ?? KEEPALIVED_CHECK_SCRIPT_PATH;
  failOnProblems("keepalived.conf", checkArgs(args, scriptPath));
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
    "  enable_script_security",
    `  script_user ${KEEPALIVED_SCRIPT_USER}`,
    "  vrrp_garp_master_refresh 60",
    ...(args.routerId !== undefined ? [`  router_id ${args.routerId}`] : []),
    "}",
    "",
    "vrrp_script chk_haproxy {",
    `  script "${scriptPath}"`,
    "  interval 1",
    "  timeout 2",
    "  fall 2",
    "  rise 2",
    "}",
    "",
    "vrrp_instance k3s-api-vip {",
    `  state ${startsMaster ? "MASTER" : "BACKUP"}`,
    `  interface ${args.interface}`,
    `  virtual_router_id ${args.virtualRouterId}`,
    `  priority ${args.priority}`,
    "  advert_int 1",
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

/**
 * The check KeepAlived runs every second (POSIX sh), as KEEPALIVED_SCRIPT_USER: exit 0 only when
 * the local HAProxy answers its monitor URI within half a second; two misses in a row give the VIP
 * up (about 2 s for a hung HAProxy). curl is present on every host the program configures (the K3s
 * installer needs it too); it needs no privilege and writes nothing.
 */
export function renderHaproxyCheckScript(args: { healthPort?: number } = {}): string {
  const port = args.healthPort ?? HAPROXY_HEALTH_PORT;
  const problems: string[] = [];
  checkPort(port, "healthPort", problems);
  failOnProblems("the HAProxy check script", problems);
  return [
    "#!/bin/sh",
    MANAGED_HEADER,
    "# Exit 0 only when the local HAProxy answers over HTTP: a hung process still completes TCP handshakes.",
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    "export PATH",
    `exec curl --noproxy '*' -fsS -m 0.5 -o /dev/null http://127.0.0.1:${port}${HAPROXY_HEALTH_URI}`,
    "",
  ].join("\n");
}
