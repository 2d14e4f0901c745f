/** Chooses and parameterises the air-gap scripts (staging, verification, removal). Pure. */
import { K3S_HA_STATE_DIR, hostScript } from "../host/script";

/** Where the SSH user copies the files to (owned by that user, mode 0700, under a root-owned dir). */
export const AIRGAP_STAGING_DIR = `${K3S_HA_STATE_DIR}/airgap-staging`;
/** Where root keeps the verified copies the install step uses (k3s/install.sh reads them there). */
export const AIRGAP_VERIFIED_DIR = `${K3S_HA_STATE_DIR}/airgap`;
export const AIRGAP_K3S_FILE = "k3s";
export const AIRGAP_INSTALLER_FILE = "install.sh";
/** Where K3s imports image tarballs from when it starts. */
export const K3S_IMAGES_DIR = "/var/lib/rancher/k3s/agent/images";

/** One file to verify: its name in the staging dir and the sha256 the stack config gives. */
export interface AirgapFile {
  name: string;
  sha256: string;
  /** The config key the sum comes from, for the error message. */
  sumKey: string;
}

export function airgapStagingScript(): string {
  return hostScript("airgap/staging.sh", { staging: AIRGAP_STAGING_DIR });
}

export function removeAirgapStagingScript(): string {
  return hostScript("airgap/remove-dir.sh", { dir: AIRGAP_STAGING_DIR });
}

export function removeAirgapVerifiedScript(): string {
  return hostScript("airgap/remove-dir.sh", { dir: AIRGAP_VERIFIED_DIR });
}

export function airgapVerifyScript(files: AirgapFile[]): string {
  return hostScript("airgap/verify.sh", {
    staging: AIRGAP_STAGING_DIR,
    verified: AIRGAP_VERIFIED_DIR,
    files: files.map((f) => `${f.name} ${f.sha256} ${f.sumKey}`).join("\n"),
  });
}
