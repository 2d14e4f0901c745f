/** Typed cluster configuration and its validation. Pure: no Pulumi resources, no I/O. */

import { isAbsent, reportUnknownKeys } from "../config/fields";
import { checkServerCount, checkUniqueHosts, readLbHostList, readNodeList } from "./hostsSection";
import { readAirgapSection } from "../airgap/section";
import { readK3sSection } from "../k3s/section";
import { readLoadBalancerSection } from "../lb/section";
import { Problems } from "../config/problems";
import { readSshSection } from "../host/sshSection";
import { readExtraTlsSans } from "../k3s/tlsSans";
import { readUpgradeSection } from "../k3s/upgradeSection";
import { TokenSecrets, checkTokens } from "../k3s/joinTokens";
import { SecretConfigs, checkSecretConfigs } from "../k3s/secretConfig";

/** The secrets validation checks (decrypted; never echoed). */
export type StackSecrets = TokenSecrets & SecretConfigs;
import { TRUST_ANY_HOST_KEY, checkHostKeysPinned } from "../host/hostKeysRequired";
import { readBool } from "../config/fields";

export { isShellSafeToken } from "../config/shellWord";
export { LB_KINDS, NGINX_MODES } from "../lb/section";

export const DEFAULT_SSH_USER = "root";
export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_SSH_TRUST_ANY_HOST_KEY = false;
export const DEFAULT_INSTALL_SCRIPT_URL = "https://get.k3s.io";
export const DEFAULT_VRRP_INTERFACE = "eth1";
export const DEFAULT_VRRP_ROUTER_ID = 51;
export const DEFAULT_VRRP_UNICAST = false;
export const DEFAULT_VRRP_NOPREEMPT = true;
import { DEFAULT_VRRP_ADVERT_INTERVAL_MS } from "../lb/haproxy-pair/keepalivedConf";
export { DEFAULT_VRRP_ADVERT_INTERVAL_MS };
export const DEFAULT_NGINX_MODE = "native";
export const DEFAULT_NGINX_IMAGE = "nginx:stable";
export const DEFAULT_DRAIN_BEFORE_UPGRADE = false;
export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 180;
/** 0: every agent upgrades at once. */
export const DEFAULT_AGENT_BATCH_SIZE = 0;
/** The K3s supervisor and apiserver port, and the port the load balancer listens on. */
export const K3S_API_PORT = 6443;

/** A host the program configures over SSH. */
export interface HostConfig {
  /** Node name; also the Kubernetes node name for servers and agents. */
  name: string;
  /** IPv4 or IPv6 address the program connects to and the cluster uses. */
  address: string;
  /** Optional pinned SSH host key (as in known_hosts: "ssh-ed25519 AAAA..."). */
  hostKey?: string;
}

/** A K3s server or agent. */
export interface NodeConfig extends HostConfig {
  /** Kubernetes node labels, applied at registration. */
  labels: Record<string, string>;
  /** Kubernetes node taints, `key[=value]:Effect`. */
  taints: string[];
}

/** A load-balancer host. */
export interface LbHostConfig extends HostConfig {
  /** VRRP priority (HAProxy + KeepAlived only). */
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

export interface HaproxyLbConfig {
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
  hosts: LbHostConfig[];
}

export interface NginxLbConfig {
  kind: "nginx";
  mode: "native" | "docker";
  image: string;
  /** Exactly one host. */
  hosts: LbHostConfig[];
}

export type LoadBalancerConfig = HaproxyLbConfig | NginxLbConfig;

export interface ClusterConfig {
  ssh: SshConfig;
  k3s: K3sConfig;
  servers: NodeConfig[];
  agents: NodeConfig[];
  loadBalancer: LoadBalancerConfig;
  upgrade: UpgradeConfig;
  /** Non-fatal findings, e.g. an even number of servers. */
  warnings: string[];
}

/** Raw stack configuration as `index.ts` reads it (secrets are not part of it). */
export interface RawClusterConfig {
  sshUser?: unknown;
  sshPort?: unknown;
  sshPrivateKeyPath?: unknown;
  sshBastion?: unknown;
  k3sVersion?: unknown;
  installScriptUrl?: unknown;
  installScriptSha256?: unknown;
  installMirror?: unknown;
  extraServerArgs?: unknown;
  extraAgentArgs?: unknown;
  servers?: unknown;
  agents?: unknown;
  lbKind?: unknown;
  lbHosts?: unknown;
  vip?: unknown;
  vrrpInterface?: unknown;
  vrrpRouterId?: unknown;
  vrrpUnicast?: unknown;
  vrrpNopreempt?: unknown;
  vrrpAdvertIntervalMs?: unknown;
  nginxMode?: unknown;
  nginxImage?: unknown;
  drainBeforeUpgrade?: unknown;
  drainTimeoutSeconds?: unknown;
  agentBatchSize?: unknown;
  airgap?: unknown;
  extraTlsSans?: unknown;
  sshTrustAnyHostKey?: unknown;
}

/** Every key of RawClusterConfig; the type makes the compiler flag a key missing here. */
const RAW_CONFIG_KEYS: Record<keyof RawClusterConfig, true> = {
  sshUser: true,
  sshPort: true,
  sshPrivateKeyPath: true,
  sshBastion: true,
  k3sVersion: true,
  installScriptUrl: true,
  installScriptSha256: true,
  installMirror: true,
  extraServerArgs: true,
  extraAgentArgs: true,
  servers: true,
  agents: true,
  lbKind: true,
  lbHosts: true,
  vip: true,
  vrrpInterface: true,
  vrrpRouterId: true,
  vrrpUnicast: true,
  vrrpNopreempt: true,
  vrrpAdvertIntervalMs: true,
  nginxMode: true,
  nginxImage: true,
  drainBeforeUpgrade: true,
  drainTimeoutSeconds: true,
  agentBatchSize: true,
  airgap: true,
  extraTlsSans: true,
  sshTrustAnyHostKey: true,
};

/** One error listing every problem with the stack configuration, each with its field path. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Checks the raw stack configuration and applies defaults. Throws one ConfigError listing every
 * problem, each prefixed with its field path; values are echoed only when short and not secret.
 */
export function validateClusterConfig(
  raw: RawClusterConfig,
  secrets: StackSecrets = {},
): ClusterConfig {
  const p = new Problems();
  checkTokens(p, secrets);
  checkSecretConfigs(p, secrets);
  reportUnknownKeys(p, "", raw as Record<string, unknown>, Object.keys(RAW_CONFIG_KEYS), false);
  const ssh = readSshSection(p, raw, { user: DEFAULT_SSH_USER, port: DEFAULT_SSH_PORT });
  const k3s = readK3sSection(p, raw, { installScriptUrl: DEFAULT_INSTALL_SCRIPT_URL });
  const airgap = readAirgapSection(p, raw);
  const extraTlsSans = readExtraTlsSans(p, raw);
  const upgrade = readUpgradeSection(p, raw, {
    drainBeforeUpgrade: DEFAULT_DRAIN_BEFORE_UPGRADE,
    drainTimeoutSeconds: DEFAULT_DRAIN_TIMEOUT_SECONDS,
    agentBatchSize: DEFAULT_AGENT_BATCH_SIZE,
  });
  const servers = readNodeList(p, "servers", raw.servers);
  if (isAbsent(raw.servers) || Array.isArray(raw.servers)) checkServerCount(p, servers.count);
  const agents = readNodeList(p, "agents", raw.agents);
  const lbHosts = readLbHostList(p, raw.lbHosts);
  const allHosts = [...servers.refs, ...agents.refs, ...lbHosts.refs];
  checkUniqueHosts(p, allHosts);
  const trustAny =
    readBool(p, TRUST_ANY_HOST_KEY, raw.sshTrustAnyHostKey) ?? DEFAULT_SSH_TRUST_ANY_HOST_KEY;
  checkHostKeysPinned(
    p,
    [
      ...allHosts.map((h) => ({ path: h.path, name: h.name ?? h.path, pinned: h.pinsHostKey })),
      ...(ssh.bastion
        ? [
            {
              path: "sshBastion",
              name: `the bastion ${ssh.bastion.host}`,
              pinned: ssh.bastion.hostKey !== undefined,
            },
          ]
        : []),
    ],
    trustAny,
  );
  const loadBalancer = readLoadBalancerSection(p, raw, lbHosts, allHosts, {
    vrrpInterface: DEFAULT_VRRP_INTERFACE,
    vrrpRouterId: DEFAULT_VRRP_ROUTER_ID,
    vrrpUnicast: DEFAULT_VRRP_UNICAST,
    vrrpNopreempt: DEFAULT_VRRP_NOPREEMPT,
    vrrpAdvertIntervalMs: DEFAULT_VRRP_ADVERT_INTERVAL_MS,
    nginxMode: DEFAULT_NGINX_MODE,
    nginxImage: DEFAULT_NGINX_IMAGE,
  });
  if (p.errors.length > 0) throw new ConfigError(p.errors);
  if (!k3s || !loadBalancer) {
    throw new Error("validateClusterConfig: a section was incomplete without reporting why");
  }
  return {
    ssh,
    k3s: { ...k3s, extraTlsSans, ...(airgap && { airgap }) },
    servers: servers.nodes,
    agents: agents.nodes,
    loadBalancer,
    upgrade,
    warnings: p.warnings,
  };
}
