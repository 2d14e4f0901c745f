/**
 * Every stack key, written once. The raw config type, the key lists, the defaults, what
 * `Pulumi.yaml` declares (a test holds the two equal) and where each key goes in
 * `K3sHaClusterArgs` all derive from this table. Imports nothing.
 */

interface KeyBase {
  /** One line for Pulumi.yaml and the docs. */
  description: string;
  /** Where the value goes in K3sHaClusterArgs (dotted path). */
  arg: string;
}

/** A scalar Pulumi.yaml declares; the engine hands it to the program as a string. */
interface ScalarKey extends KeyBase {
  type: "string" | "integer" | "boolean";
  /**
   * What Pulumi.yaml declares, so every stack receives it; "" marks an optional string that is
   * unset. Absent: the key is required (the CLI refuses a stack without it).
   */
  default?: string | number | boolean;
}

/** A list or object, written as YAML structure in the stack file (handed over as JSON). */
interface StructuredKey extends KeyBase {
  type: "structured";
}

/** A secret (`pulumi config set --secret`); never part of the raw config, never echoed. */
interface SecretKey extends KeyBase {
  type: "secret";
}

type KeySpec = ScalarKey | StructuredKey | SecretKey;

export const STACK_KEYS = {
  k3sVersion: {
    type: "string",
    description: "Pinned K3s version, e.g. v1.27.3+k3s1",
    arg: "k3s.version",
  },
  lbKind: {
    type: "string",
    description:
      "Load-balancer tier: haproxy (HAProxy + KeepAlived pair holding a VIP) or nginx (one Nginx stream proxy)",
    arg: "loadBalancer.kind",
  },
  sshUser: {
    type: "string",
    default: "root",
    description: "SSH user on every host; any user but root runs the scripts through sudo -n",
    arg: "ssh.user",
  },
  sshPort: {
    type: "integer",
    default: 22,
    description: "SSH port on every host",
    arg: "ssh.port",
  },
  sshTrustAnyHostKey: {
    type: "boolean",
    default: false,
    description:
      "Accept any SSH host key for hosts without a pinned hostKey (a machine in the middle would receive the cluster token); pin keys with npm run hostkeys instead",
    arg: "ssh.trustAnyHostKey",
  },
  sshPrivateKeyPath: {
    type: "string",
    default: "",
    description:
      "Private key file on the machine running Pulumi; else the sshPrivateKey secret, else ssh-agent",
    arg: "ssh.privateKeyPath",
  },
  installScriptUrl: {
    type: "string",
    default: "https://get.k3s.io",
    description: "K3s install script URL (point it at an internal mirror for air-gapped hosts)",
    arg: "k3s.installScriptUrl",
  },
  installScriptSha256: {
    type: "string",
    default: "",
    description: "sha256 of the install script; when set, the script is verified before it runs",
    arg: "k3s.installScriptSha256",
  },
  installMirror: {
    type: "string",
    default: "",
    description: "INSTALL_K3S_MIRROR passed to the installer (e.g. cn)",
    arg: "k3s.installMirror",
  },
  k3sReleasesUrl: {
    type: "string",
    default: "",
    description:
      "Where the installer downloads the K3s binary and its sha256 list (its GITHUB_URL: <url>/download/<version>/k3s); default GitHub's releases",
    arg: "k3s.releasesUrl",
  },
  etcdSnapshotScheduleCron: {
    type: "string",
    default: "",
    description:
      "Scheduled etcd snapshots on every server: a 5-field cron expression (K3s's etcd-snapshot-schedule-cron); unset: K3s's default, 0 */12 * * *",
    arg: "k3s.etcdSnapshotScheduleCron",
  },
  etcdSnapshotRetention: {
    type: "integer",
    default: 0,
    description:
      "Scheduled etcd snapshots each server keeps (K3s's etcd-snapshot-retention); 0: unset, K3s's default, 5",
    arg: "k3s.etcdSnapshotRetention",
  },
  vip: {
    type: "string",
    default: "",
    description: "haproxy only: the virtual IP with its prefix, e.g. 10.10.10.100/24",
    arg: "loadBalancer.vip",
  },
  vrrpInterface: {
    type: "string",
    default: "eth1",
    description: "haproxy only: interface KeepAlived holds the VIP on",
    arg: "loadBalancer.vrrpInterface",
  },
  vrrpRouterId: {
    type: "integer",
    default: 51,
    description: "haproxy only: VRRP virtual_router_id, 1-255, unique on the L2 segment",
    arg: "loadBalancer.vrrpRouterId",
  },
  vrrpUnicast: {
    type: "boolean",
    default: false,
    description: "haproxy only: unicast VRRP between the two LB hosts (clouds filter multicast)",
    arg: "loadBalancer.vrrpUnicast",
  },
  vrrpNopreempt: {
    type: "boolean",
    default: true,
    description: "haproxy only: the VIP stays where it is when the other LB host comes back",
    arg: "loadBalancer.vrrpNopreempt",
  },
  vrrpAdvertIntervalMs: {
    type: "integer",
    default: 250,
    description:
      "haproxy only: VRRPv3 advertisement interval in ms (100-40950, steps of 10); the peer takes over ~3.5 intervals after the holder dies",
    arg: "loadBalancer.vrrpAdvertIntervalMs",
  },
  nginxMode: {
    type: "string",
    default: "native",
    description: "nginx only: native (distribution package) or docker (container over ssh://)",
    arg: "loadBalancer.mode",
  },
  nginxImage: {
    type: "string",
    default: "nginx:stable",
    description: "nginx only, docker mode: the image to run",
    arg: "loadBalancer.image",
  },
  drainBeforeUpgrade: {
    type: "boolean",
    default: false,
    description:
      "Day 2: drain each node (bounded by drainTimeoutSeconds) before its K3s upgrade, uncordon it after",
    arg: "upgrade.drainBeforeUpgrade",
  },
  drainTimeoutSeconds: {
    type: "integer",
    default: 180,
    description:
      "Day 2: bound on every drain, before an upgrade and before a node is removed from the stack",
    arg: "upgrade.drainTimeoutSeconds",
  },
  agentBatchSize: {
    type: "integer",
    default: 0,
    description:
      "Day 2: agents install and upgrade this many at a time, batch after batch; 0 = all at once",
    arg: "upgrade.agentBatchSize",
  },
  allowTwoServers: {
    type: "boolean",
    default: false,
    description:
      "Accept 2 servers, which tolerate no server failure and stop the cluster twice as often as 1 (etcd needs a majority up: 3 servers tolerate 1); refused without it",
    arg: "allowTwoServers",
  },
  servers: {
    type: "structured",
    description:
      "The K3s servers {name, address, hostKey, labels, taints}; the first starts the cluster",
    arg: "servers",
  },
  agents: {
    type: "structured",
    description: "The K3s agents {name, address, hostKey, labels, taints}",
    arg: "agents",
  },
  lbHosts: {
    type: "structured",
    description:
      "The load-balancer hosts {name, address, hostKey, priority}: two for haproxy, one for nginx",
    arg: "loadBalancer.hosts",
  },
  sshBastion: {
    type: "structured",
    description: "A jump host {host, user, port, hostKey} every SSH connection goes through",
    arg: "ssh.bastion",
  },
  extraServerArgs: {
    type: "structured",
    description: "More K3s server flags, e.g. [--disable=traefik]",
    arg: "k3s.extraServerArgs",
  },
  extraAgentArgs: {
    type: "structured",
    description: "More K3s agent flags",
    arg: "k3s.extraAgentArgs",
  },
  extraTlsSans: {
    type: "structured",
    description: "More names for the servers' certificate besides the registration address",
    arg: "k3s.extraTlsSans",
  },
  registries: {
    type: "structured",
    description:
      "Private registries for registries.yaml: {mirrors, configs} as K3s reads them, without credentials (registryCredentials)",
    arg: "k3s.registries",
  },
  proxy: {
    type: "structured",
    description:
      "HTTP proxy for K3s and its installer {httpProxy, httpsProxy, noProxy, noProxyDefaults}",
    arg: "k3s.proxy",
  },
  airgap: {
    type: "structured",
    description:
      "Local K3s binary, install script and images (with sha256 sums) for hosts without internet",
    arg: "k3s.airgap",
  },
  token: {
    type: "secret",
    description: "Cluster token (short form); server-1 generates one when absent",
    arg: "secrets.token",
  },
  agentToken: {
    type: "secret",
    description: "Token agents join with; server-1 generates one when absent",
    arg: "secrets.agentToken",
  },
  sshPrivateKey: {
    type: "secret",
    description: "SSH private key, when sshPrivateKeyPath is not set (else ssh-agent)",
    arg: "ssh.privateKey",
  },
  serverSecretConfig: {
    type: "secret",
    description: "YAML fragment of secret K3s server settings (config.yaml.d drop-in, 0600)",
    arg: "secrets.serverSecretConfig",
  },
  agentSecretConfig: {
    type: "secret",
    description: "YAML fragment of secret K3s agent settings (config.yaml.d drop-in, 0600)",
    arg: "secrets.agentSecretConfig",
  },
  registryCredentials: {
    type: "secret",
    description:
      "YAML mapping of registry to {username, password}, {auth} or {identity_token}, for registries.yaml",
    arg: "secrets.registryCredentials",
  },
} as const satisfies Record<string, KeySpec>;

export type StackKey = keyof typeof STACK_KEYS;
type KeysOfType<T extends KeySpec["type"]> = {
  [K in StackKey]: (typeof STACK_KEYS)[K]["type"] extends T ? K : never;
}[StackKey];
export type SecretStackKey = KeysOfType<"secret">;
export type ScalarStackKey = KeysOfType<"string" | "integer" | "boolean">;

/** The stack's config as the program reads it, before validation; secrets are not part of it. */
export type RawClusterConfig = { [K in Exclude<StackKey, SecretStackKey>]?: unknown };

const keys = Object.keys(STACK_KEYS) as StackKey[];
const ofType = (...types: KeySpec["type"][]) =>
  keys.filter((k) => (types as string[]).includes(STACK_KEYS[k].type));

/** Every key of the raw config (secrets excluded). */
export const RAW_KEYS = ofType("string", "integer", "boolean", "structured") as Exclude<
  StackKey,
  SecretStackKey
>[];
export const SECRET_KEYS = ofType("secret") as SecretStackKey[];
/** Keys whose values are strings as written (the engine hands every other value over as JSON). */
export const STRING_KEYS = ofType("string");

/** A scalar key's default, as the program applies it. */
export function defaultOf<K extends ScalarStackKey>(
  key: K,
): (typeof STACK_KEYS)[K] extends { default: infer D } ? D : undefined {
  return (STACK_KEYS[key] as ScalarKey).default as never;
}

/** The key's type, default and description, for Pulumi.yaml and the docs. */
export function keySpec(key: StackKey): KeySpec {
  return STACK_KEYS[key];
}

/** The stack key that fills an argument path (`loadBalancer.vip` -> vip), if one does. */
export function stackKeyOfArg(argPath: string): StackKey | undefined {
  return keys.find((k) => STACK_KEYS[k].arg === argPath);
}
