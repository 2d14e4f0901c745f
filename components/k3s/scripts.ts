/** Scripts that install, configure, probe and remove K3s on a host. Pure. */
import { K3S_API_PORT, K3sConfig } from "../config/types";
import {
  K3S_AGENT_TOKEN_PATH,
  K3S_CONFIG_PATH,
  K3S_GENERATED_TOKEN_PATH,
  K3S_SECRET_CONFIG_PATH,
  K3S_KUBECONFIG_PATH,
  hostPort,
} from "./configYaml";
import {
  AIRGAP_INSTALLER_FILE,
  AIRGAP_K3S_FILE,
  AIRGAP_VERIFIED_DIR,
  K3S_IMAGES_DIR,
} from "../airgap/scripts";
import {
  DRAIN_FUNCTIONS,
  INSTALLED_VERSION,
  K3S_HA_STATE_DIR,
  KUBE_LOCAL,
  NODE_FUNCTIONS,
  VERSION_FUNCTIONS,
  restartMarkerPath,
} from "./shellFunctions";
import { script, shQuote } from "../host/script";

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
 * Writes a K3s file (config or token) from stdin, mode 0600. It never restarts K3s itself: when K3s
 * is installed and the content changed, it leaves a marker and the install step, which servers run
 * one at a time, restarts the service and waits until it is back.
 */
export function writeK3sFileScript(role: K3sRole, path: string): string {
  const service = serviceName(role);
  // The marker comes before the new file moves into place: a run cut between the two still
  // leaves the restart to do.
  return script(`
mark_restart() { if have k3s; then state_touch ${restartMarkerPath(service)}; fi; }
changed=$(write_file ${shQuote(path)} 0600 "" mark_restart)
if [ "$changed" = changed ] && have k3s; then
  log "${service}: ${path} changed; the install step restarts ${service}"
fi`);
}

/** Removes a file a step wrote (the uninstall script removes /etc/rancher/k3s as a whole). */
export function removeFileScript(path: string): string {
  return script(`rm -f ${shQuote(path)}`);
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
}

/** Seconds a server waits for the other etcd members to be Ready before it restarts. */
export const ETCD_PEERS_TIMEOUT_SECONDS = 120;

/**
 * What the install step last saw running and ready on a host: version and arguments. Written only
 * once K3s answered ready, so a run cut between the install and the restart (or a restart that
 * failed) leaves it stale, and the next run restarts K3s again.
 */
export function installedStatePath(service: string): string {
  return `${K3S_HA_STATE_DIR}/installed-${service}`;
}

/**
 * Installs or upgrades to the pinned K3s version, re-runs the installer when the extra arguments
 * changed, and restarts K3s when it is not running, when a config or token step left a marker, or
 * when the last restart did not end ready; else changes nothing. Refuses a downgrade (and, on a
 * server, skipping a minor version) before touching anything. A server first checks that every
 * other etcd member is Ready (restarting now must not cost quorum) and, when asked, drains itself
 * before an upgrade; it ends only when it answers /ping, /readyz and /readyz/etcd and its node is
 * Ready, running the pinned version.
 *
 * The installer never starts K3s itself (INSTALL_K3S_SKIP_START): it skips the restart when the
 * binary, unit and env file it hashes did not change (install.sh service_enable_and_start), which
 * an air-gap binary copied beforehand defeats, and its systemd unit (Type=notify,
 * TimeoutStartSec=0) makes `systemctl restart` wait forever for a K3s that never gets ready. This
 * script restarts K3s under `timeout` (svc_restart_bounded) and bounds every other wait.
 */
export function installK3sScript(
  role: K3sRole,
  k3s: K3sConfig,
  extraArgs: string[],
  options: InstallOptions,
): string {
  const service = serviceName(role);
  const isServer = role === "server";
  const drain = isServer ? options.drainTimeoutSeconds : undefined;
  const beforeRestart = isServer
    ? `wait_for ${ETCD_PEERS_TIMEOUT_SECONDS} "every other etcd member to be Ready" etcd_others_ready "$node" || {
      log "refusing to restart K3s on $node: etcd member(s) $(etcd_not_ready) not Ready, and restarting this one too could lose quorum"; exit 1; }`
    : ":";
  const drainStep =
    drain === undefined ? "" : `drain_for_upgrade "$node" "$version" ${drain} || exit 1`;
  const install = options.airgap ? airgapInstall(options.airgap.imagesFile) : onlineInstall(k3s);
  return script(`
${VERSION_FUNCTIONS}
${isServer ? [KUBE_LOCAL, NODE_FUNCTIONS, DRAIN_FUNCTIONS].join("\n") : ""}
version=${shQuote(k3s.version)}
exec=${installExec(role, extraArgs)}
node=${shQuote(options.nodeName)}
marker=${restartMarkerPath(service)}
state=${installedStatePath(service)}
want="$version $exec"
${INSTALLED_VERSION}
refuse_downgrade "$node"
${isServer ? 'refuse_minor_skip "$node"' : ""}
${options.secretConfig ? "" : staleSecretConfigRemoval(service)}
recorded=$(cat "$state" 2>/dev/null) || recorded=""
running=false
if svc_running ${service}; then running=true; fi
# A host installed and running before the program kept this record counts as started with these
# arguments.
if [ -z "$recorded" ] && [ "$installed" = "$version" ] && [ "$running" = true ]; then recorded=$want; fi
# The installer runs for a new binary or new arguments; K3s restarts for those, for a stopped
# service, for a changed config or token (the marker), and when the last restart did not end
# ready (the record is older than what is wanted).
reinstall=false
if [ "$installed" != "$version" ] || [ "\${recorded#* }" != "$exec" ]; then reinstall=true; fi
restart=$reinstall
if [ "$running" != true ] || [ -e "$marker" ] || [ "$recorded" != "$want" ]; then restart=true; fi
if [ "$restart" = true ] && [ "$running" = true ]; then
  ${beforeRestart}
fi
if [ "$reinstall" = true ]; then
  if [ -z "$installed" ]; then
    log "installing K3s $version on $node"
  elif [ "$installed" = "$version" ]; then
    log "re-running the K3s installer on $node for its changed arguments"
  else
    log "upgrading K3s on $node from $installed to $version"
  fi
  if [ -n "$installed" ] && [ "$installed" != "$version" ] && [ "$running" = true ]; then
    ${drainStep || ":"}
  fi
  ${install}
fi
if [ "$restart" = true ]; then
  svc_restart_bounded ${service} ${K3S_READY_TIMEOUT_SECONDS} || { log "$(svc_failure_hint ${service})"; exit 1; }
  log "${service}: restarted"
else
  log "k3s $version already installed and running"
fi
${readyCheck(role)}
printf '%s\n' "$want" | state_write "$state"
rm -f "$marker"`);
}

/**
 * The secret config fragment a stack no longer has: its step's delete would run only at the end of
 * the run, after this install step, so the install step removes it and restarts K3s in order.
 */
function staleSecretConfigRemoval(service: string): string {
  return `if [ -e ${K3S_SECRET_CONFIG_PATH} ]; then
  state_touch ${restartMarkerPath(service)}; rm -f ${K3S_SECRET_CONFIG_PATH}
  log "${service}: ${K3S_SECRET_CONFIG_PATH} is no longer configured; removed, ${service} restarts"
fi`;
}

function installExec(role: K3sRole, extraArgs: string[]): string {
  return shQuote([role, ...extraArgs].join(" "));
}

function onlineInstall(k3s: K3sConfig): string {
  const verify = k3s.installScriptSha256
    ? `echo ${shQuote(`${k3s.installScriptSha256}  `)}"$installer" | sha256sum -c - >/dev/null 2>&1 || {
    log "install script from ${k3s.installScriptUrl} does not match installScriptSha256"; exit 1; }`
    : "";
  const mirror = k3s.installMirror ? `INSTALL_K3S_MIRROR=${shQuote(k3s.installMirror)} ` : "";
  return `ensure_packages curl=curl
  installer=$(mktemp); trap 'rm -f "$installer"' EXIT
  # Redirects may only lead to https: an https URL must not fall back to plain http.
  curl -sfL --proto-redir =https --retry 5 --retry-delay 2 -o "$installer" ${shQuote(k3s.installScriptUrl)}
  ${verify}
  INSTALL_K3S_SKIP_START=true INSTALL_K3S_VERSION="$version" INSTALL_K3S_EXEC="$exec" ${mirror}sh "$installer" >&2`;
}

/** Puts the verified binary and images in place, then runs the verified installer without download. */
/** Which images tarball the program put into K3s's images dir last (to remove it on a change). */
export const AIRGAP_IMAGES_RECORD = `${K3S_HA_STATE_DIR}/airgap-images-installed`;

/**
 * Puts the verified binary and images in place, then runs the verified installer without download.
 * An images tarball the program put there for an earlier release goes: K3s imports every tarball
 * in that dir at each start (the K3s air-gap docs: delete the old one on an upgrade).
 */
function airgapInstall(imagesFile?: string): string {
  const staged = `${AIRGAP_VERIFIED_DIR}/${AIRGAP_K3S_FILE}`;
  const images = imagesFile
    ? `mkdir -p ${K3S_IMAGES_DIR}
  install -m 0644 ${shQuote(`${AIRGAP_VERIFIED_DIR}/${imagesFile}`)} ${shQuote(`${K3S_IMAGES_DIR}/${imagesFile}`)}
  printf '%s\n' ${shQuote(imagesFile)} | state_write ${AIRGAP_IMAGES_RECORD}`
    : `rm -f ${AIRGAP_IMAGES_RECORD}`;
  return `staged=$(${staged} --version 2>/dev/null | awk 'NR==1 {print $3}') || staged=""
  if [ "$staged" != "$version" ]; then
    log "the verified air-gap K3s binary is \${staged:-unreadable}, but k3sVersion is $version: point airgap.k3sBinary at the $version binary"; exit 1
  fi
  install -m 0755 ${staged} /usr/local/bin/k3s
  previous=$(cat ${AIRGAP_IMAGES_RECORD} 2>/dev/null) || previous=""
  if [ -n "$previous" ] && [ "$previous" != ${shQuote(imagesFile ?? "")} ]; then
    rm -f "${K3S_IMAGES_DIR}/$previous"; log "removed the earlier images tarball $previous"
  fi
  ${images}
  INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_SKIP_START=true INSTALL_K3S_VERSION="$version" INSTALL_K3S_EXEC="$exec" sh ${AIRGAP_VERIFIED_DIR}/${AIRGAP_INSTALLER_FILE} >&2`;
}

function readyCheck(role: K3sRole): string {
  const service = serviceName(role);
  const failed = `{ log "$(svc_failure_hint ${service})"; exit 1; }`;
  if (role === "agent") {
    return `wait_for ${K3S_READY_TIMEOUT_SECONDS} "service ${service} to report ready" svc_running ${service} || ${failed}`;
  }
  const local = hostPort("127.0.0.1", K3S_API_PORT);
  return `wait_for ${K3S_READY_TIMEOUT_SECONDS} "service ${service} to report ready" svc_running ${service} || ${failed}
wait_for ${K3S_READY_TIMEOUT_SECONDS} "K3s to answer /ping on ${local}" ping_ok ${local}
wait_for ${K3S_READY_TIMEOUT_SECONDS} "the apiserver to report /readyz" kube get --raw=/readyz
wait_for ${K3S_READY_TIMEOUT_SECONDS} "etcd to report healthy (/readyz/etcd)" kube get --raw=/readyz/etcd
wait_for ${K3S_READY_TIMEOUT_SECONDS} "node $node to be Ready" node_ready "$node"
wait_for ${K3S_READY_TIMEOUT_SECONDS} "node $node to run $version (its kubeletVersion)" node_runs "$node" "$version" || {
  log "node $node runs $(node_version "$node") after the restart, not $version: the upgrade did not take"; exit 1; }
uncordon_if_drained "$node"
log "k3s server $node ready, running $version"`;
}

/** Uninstalls K3s with the uninstall script the installer left; a host without it is already clean. */
export function uninstallK3sScript(role: K3sRole): string {
  const uninstall = uninstallScriptPath(role);
  return script(`
if [ -x ${uninstall} ]; then ${uninstall} >&2; else log "no ${uninstall}: K3s is not installed"; fi
rm -f ${K3S_CONFIG_PATH} ${restartMarkerPath(serviceName(role))} ${installedStatePath(serviceName(role))}`);
}

/** Prints the token a first server generated. Its output is a secret. */
export function readGeneratedTokenScript(): string {
  return script(`
wait_for ${K3S_READY_TIMEOUT_SECONDS} "${K3S_GENERATED_TOKEN_PATH}" test -s ${K3S_GENERATED_TOKEN_PATH}
cat ${K3S_GENERATED_TOKEN_PATH}`);
}

/**
 * Prints the cluster CA's hash as K3s put it into the server token it wrote: K3s writes
 * /var/lib/rancher/k3s/server/token in the secure form K10<CA hash>::server:<password> (docs.k3s.io
 * cli/token; the hash is the sha256 of the PEM server CA, or of the root's DER with custom CAs).
 * Joiners' tokens carry this hash, so they refuse a server whose /cacerts serves another CA. The
 * hash is public (anyone can hash /cacerts); the password never leaves the shell variable.
 */
export function readCaHashScript(): string {
  return script(`
wait_for ${K3S_READY_TIMEOUT_SECONDS} "${K3S_GENERATED_TOKEN_PATH}" test -s ${K3S_GENERATED_TOKEN_PATH}
full=$(cat ${K3S_GENERATED_TOKEN_PATH})
hash=\${full#K10}; hash=\${hash%%::*}
case $full in
  K10*::*) ;;
  *) log "${K3S_GENERATED_TOKEN_PATH} is not in the secure form K10<CA hash>::server:<password>"; exit 1 ;;
esac
if [ \${#hash} -ne 64 ] || ! printf '%s' "$hash" | grep -Eq '^[0-9a-f]+$'; then
  log "${K3S_GENERATED_TOKEN_PATH} holds no sha256 CA hash after K10"; exit 1
fi
printf '%s\n' "$hash"`);
}

/**
 * Generates the agent token on the first server when the stack configures none: a random password
 * kept in /etc/rancher/k3s/agent-token (0600), written once and kept on later runs, then printed (the
 * step's output is a secret). With it, servers run with agent-token-file and no agent host ever
 * holds the server token. A new file leaves the restart marker, as a changed token file does.
 */
export function generateAgentTokenScript(): string {
  return script(`
mark_restart() { if have k3s; then state_touch ${restartMarkerPath(serviceName("server"))}; fi; }
if ! [ -s ${K3S_AGENT_TOKEN_PATH} ]; then
  # od and tr see only the random bytes; printf is a shell builtin (no command line holds the token).
  new=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  if [ \${#new} -ne 64 ]; then log "could not read 32 random bytes from /dev/urandom"; exit 1; fi
  printf '%s\n' "$new" | write_file ${K3S_AGENT_TOKEN_PATH} 0600 "" mark_restart >/dev/null
  log "generated an agent token in ${K3S_AGENT_TOKEN_PATH} (0600); servers accept agents with it only"
fi
cat ${K3S_AGENT_TOKEN_PATH}`);
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
