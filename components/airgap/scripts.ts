/** Scripts that stage and verify the air-gap files (K3s binary, install script, images). Pure. */
import { K3S_HA_STATE_DIR } from "../k3s/shellFunctions";
import { script, shQuote } from "../host/script";

/** Where the SSH user copies the files to (owned by that user, mode 0700, under a root-owned dir). */
export const AIRGAP_STAGING_DIR = `${K3S_HA_STATE_DIR}/airgap-staging`;
/** Where root keeps the verified copies the install step uses. */
export const AIRGAP_VERIFIED_DIR = `${K3S_HA_STATE_DIR}/airgap`;
export const AIRGAP_K3S_FILE = "k3s";
export const AIRGAP_INSTALLER_FILE = "install.sh";
/** Where K3s imports image tarballs from when it starts. */
export const K3S_IMAGES_DIR = "/var/lib/rancher/k3s/agent/images";

/**
 * The tools the K3s scripts use on a host that cannot install packages: checked by the first
 * step on each air-gapped host, before anything there changes.
 */
export const AIRGAP_TOOLS = ["curl", "sha256sum", "awk", "sed", "timeout", "base64", "install"];
const AIRGAP_TOOLS_CHECK = `missing=""
for tool in ${AIRGAP_TOOLS.join(" ")}; do have "$tool" || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  log "this air-gapped host lacks:$missing. The program cannot install packages offline: install them from your distribution's media first (curl answers the readiness checks and the registration gate)"
  exit 1
fi`;

/** One file to verify: its name in the staging dir and the sha256 the stack config gives. */
export interface AirgapFile {
  name: string;
  sha256: string;
  /** The config key the sum comes from, for the error message. */
  sumKey: string;
}

/**
 * Creates the staging dir for the SSH user (sudo sets SUDO_USER) under a root-owned parent, so no
 * other local user can swap a file between the copy and the verification.
 */
export function airgapStagingScript(): string {
  return script(`
${AIRGAP_TOOLS_CHECK}
owner=\${SUDO_USER:-root}
install -d -m 0755 -o root -g root ${K3S_HA_STATE_DIR}
if [ -L ${AIRGAP_STAGING_DIR} ]; then rm -f ${AIRGAP_STAGING_DIR}; fi
install -d -m 0700 -o "$owner" ${AIRGAP_STAGING_DIR}
log "${AIRGAP_STAGING_DIR}: ready for $owner"`);
}

export function removeAirgapStagingScript(): string {
  return script(`rm -rf ${AIRGAP_STAGING_DIR}`);
}

export function removeAirgapVerifiedScript(): string {
  return script(`rm -rf ${AIRGAP_VERIFIED_DIR}`);
}

/**
 * Copies each staged file into root's own directory, checks the copy against the sha256 from the
 * stack config, and keeps it only when it matches: the install step uses only verified files.
 */
export function airgapVerifyScript(files: AirgapFile[]): string {
  const checks = files
    .map((f) => `verify_staged ${shQuote(f.name)} ${shQuote(f.sha256)} ${shQuote(f.sumKey)}`)
    .join("\n");
  return script(`
install -d -m 0700 -o root -g root ${AIRGAP_VERIFIED_DIR}
verify_staged() {
  name=$1; sum=$2; key=$3
  [ -f "${AIRGAP_STAGING_DIR}/$name" ] || { log "${AIRGAP_STAGING_DIR}/$name is missing: the copy step did not run"; exit 1; }
  tmp=$(mktemp "${AIRGAP_VERIFIED_DIR}/.$name.XXXXXX")
  cp "${AIRGAP_STAGING_DIR}/$name" "$tmp"
  actual=$(sha256sum "$tmp" | awk '{print $1}')
  if [ "$actual" != "$sum" ]; then
    rm -f "$tmp"
    log "$name: sha256 on this host is $actual, $key says $sum; refusing to use it"; exit 1
  fi
  chmod 0700 "$tmp"; mv -f "$tmp" "${AIRGAP_VERIFIED_DIR}/$name"
  log "$name: sha256 verified"
}
${checks}`);
}
