/**
 * The arguments of K3sHaCluster. Every field a stack key sets is named in config/keys.ts (`arg`),
 * and problems name the field they are in (e.g. `loadBalancer.hosts[1].priority`). A host's address
 * and host key may be another resource's outputs (a VM's IP); names are plain strings, since they
 * name resources.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ProxyConfig, RegistriesConfig } from "../config/types";

/** A host the program configures over SSH. */
export interface HostArgs {
  /** Node name, an RFC 1123 label (e.g. server-1); also the Kubernetes node name. */
  name: string;
  /** IPv4 or IPv6 address the program connects to and the cluster uses. */
  address: pulumi.Input<string>;
  /** The host's public SSH key as in known_hosts ("ssh-ed25519 AAAA..."); required unless `ssh.trustAnyHostKey`. */
  hostKey?: pulumi.Input<string>;
}

/** A K3s server or agent. */
export interface NodeArgs extends HostArgs {
  /** Kubernetes node labels, applied at registration. */
  labels?: Record<string, string>;
  /** Kubernetes node taints, `key[=value]:Effect`. */
  taints?: string[];
}

/** The page's HAProxy + KeepAlived pair holding a virtual IP. */
export interface HaproxyPairArgs {
  kind: "haproxy";
  /** Exactly two hosts with distinct VRRP priorities (1-254); the first changes first. */
  hosts: (HostArgs & { priority: number })[];
  /** The virtual IP with its prefix, e.g. 10.10.10.100/24; an address no host has, in the hosts' subnet. */
  vip: string;
  /** Interface KeepAlived holds the VIP on (default eth1). */
  vrrpInterface?: string;
  /** VRRP virtual_router_id, 1-255, unique on the L2 segment (default 51). */
  vrrpRouterId?: number;
  /** Unicast VRRP between the two hosts, for networks that filter multicast (default false). */
  vrrpUnicast?: boolean;
  /** The VIP stays where it is when the other host comes back (default true). */
  vrrpNopreempt?: boolean;
  /** VRRPv3 advertisement interval in ms, 100-40950 in steps of 10 (default 250). */
  vrrpAdvertIntervalMs?: number;
}

/** One Nginx stream proxy (a single point of failure), run natively or in Docker. */
export interface NginxArgs {
  kind: "nginx";
  /** Exactly one host. */
  hosts: HostArgs[];
  /** native (the distribution's package, default) or docker (a container over ssh://). */
  mode?: "native" | "docker";
  /** Docker mode: the image to run (default nginx:stable). */
  image?: string;
}

export interface SshArgs {
  /** SSH user on every host (default root); any other user runs the scripts through `sudo -n`. */
  user?: string;
  /** SSH port on every host (default 22). */
  port?: number;
  /** The private key (secret); else `privateKeyPath`, else ssh-agent. */
  privateKey?: pulumi.Input<string>;
  /** A private key file on the machine running Pulumi. */
  privateKeyPath?: string;
  /** A jump host every SSH connection goes through. */
  bastion?: { host: string; user?: string; port?: number; hostKey?: string };
  /** Accept any host key for hosts that pin none (a machine in the middle would receive the token). */
  trustAnyHostKey?: boolean;
}

export interface K3sArgs {
  /** Pinned K3s version, e.g. v1.27.3+k3s1. */
  version: string;
  /** The K3s install script (default https://get.k3s.io). */
  installScriptUrl?: string;
  /** sha256 of the install script; when set, it is verified before it runs. */
  installScriptSha256?: string;
  /** INSTALL_K3S_MIRROR for the China mirror's install script. */
  installMirror?: string;
  /** More K3s server flags, e.g. ["--disable=traefik"]; secrets belong in `secrets.serverSecretConfig`. */
  extraServerArgs?: string[];
  /** More K3s agent flags. */
  extraAgentArgs?: string[];
  /** More names for the servers' certificate besides the registration address. */
  extraTlsSans?: string[];
  /** Where the installer downloads the binary and its sha256 list (its GITHUB_URL); https only. */
  releasesUrl?: string;
  /** Scheduled etcd snapshots: a 5-field cron expression (default: K3s's, every 12 hours at minute 0). */
  etcdSnapshotScheduleCron?: string;
  /** Scheduled etcd snapshots each server keeps, at least 1 (default: K3s's, 5; 0 also means K3s's). */
  etcdSnapshotRetention?: number;
  /** registries.yaml without credentials: {mirrors, configs} (credentials: `secrets.registryCredentials`). */
  registries?: Partial<RegistriesConfig>;
  /** HTTP(S) proxy for K3s and its installer; NO_PROXY gets the cluster's own addresses unless noProxyDefaults is false. */
  proxy?: Partial<ProxyConfig>;
  /** Install from local files (on the machine running Pulumi) instead of downloading. */
  airgap?: {
    k3sBinary: string;
    installScript: string;
    imagesTarball?: string;
    sha256: { k3s: string; installScript: string; images?: string };
  };
}

export interface SecretArgs {
  /** Cluster token (short form); the first server generates one when absent. */
  token?: pulumi.Input<string>;
  /** Token agents join with; the first server generates one when absent. */
  agentToken?: pulumi.Input<string>;
  /** A YAML mapping of secret K3s server settings (e.g. etcd-s3-secret-key), written 0600. */
  serverSecretConfig?: pulumi.Input<string>;
  /** A YAML mapping of secret K3s agent settings (e.g. vpn-auth). */
  agentSecretConfig?: pulumi.Input<string>;
  /** A YAML mapping of registry to {username, password}, {auth} or {identity_token}. */
  registryCredentials?: pulumi.Input<string>;
}

export interface UpgradeArgs {
  /** Drain each node before its K3s upgrade, uncordon it after (default false). */
  drainBeforeUpgrade?: boolean;
  /** Bound on every drain, 10-3600 s (default 180). */
  drainTimeoutSeconds?: number;
  /** Agents install and upgrade this many at a time; 0 = all at once (default). */
  agentBatchSize?: number;
}

export interface K3sHaClusterArgs {
  /** K3s version and installer. */
  k3s: K3sArgs;
  /** The K3s servers with embedded etcd, in join order: the first starts the cluster. Use 3. */
  servers: NodeArgs[];
  /** Accept 2 servers, which tolerate no server failure (refused without it; default false). */
  allowTwoServers?: boolean;
  /** The agents; they join through the load balancer's registration address. */
  agents?: NodeArgs[];
  /** The load-balancer tier. */
  loadBalancer: HaproxyPairArgs | NginxArgs;
  /** How to reach the hosts. */
  ssh?: SshArgs;
  /** Tokens and secret K3s settings. */
  secrets?: SecretArgs;
  /** How day-2 changes roll through the cluster. */
  upgrade?: UpgradeArgs;
  /** The name of the kubeconfig output's cluster, user and context (default: the component's name). */
  kubeconfigContext?: string;
  /**
   * Set by k3s-ha's own stack program (index.ts) only: problems are named by stack key, and the
   * resources of a stack it deployed before this component existed are found under their old
   * names (aliases), so they are updated in place.
   */
  fromStackProgram?: boolean;
}
