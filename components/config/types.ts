/**
 * The validated cluster configuration. Imports nothing: every feature reads these types, and the
 * validators (each feature's section) produce them.
 *
 * `A` is the type of a host's address and pinned host key: a string once known, or, in a program
 * that passes another resource's output (a VM's IP), that output until deploy time.
 */

/** The K3s supervisor and apiserver port, and the port the load balancer listens on. */
export const K3S_API_PORT = 6443;

/** A host the program configures over SSH. */
export interface HostConfig<A = string> {
  /** Node name; also the Kubernetes node name for servers and agents. */
  name: string;
  /** IPv4 or IPv6 address the program connects to and the cluster uses. */
  address: A;
  /** Optional pinned SSH host key (as in known_hosts: "ssh-ed25519 AAAA..."). */
  hostKey?: A;
}

/** A K3s server or agent. */
export interface NodeConfig<A = string> extends HostConfig<A> {
  /** Kubernetes node labels, applied at registration. */
  labels: Record<string, string>;
  /** Kubernetes node taints, `key[=value]:Effect`. */
  taints: string[];
}

/** A load-balancer host. */
export interface LbHostConfig<A = string> extends HostConfig<A> {
  /** VRRP priority (HAProxy + KeepAlived only; 0 for Nginx). */
  priority: number;
}

export interface BastionConfig {
  host: string;
  user: string;
  port: number;
  hostKey?: string;
}

export interface SshConfig {
  user: string;
  port: number;
  /** Path of a private key file on the machine running Pulumi; else the `sshPrivateKey` secret, else ssh-agent. */
  privateKeyPath?: string;
  bastion?: BastionConfig;
  /** Hosts without a pinned host key are accepted (with a warning). */
  trustAnyHostKey: boolean;
}

export interface K3sConfig {
  /** Pinned K3s version, e.g. v1.27.3+k3s1. */
  version: string;
  installScriptUrl: string;
  /** sha256 of the install script; when set, the script is verified before it runs. */
  installScriptSha256?: string;
  /** INSTALL_K3S_MIRROR, e.g. "cn". */
  installMirror?: string;
  extraServerArgs: string[];
  extraAgentArgs: string[];
  /** More names for the servers' certificate besides the registration address (DNS names, a new VIP). */
  extraTlsSans: string[];
  /** Install from local files copied over SSH instead of downloading (hosts without internet). */
  airgap?: AirgapConfig;
  /**
   * Where the installer downloads the K3s binary and its sha256 list (its GITHUB_URL:
   * `<releasesUrl>/download/<version>/k3s`); absent: GitHub's releases.
   */
  releasesUrl?: string;
  /** K3s's etcd-snapshot-schedule-cron (5 fields); absent: K3s's default, not rendered. */
  etcdSnapshotScheduleCron?: string;
  /** K3s's etcd-snapshot-retention (at least 1); absent: K3s's default, not rendered. */
  etcdSnapshotRetention?: number;
  /** Private registry mirrors and TLS for registries.yaml (credentials come from a secret). */
  registries?: RegistriesConfig;
  /** HTTP(S) proxy for K3s and its installer. */
  proxy?: ProxyConfig;
}

/** registries.yaml without credentials (K3s docs: Private Registry Configuration). */
export interface RegistriesConfig {
  mirrors: Record<string, { endpoint: string[]; rewrite?: Record<string, string> }>;
  configs: Record<
    string,
    {
      tls?: {
        cert_file?: string;
        key_file?: string;
        ca_file?: string;
        insecure_skip_verify?: boolean;
      };
    }
  >;
}

export interface ProxyConfig {
  httpProxy?: string;
  httpsProxy?: string;
  /** NO_PROXY entries as given. */
  noProxy: string[];
  /** Add the cluster's networks, domain, node and registration addresses to NO_PROXY. */
  noProxyDefaults: boolean;
}

/** Local files (on the machine running Pulumi) for an air-gapped install, with their sha256 sums. */
export interface AirgapConfig {
  /** The k3s binary of the pinned version. */
  k3sBinary: string;
  /** The K3s install script (get.k3s.io saved to a file). */
  installScript: string;
  /** The images tarball (k3s-airgap-images-<arch>.tar[.gz|.zst|...]); absent with a registry mirror. */
  imagesTarball?: string;
  sha256: { k3s: string; installScript: string; images?: string };
}

/** How day-2 changes roll through the cluster. */
export interface UpgradeConfig {
  /** Drain each node (bounded) before its K3s is upgraded, uncordon it after. */
  drainBeforeUpgrade: boolean;
  /** Bound on every drain: before an upgrade and before a node is removed. */
  drainTimeoutSeconds: number;
  /** Agents install and upgrade this many at a time, batch after batch; 0 means all at once. */
  agentBatchSize: number;
}

export interface HaproxyLbConfig<A = string> {
  kind: "haproxy";
  /** The virtual IP address, without prefix. */
  vip: string;
  /** Prefix length of the VIP's subnet. */
  vipPrefixLength: number;
  /** Interface KeepAlived binds the VIP to on both LB hosts. */
  interface: string;
  virtualRouterId: number;
  /** Unicast VRRP between the LB hosts instead of multicast (clouds filter multicast). */
  unicast: boolean;
  /** Both hosts start BACKUP and the VIP stays where it is when a peer returns. */
  nopreempt: boolean;
  /** VRRPv3 advertisement interval; the peer takes over about 3.5 intervals after the holder dies. */
  advertIntervalMs: number;
  /** Exactly two hosts, distinct priorities. */
  hosts: LbHostConfig<A>[];
}

export interface NginxLbConfig<A = string> {
  kind: "nginx";
  mode: "native" | "docker";
  image: string;
  /** Exactly one host. */
  hosts: LbHostConfig<A>[];
}

export type LoadBalancerConfig<A = string> = HaproxyLbConfig<A> | NginxLbConfig<A>;

export interface ClusterConfig<A = string> {
  ssh: SshConfig;
  k3s: K3sConfig;
  servers: NodeConfig<A>[];
  agents: NodeConfig<A>[];
  loadBalancer: LoadBalancerConfig<A>;
  upgrade: UpgradeConfig;
  /** Non-fatal findings, e.g. an even number of servers. */
  warnings: string[];
}

/** The secrets validation checks (decrypted; never echoed). */
export interface StackSecrets {
  token?: string;
  agentToken?: string;
  serverSecretConfig?: string;
  agentSecretConfig?: string;
  registryCredentials?: string;
}
