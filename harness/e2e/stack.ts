/**
 * Lab stack configs: the repository's own example stacks (dev: HAProxy + KeepAlived; staging:
 * native Nginx), moved onto the lab's subnet, with the lab's key, pinned host keys and the mirror
 * (the install script, and the release mirror as k3sReleasesUrl);
 * then the day-2 edits a scenario applies (hosts added or removed, version, tokens, labels and
 * taints, extra args, SSH key, load-balancer kind).
 */
import { loadStackConfig } from "../program/stacks";
import { StackConfig } from "../program/mocks";
import {
  AgentName,
  HOST_ADDRESSES,
  HostName,
  INSTALL_SCRIPT_URL,
  K3sNodeName,
  RELEASES_URL,
  SUBNET,
  SUDO_USER,
  ServerName,
} from "./constants";
import { E2eLab } from "./lab";
import { installerText, sha256 } from "./mirror";

export type Variant = "haproxy" | "nginx";

export interface LabStackOptions {
  /** The example stack to start from: haproxy → Pulumi.dev.yaml, nginx → Pulumi.staging.yaml. */
  variant: Variant;
  /** SSH user: root, or the sudo user. */
  user?: "root" | typeof SUDO_USER;
  /** Override the installer checksum (a wrong one must fail the install). */
  installScriptSha256?: string;
  /** Secret config: a cluster token and an agent token. Without them server-1 generates one. */
  tokens?: { token: string; agentToken: string };
  /** Secret cluster token alone (overrides tokens.token). */
  token?: string;
  /** Secret agent token alone (overrides tokens.agentToken). */
  agentToken?: string;
  /** k3sVersion (the mirror must serve it: E2eLab.up(versions)). */
  k3sVersion?: string;
  /** Servers, in join order (default: the example's). Lab hosts only; server-1 starts the cluster. */
  servers?: ServerName[];
  /** Agents (default: the example's). */
  agents?: AgentName[];
  /** Node labels per host; replaces what the example gives that host ({} removes them all). */
  labels?: Partial<Record<K3sNodeName, Record<string, string>>>;
  /** Node taints per host ("key=value:Effect"); replaces the example's ([] removes them). */
  taints?: Partial<Record<K3sNodeName, string[]>>;
  /** extraServerArgs / extraAgentArgs; null removes the key. */
  extraServerArgs?: string[] | null;
  extraAgentArgs?: string[] | null;
  /** extraTlsSans (e.g. both registration addresses before an lbKind switch). */
  extraTlsSans?: string[];
  /** sshPrivateKeyPath (default: the lab's first client key; lab.secondClientKeyPath rotates). */
  sshPrivateKeyPath?: string;
  /**
   * The load-balancer kind, when it differs from the variant's: the variant's hosts stay, the LB
   * section becomes the other kind's (nginx: lb-1 only, no VIP, as staging; haproxy: lb-1 and
   * lb-2 with the VIP, as dev).
   */
  lbKind?: Variant;
  /** No hostKey on any host, with sshTrustAnyHostKey: true (a stack deployed before pinning). */
  unpinnedHostKeys?: boolean;
  /** The registryCredentials secret. */
  registryCredentials?: string;
  /** Raw keys set last (`k3s-ha:` prefix added when missing); undefined deletes a key. */
  extra?: Record<string, unknown>;
}

export interface LabStack {
  config: StackConfig;
  secretKeys: string[];
}

interface HostEntry {
  name: HostName;
  address: string;
  hostKey?: string;
  labels?: Record<string, string>;
  taints?: string[];
  priority?: number;
}

const EXAMPLE_STACK: Record<Variant, string> = { haproxy: "dev", nginx: "staging" };
const K = (key: string) => (key.startsWith("k3s-ha:") ? key : `k3s-ha:${key}`);

function example(variant: Variant): StackConfig {
  const text = JSON.stringify(loadStackConfig(EXAMPLE_STACK[variant]));
  return JSON.parse(text.replace(/10\.10\.10\./g, `${SUBNET}.`)) as StackConfig;
}

/** The example's entry for a host when it has one, else a bare entry for a lab host. */
function hostEntries(base: StackConfig, key: string, names: HostName[] | undefined): HostEntry[] {
  const known = (base[K(key)] as HostEntry[] | undefined) ?? [];
  if (!names) return known;
  return names.map(
    (name) => known.find((h) => h.name === name) ?? { name, address: HOST_ADDRESSES[name] },
  );
}

export function labStack(lab: E2eLab, opts: LabStackOptions): LabStack {
  const config = example(opts.variant);
  config[K("servers")] = hostEntries(config, "servers", opts.servers);
  config[K("agents")] = hostEntries(config, "agents", opts.agents);
  const kind = opts.lbKind ?? opts.variant;
  if (kind !== opts.variant) {
    const lb = example(kind);
    for (const key of Object.keys(config)) {
      if (/^k3s-ha:(lbKind|vip|vrrp|nginx|lbHosts)/.test(key)) delete config[key];
    }
    for (const [key, value] of Object.entries(lb)) {
      if (/^k3s-ha:(lbKind|vip|vrrp|nginx|lbHosts)/.test(key)) config[key] = value;
    }
  }
  for (const key of ["servers", "agents"] as const) {
    for (const host of config[K(key)] as HostEntry[]) {
      const name = host.name as K3sNodeName;
      const labels = opts.labels?.[name];
      if (labels !== undefined) {
        if (Object.keys(labels).length > 0) host.labels = { ...labels };
        else delete host.labels;
      }
      const taints = opts.taints?.[name];
      if (taints !== undefined) {
        if (taints.length > 0) host.taints = [...taints];
        else delete host.taints;
      }
    }
  }
  // Pinned host keys: a host's key changes only when the lab boots again.
  for (const key of ["servers", "agents", "lbHosts"]) {
    for (const host of config[K(key)] as HostEntry[]) {
      if (opts.unpinnedHostKeys) delete host.hostKey;
      else host.hostKey = lab.host(host.name).hostKey;
    }
  }
  if (opts.unpinnedHostKeys) config[K("sshTrustAnyHostKey")] = true;
  config[K("sshUser")] = opts.user ?? "root";
  config[K("sshPrivateKeyPath")] = opts.sshPrivateKeyPath ?? lab.clientKeyPath;
  config[K("installScriptUrl")] = INSTALL_SCRIPT_URL;
  config[K("installScriptSha256")] = opts.installScriptSha256 ?? sha256(installerText());
  config[K("k3sReleasesUrl")] = RELEASES_URL;
  if (opts.k3sVersion) config[K("k3sVersion")] = opts.k3sVersion;
  for (const [key, value] of [
    ["extraServerArgs", opts.extraServerArgs],
    ["extraAgentArgs", opts.extraAgentArgs],
  ] as const) {
    if (value === null) delete config[K(key)];
    else if (value !== undefined) config[K(key)] = [...value];
  }
  if (opts.extraTlsSans) config[K("extraTlsSans")] = [...opts.extraTlsSans];
  const secretKeys: string[] = [];
  const token = opts.token ?? opts.tokens?.token;
  const agentToken = opts.agentToken ?? opts.tokens?.agentToken;
  if (token !== undefined) {
    config[K("token")] = token;
    secretKeys.push(K("token"));
  }
  if (agentToken !== undefined) {
    config[K("agentToken")] = agentToken;
    secretKeys.push(K("agentToken"));
  }
  if (opts.registryCredentials !== undefined) {
    config[K("registryCredentials")] = opts.registryCredentials;
    secretKeys.push(K("registryCredentials"));
  }
  for (const [key, value] of Object.entries(opts.extra ?? {})) {
    if (value === undefined) delete config[K(key)];
    else config[K(key)] = value;
  }
  return { config, secretKeys };
}

/** The K3s version a stack pins (the mirror serves a stand-in for it). */
export function stackVersion(variant: Variant): string {
  return loadStackConfig(EXAMPLE_STACK[variant])["k3s-ha:k3sVersion"] as string;
}

/** Names of the servers / agents a stack config lists. */
export function stackNodes(stack: LabStack): { servers: ServerName[]; agents: AgentName[] } {
  const names = (key: string) =>
    ((stack.config[K(key)] as HostEntry[] | undefined) ?? []).map((h) => h.name);
  return {
    servers: names("servers") as ServerName[],
    agents: names("agents") as AgentName[],
  };
}
