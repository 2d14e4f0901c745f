/**
 * Names and addresses of the end-to-end lab. Everything it creates carries PREFIX (namespaces) or
 * lives under E2E_DIR, so cleanup finds leftovers and never touches the LB lab (`k3sha-lab-`).
 */
export const PREFIX = "k3sha-e2e-";
/** The netns holding the bridge that joins every host ("the switch"). */
export const SWITCH_NS = `${PREFIX}sw`;
export const BRIDGE = "br0";
/** Interface name inside each host: the dev stack's VRRP interface. */
export const HOST_IF = "eth1";
export const PREFIX_LENGTH = 24;
/** A private subnet used only inside namespaces this lab creates. */
export const SUBNET = "10.77.0";
export const VIP = `${SUBNET}.100`;

export type HostName =
  | "server-1"
  | "server-2"
  | "server-3"
  | "server-4"
  | "server-5"
  | "server-6"
  | "lb-1"
  | "lb-2"
  | "agent-1"
  | "agent-2"
  | "agent-3"
  | "agent-4"
  | "mirror";

/** The example stacks' hosts. */
export const SERVERS = ["server-1", "server-2", "server-3"] as const;
export const LB_HOSTS = ["lb-1", "lb-2"] as const;
export const AGENTS = ["agent-1", "agent-2", "agent-3"] as const;
export const K3S_NODES = [...SERVERS, ...AGENTS] as const;
/** Booted with the others but in no example stack: day-2 scenarios add them. */
export const EXTRA_SERVERS = ["server-4"] as const;
/**
 * In no example stack and booted only for a suite that asks (E2eLab.up's `optional`): replacing
 * all three servers needs three new machines. Each systemd host costs boot time.
 */
export const OPTIONAL_SERVERS = ["server-5", "server-6"] as const;
export const EXTRA_AGENTS = ["agent-4"] as const;
export const ALL_SERVERS = [...SERVERS, ...EXTRA_SERVERS, ...OPTIONAL_SERVERS] as const;
export const ALL_AGENTS = [...AGENTS, ...EXTRA_AGENTS] as const;
export const ALL_K3S_NODES = [...ALL_SERVERS, ...ALL_AGENTS] as const;
export type ServerName = (typeof ALL_SERVERS)[number];
export type AgentName = (typeof ALL_AGENTS)[number];
export type K3sNodeName = ServerName | AgentName;

/**
 * K3s versions the day-2 lab serves stand-ins for: the example stacks' version and the first
 * v1.27 patch with `k3s token rotate`.
 */
export const BASE_VERSION = "v1.27.3+k3s1";
export const ROTATE_VERSION = "v1.27.7+k3s1";
export const DAY2_VERSIONS = [BASE_VERSION, ROTATE_VERSION];

export const HOST_ADDRESSES: Record<HostName, string> = {
  "server-1": `${SUBNET}.50`,
  "server-2": `${SUBNET}.51`,
  "server-3": `${SUBNET}.52`,
  "server-4": `${SUBNET}.53`,
  "server-5": `${SUBNET}.54`,
  "server-6": `${SUBNET}.55`,
  "lb-1": `${SUBNET}.98`,
  "lb-2": `${SUBNET}.99`,
  "agent-1": `${SUBNET}.101`,
  "agent-2": `${SUBNET}.102`,
  "agent-3": `${SUBNET}.103`,
  "agent-4": `${SUBNET}.104`,
  mirror: `${SUBNET}.200`,
};
export const HOSTS = Object.keys(HOST_ADDRESSES) as HostName[];
export const OPTIONAL_HOSTS: readonly HostName[] = OPTIONAL_SERVERS;

/**
 * Hosts that stay network namespaces without an init system (harness/e2e/host.ts): lb-2, so the program's
 * `service` fallback stays tested, and the mirror. Every other host, every K3s host and lb-1
 * among them, boots systemd in a container (harness/e2e/systemd-host.ts).
 */
export const NETNS_HOSTS: readonly HostName[] = ["lb-2", "mirror"];
export const SYSTEMD_HOSTS: readonly HostName[] = HOSTS.filter((h) => !NETNS_HOSTS.includes(h));

/**
 * The controller: a netns on the lab network standing for the machine that runs Pulumi. The
 * executor dials hosts from there (through a relay), never from this machine's own network.
 */
export const CONTROLLER_NS = `${PREFIX}controller`;
export const CONTROLLER_ADDRESS = `${SUBNET}.10`;

export function nsName(host: HostName): string {
  return `${PREFIX}${host}`;
}

/**
 * Lab state: keys, per-host private trees, logs, the mirror's files. Outside /tmp (each host has a
 * private /tmp) and in root-owned 0755 directories, so sshd's StrictModes accepts the key file.
 */
export const E2E_DIR = "/var/lib/k3sha-e2e";
/**
 * The systemd hosts' root file system, built once by debootstrap and kept across runs (cleanup
 * removes E2E_DIR, never this); each host boots an overlay over it (harness/e2e/rootfs.ts).
 */
export const ROOTFS_CACHE = "/var/cache/k3sha-e2e-rootfs";
/** Where the suites save the systemd hosts' journals when a test fails (kept after teardown). */
export const JOURNALS_DIR = "/var/log/k3sha-e2e-journals";
/** The mirror's HTTP port and base URL (reachable only inside the lab). */
export const MIRROR_PORT = 8080;
export const MIRROR_URL = `http://${HOST_ADDRESSES.mirror}:${MIRROR_PORT}`;
export const INSTALL_SCRIPT_URL = `${MIRROR_URL}/install.sh`;
/**
 * The mirror's HTTPS port (a certificate the lab's systemd hosts trust, as users' hosts trust
 * their internal CA) and the release mirror on it, laid out as GitHub's releases: the stacks'
 * k3sReleasesUrl, the installer's GITHUB_URL.
 */
export const MIRROR_TLS_PORT = 8443;
export const RELEASES_URL = `https://${HOST_ADDRESSES.mirror}:${MIRROR_TLS_PORT}/k3s-io/k3s/releases`;

/** The second SSH user: passwordless sudo on the lab hosts only (a private /etc/sudoers.d). */
export const SUDO_USER = "k3sha";
export const SUDO_USER_UID = 47301;
