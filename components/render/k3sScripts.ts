/** Scripts that install, configure, probe and remove K3s on a host. Pure. */
import { K3S_API_PORT, K3sConfig } from "../config";
import {
  K3S_CONFIG_PATH,
  K3S_GENERATED_TOKEN_PATH,
  K3S_KUBECONFIG_PATH,
  hostPort,
} from "./k3sConfig";
import { script, shQuote } from "./shell";

export type K3sRole = "server" | "agent";

/** Seconds a server or agent may take to answer after install, and the gate before agents join. */
export const K3S_READY_TIMEOUT_SECONDS = 300;
export const REGISTRATION_READY_TIMEOUT_SECONDS = 180;

export function serviceName(role: K3sRole): string {
  return role === "server" ? "k3s" : "k3s-agent";
}

export function uninstallScriptPath(role: K3sRole): string {
  return role === "server"
    ? "/usr/local/bin/k3s-uninstall.sh"
    : "/usr/local/bin/k3s-agent-uninstall.sh";
}

/**
 * Writes a K3s file (config or token) from stdin, mode 0600. When K3s is already running and the
 * content changed, restarts it so the change takes effect; otherwise restarts nothing.
 */
export function writeK3sFileScript(role: K3sRole, path: string): string {
  const service = serviceName(role);
  return script(`
changed=$(write_file ${shQuote(path)} 0600)
if [ "$changed" = changed ] && have k3s && svc_running ${service}; then
  svc restart ${service}; log "${service}: restarted for the new ${path}"
fi`);
}

/** Removes a file a step wrote (the uninstall script removes /etc/rancher/k3s as a whole). */
export function removeFileScript(path: string): string {
  return script(`rm -f ${shQuote(path)}`);
}

/** Installs the pinned K3s version unless it is already installed and running; then waits until ready. */
export function installK3sScript(role: K3sRole, k3s: K3sConfig, extraArgs: string[]): string {
  const service = serviceName(role);
  const exec = [role, ...extraArgs].join(" ");
  const verify = k3s.installScriptSha256
    ? `echo ${shQuote(`${k3s.installScriptSha256}  `)}"$installer" | sha256sum -c - >/dev/null 2>&1 || {
  log "install script from ${k3s.installScriptUrl} does not match installScriptSha256"; exit 1; }`
    : "";
  const mirror = k3s.installMirror ? `INSTALL_K3S_MIRROR=${shQuote(k3s.installMirror)} ` : "";
  return script(`
version=${shQuote(k3s.version)}
installed=$(k3s --version 2>/dev/null | awk 'NR==1 {print $3}') || installed=""
if [ "$installed" = "$version" ] && svc_running ${service}; then
  log "k3s $version already installed and running"
else
  ensure_packages curl=curl
  installer=$(mktemp); trap 'rm -f "$installer"' EXIT
  curl -sfL --retry 5 --retry-delay 2 -o "$installer" ${shQuote(k3s.installScriptUrl)}
  ${verify}
  INSTALL_K3S_VERSION="$version" INSTALL_K3S_EXEC=${shQuote(exec)} ${mirror}sh "$installer" >&2
fi
${readyCheck(role)}`);
}

function readyCheck(role: K3sRole): string {
  if (role === "agent") {
    return `wait_for ${K3S_READY_TIMEOUT_SECONDS} "service ${serviceName(role)} to run" svc_running ${serviceName(role)}`;
  }
  const local = hostPort("127.0.0.1", K3S_API_PORT);
  return `wait_for ${K3S_READY_TIMEOUT_SECONDS} "K3s to answer /ping on ${local}" ping_ok ${local}
wait_for ${K3S_READY_TIMEOUT_SECONDS} "the apiserver to report /readyz" k3s kubectl get --raw=/readyz
log "k3s server ready"`;
}

/** Uninstalls K3s with the uninstall script the installer left; a host without it is already clean. */
export function uninstallK3sScript(role: K3sRole): string {
  const uninstall = uninstallScriptPath(role);
  return script(`
if [ -x ${uninstall} ]; then ${uninstall} >&2; else log "no ${uninstall}: K3s is not installed"; fi
rm -f ${K3S_CONFIG_PATH}`);
}

/** Prints the token a first server generated. Its output is a secret. */
export function readGeneratedTokenScript(): string {
  return script(`
wait_for ${K3S_READY_TIMEOUT_SECONDS} "${K3S_GENERATED_TOKEN_PATH}" test -s ${K3S_GENERATED_TOKEN_PATH}
cat ${K3S_GENERATED_TOKEN_PATH}`);
}

/** Prints the admin kubeconfig. Its output is a secret. */
export function readKubeconfigScript(): string {
  return script(`
wait_for ${K3S_READY_TIMEOUT_SECONDS} "${K3S_KUBECONFIG_PATH}" test -s ${K3S_KUBECONFIG_PATH}
cat ${K3S_KUBECONFIG_PATH}`);
}

/** Proves the registration address answers /ping before any agent joins through it. */
export function registrationGateScript(registrationAddress: string): string {
  const target = hostPort(registrationAddress, K3S_API_PORT);
  return script(`
ensure_packages curl=curl
wait_for ${REGISTRATION_READY_TIMEOUT_SECONDS} "the registration address ${target} to answer /ping" ping_ok ${shQuote(target)}
log "registration address ${target} answers /ping"`);
}
