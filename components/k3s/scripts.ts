/** Chooses and parameterises the K3s host scripts (the `.sh` files beside this module). Pure. */
import type { K3sConfig } from "../config/types";
import { K3S_HA_STATE_DIR, hostScript } from "../host/script";
import { K3S_CONFIG_PATH } from "./configYaml";
import type { ProxyEnvironment } from "./proxy";

export type K3sRole = "server" | "agent";

/** Seconds a server or agent may take to answer after install (install.sh, membership-create.sh). */
export const K3S_READY_TIMEOUT_SECONDS = 300;

export function serviceName(role: K3sRole): string {
  return role === "server" ? "k3s" : "k3s-agent";
}

/** The file a config or token step leaves when K3s must restart to pick up what it wrote. */
export function restartMarkerPath(service: string): string {
  return `${K3S_HA_STATE_DIR}/restart-pending-${service}`;
}

/**
 * What the install step last saw running and ready on a host: version and arguments (install.sh
 * writes it only once K3s answered ready).
 */
export function installedStatePath(service: string): string {
  return `${K3S_HA_STATE_DIR}/installed-${service}`;
}

/**
 * The config.yaml keys a server reads only to found or join a cluster: a change to them alone (the
 * first server removed from the stack) leaves a server with etcd data running (write-file.sh).
 */
export const SERVER_BOOTSTRAP_KEYS = ["server", "cluster-init"] as const;

/** Writes a K3s file (config or token) from stdin, mode 0600; leaves the restart to the install step. */
export function writeK3sFileScript(role: K3sRole, path: string): string {
  const bootstrapKeys = role === "server" && path === K3S_CONFIG_PATH ? SERVER_BOOTSTRAP_KEYS : [];
  return hostScript("k3s/write-file.sh", {
    path,
    service: serviceName(role),
    bootstrap_keys: bootstrapKeys.join(" "),
  });
}

/** Removes a file a step wrote (the uninstall script removes /etc/rancher/k3s as a whole). */
export function removeFileScript(path: string): string {
  return hostScript("k3s/remove-file.sh", { path });
}

/** What the install step knows beyond the K3s settings. */
export interface InstallOptions {
  /** The Kubernetes node name, for messages and the node checks. */
  nodeName: string;
  /** Servers only: drain the node within this many seconds before an upgrade (off when absent). */
  drainTimeoutSeconds?: number;
  /** Install from the verified air-gap files instead of downloading; the images file's name. */
  airgap?: { imagesFile?: string };
  /** Whether the stack has a secret config fragment; without one a stale drop-in is removed. */
  secretConfig?: boolean;
  /** Whether the stack has registries; without them a registries.yaml the program wrote is removed. */
  registries?: boolean;
  /** The proxy variables the installer writes into the service's env file. */
  proxy?: ProxyEnvironment;
}

/** Installs, upgrades or restarts K3s as install.sh describes. */
export function installK3sScript(
  role: K3sRole,
  k3s: K3sConfig,
  extraArgs: string[],
  options: InstallOptions,
): string {
  return hostScript("k3s/install.sh", {
    role,
    version: k3s.version,
    exec: [role, ...extraArgs].join(" "),
    node: options.nodeName,
    drain_timeout: role === "server" ? (options.drainTimeoutSeconds ?? "") : "",
    secret_config: options.secretConfig === true,
    registries: options.registries === true,
    proxy_set: options.proxy !== undefined,
    proxy_http: options.proxy?.HTTP_PROXY ?? "",
    proxy_https: options.proxy?.HTTPS_PROXY ?? "",
    proxy_none: options.proxy?.NO_PROXY ?? "",
    airgap: options.airgap !== undefined,
    images_file: options.airgap?.imagesFile ?? "",
    install_script_url: options.airgap ? "" : k3s.installScriptUrl,
    install_script_sha256: options.airgap ? "" : (k3s.installScriptSha256 ?? ""),
    install_mirror: options.airgap ? "" : (k3s.installMirror ?? ""),
    releases_url: options.airgap ? "" : (k3s.releasesUrl ?? ""),
  });
}

/** Uninstalls K3s with the uninstall script the installer left. */
export function uninstallK3sScript(role: K3sRole): string {
  return hostScript("k3s/uninstall.sh", { role });
}

/** Prints the token a first server generated. Its output is a secret. */
export function readGeneratedTokenScript(): string {
  return hostScript("k3s/read-generated-token.sh");
}

/** Prints the cluster CA's hash from the server token K3s wrote. */
export function readCaHashScript(): string {
  return hostScript("k3s/read-ca-hash.sh");
}

/** Generates (once) and prints the agent token on the first server. Its output is a secret. */
export function generateAgentTokenScript(): string {
  return hostScript("k3s/generate-agent-token.sh");
}

/** Prints the admin kubeconfig. Its output is a secret. */
export function readKubeconfigScript(): string {
  return hostScript("k3s/read-kubeconfig.sh");
}
