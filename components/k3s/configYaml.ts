/** Renders /etc/rancher/k3s/config.yaml for servers and agents. Pure; never holds a secret. */
import { stringify } from "yaml";
import { K3S_API_PORT, NodeConfig } from "../config/types";
import { MANAGED_HEADER } from "../host/script";

export const K3S_CONFIG_PATH = "/etc/rancher/k3s/config.yaml";
/** The server token, written from stdin, mode 0600. config.yaml only points at it. */
export const K3S_TOKEN_PATH = "/etc/rancher/k3s/cluster-token";
export const K3S_AGENT_TOKEN_PATH = "/etc/rancher/k3s/agent-token";
/** The secret config fragment (mode 0600), which K3s merges after config.yaml. */
export const K3S_SECRET_CONFIG_PATH = "/etc/rancher/k3s/config.yaml.d/90-k3s-ha-secret.yaml";
/** Where K3s keeps the token it generated when it was started without one. */
export const K3S_GENERATED_TOKEN_PATH = "/var/lib/rancher/k3s/server/token";
export const K3S_KUBECONFIG_PATH = "/etc/rancher/k3s/k3s.yaml";

/** Formats host:port, bracketing IPv6 addresses. */
export function hostPort(address: string, port: number = K3S_API_PORT): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export function apiUrl(address: string): string {
  return `https://${hostPort(address)}`;
}

function nodeSettings(node: NodeConfig): Record<string, unknown> {
  const settings: Record<string, unknown> = { "node-name": node.name, "node-ip": node.address };
  const labels = Object.entries(node.labels).map(([k, v]) => `${k}=${v}`);
  if (labels.length > 0) settings["node-label"] = labels;
  if (node.taints.length > 0) settings["node-taint"] = [...node.taints];
  return settings;
}

function render(settings: Record<string, unknown>): string {
  return `${MANAGED_HEADER}\n${stringify(settings)}`;
}

export interface ServerConfigArgs {
  node: NodeConfig;
  /** Address of the server to join; absent for the first server, which starts the cluster. */
  joinAddress?: string;
  /** Every address clients use for the API: the VIP or the Nginx host. */
  tlsSans: string[];
  /** Whether a token file is written (false only for a first server that generates its token). */
  tokenFile: boolean;
  agentTokenFile: boolean;
  /**
   * Scheduled etcd snapshots (K3s's etcd-snapshot-schedule-cron and etcd-snapshot-retention);
   * each rendered only when set, so a stack without them keeps its config.yaml byte for byte.
   */
  etcdSnapshots?: { scheduleCron?: string; retention?: number };
}

export function renderServerConfig(args: ServerConfigArgs): string {
  const settings: Record<string, unknown> = {
    ...nodeSettings(args.node),
    ...(args.joinAddress ? { server: apiUrl(args.joinAddress) } : { "cluster-init": true }),
    ...(args.tokenFile ? { "token-file": K3S_TOKEN_PATH } : {}),
    ...(args.agentTokenFile ? { "agent-token-file": K3S_AGENT_TOKEN_PATH } : {}),
    "tls-san": [...args.tlsSans],
    "write-kubeconfig-mode": "0600",
    ...(args.etcdSnapshots?.scheduleCron !== undefined && {
      "etcd-snapshot-schedule-cron": args.etcdSnapshots.scheduleCron,
    }),
    ...(args.etcdSnapshots?.retention !== undefined && {
      "etcd-snapshot-retention": args.etcdSnapshots.retention,
    }),
  };
  return render(settings);
}

export interface AgentConfigArgs {
  node: NodeConfig;
  /** The load balancer's fixed registration address. */
  registrationAddress: string;
}

export function renderAgentConfig(args: AgentConfigArgs): string {
  return render({
    ...nodeSettings(args.node),
    server: apiUrl(args.registrationAddress),
    "token-file": K3S_TOKEN_PATH,
  });
}
