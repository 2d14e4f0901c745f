/**
 * Faults the e2e suites inject into lab hosts, each undone by the same module: a K3s stand-in that
 * never becomes ready, an ExecReload drop-in that fails or blocks a systemd service's reload,
 * killing a host's SSH sessions with everything they run; and the local air-gap files (the
 * stand-in k3s of a release, the stand-in installer, an images tarball) a stack points `airgap` at.
 *
 *   setNeverReady(host, true);  await installReloadFault(lb1, "haproxy");  setFault(lb1, "fail-reload", true);
 *   killSshSessions(lb1);  airgapSetting(version);  imagesOn(host);
 */
import * as fs from "fs";
import * as path from "path";
import { K3S_IMAGES_DIR } from "../../components/airgap/scripts";
import { HAPROXY_ADMIN_SOCKET } from "../../components/lb/haproxy-pair/haproxyCfg";
import { readServerStatus } from "../lb-lab/haproxy-stats";
import { parentPid, pidsInPidNamespace, signal } from "../shared/processes";
import { run, waitFor } from "../shared/sh";
import { E2E_DIR } from "./constants";
import { E2eHost } from "./host";
import { installerText, mirroredK3s, sha256 } from "./mirror";

/** While this file exists, a K3s stand-in that starts never becomes ready (harness/e2e/stand-in/k3s.ts). */
export const NEVER_READY_PATH = "/etc/rancher/k3s/stand-in-never-ready";

export function setNeverReady(host: E2eHost, on: boolean): void {
  if (on) fs.writeFileSync(host.hostPath(NEVER_READY_PATH), "");
  else fs.rmSync(host.hostPath(NEVER_READY_PATH), { force: true });
}

// ---- a systemd service's reload, failed or blocked ------------------------------------------

/** The fault flags, on the host's /run (a reboot clears them). */
export const FAULT_DIR = "/run/k3sha-e2e-fault";
/** fail-reload: the next reloads fail. block-reload: a reload waits (60 s at most) until it goes. */
export type ReloadFault = "fail-reload" | "block-reload";
/** A blocked reload has started (it touches this) and is waiting. */
export const RELOAD_BLOCKED = `${FAULT_DIR}/reload-blocked`;
const FAULT_SCRIPT = "/usr/local/sbin/k3sha-e2e-reload-fault";
const dropInPath = (service: string) =>
  `/etc/systemd/system/${service}.service.d/k3sha-e2e-reload-fault.conf`;

/** Runs first in ExecReload: with a flag set, the reload fails before the unit's own commands run. */
const FAULT_SCRIPT_TEXT = `#!/bin/sh
# k3s-ha e2e fault: runs before the unit's own ExecReload commands; a failure skips them.
if [ -e ${FAULT_DIR}/fail-reload ]; then echo "e2e fault: this reload fails" >&2; exit 1; fi
if [ -e ${FAULT_DIR}/block-reload ]; then
  touch ${RELOAD_BLOCKED}
  n=0
  while [ -e ${FAULT_DIR}/block-reload ] && [ "$n" -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
  rm -f ${RELOAD_BLOCKED}
  echo "e2e fault: the blocked reload ends without reloading" >&2; exit 1
fi
exit 0
`;

/**
 * A drop-in that puts the fault script before the unit's own ExecReload commands (read from the
 * distribution's unit on the host), so a failed or blocked reload never reaches the daemon.
 */
export async function installReloadFault(host: E2eHost, service: string): Promise<void> {
  const unit = fs.readFileSync(host.hostPath(`/lib/systemd/system/${service}.service`), "utf8");
  const reloads = unit.split("\n").filter((l) => l.startsWith("ExecReload="));
  if (reloads.length === 0) throw new Error(`${host.name}: ${service}.service has no ExecReload`);
  fs.mkdirSync(host.hostPath(FAULT_DIR), { recursive: true });
  fs.writeFileSync(host.hostPath(FAULT_SCRIPT), FAULT_SCRIPT_TEXT, { mode: 0o755 });
  fs.mkdirSync(path.dirname(host.hostPath(dropInPath(service))), { recursive: true });
  fs.writeFileSync(
    host.hostPath(dropInPath(service)),
    ["[Service]", "ExecReload=", `ExecReload=${FAULT_SCRIPT}`, ...reloads, ""].join("\n"),
  );
  await host.exec("systemctl", ["daemon-reload"]);
}

export async function removeReloadFault(host: E2eHost, service: string): Promise<void> {
  fs.rmSync(host.hostPath(dropInPath(service)), { force: true });
  fs.rmSync(host.hostPath(FAULT_SCRIPT), { force: true });
  fs.rmSync(host.hostPath(FAULT_DIR), { recursive: true, force: true });
  await host.exec("systemctl", ["daemon-reload"]);
}

export function setFault(host: E2eHost, fault: ReloadFault, on: boolean): void {
  const file = host.hostPath(`${FAULT_DIR}/${fault}`);
  if (on) fs.writeFileSync(file, "");
  else fs.rmSync(file, { force: true });
}

/** systemd's state of a unit (active, reloading, activating, inactive, failed, ...). */
export async function unitState(host: E2eHost, unit: string): Promise<string> {
  const out = await host.exec("systemctl", ["show", "--property=ActiveState", "--value", unit], {
    allowFailure: true,
  });
  return out.trim();
}

/** Waits (bounded) until no job of `unit` is running, e.g. a released reload has ended. */
export async function waitUnitSettled(host: E2eHost, unit: string, timeoutMs = 20_000) {
  await waitFor(
    `${host.name}: ${unit} to have no job running`,
    async () => (await host.exec("systemctl", ["list-jobs", "--no-legend", unit])).trim() === "",
    timeoutMs,
    100,
  );
}

// ---- SSH sessions -------------------------------------------------------------------------------

/** Whether the process runs in sshd's cgroup or a login session's scope (what a login started). */
function inSshCgroup(pid: number): boolean {
  try {
    return /\/ssh\.service$|\/session-[^/]+\.scope$/m.test(
      fs.readFileSync(`/proc/${pid}/cgroup`, "utf8"),
    );
  } catch {
    return false;
  }
}

/**
 * Kills every SSH session on a systemd host with everything it runs: each process in sshd's
 * cgroup or a login session's scope but the listening sshd (sshd leaves a session's command
 * running when the connection drops, and Debian's ssh.service has KillMode=process). Host-side
 * pids killed.
 */
export function killSshSessions(host: E2eHost): number[] {
  if (host.kind !== "systemd") throw new Error(`${host.name}: sessions are found by cgroup`);
  const sshd = host.pids("sshd");
  const listeners = sshd.filter((pid) => !sshd.includes(parentPid(pid)));
  const killed = pidsInPidNamespace(host.pid1).filter(
    (pid) => !listeners.includes(pid) && inSshCgroup(pid),
  );
  for (const pid of killed) signal(pid, "SIGKILL");
  return killed;
}

// ---- HAProxy as it runs -------------------------------------------------------------------------

/** The servers HAProxy on the host serves for K3s now (its stats socket), sorted. */
export async function haproxyServers(host: E2eHost): Promise<string[]> {
  const status = await readServerStatus(host.hostPath(HAPROXY_ADMIN_SOCKET), "k3s-servers");
  return [...status.keys()].sort();
}

// ---- air gap ------------------------------------------------------------------------------------

const AIRGAP_DIR = path.join(E2E_DIR, "airgap");

/** The images tarball's name for a release (K3s imports any *.tar in its images dir). */
export const imagesFileName = (version: string) =>
  `k3s-airgap-images-amd64-${version.replace(/\+/g, "-")}.tar`;

/**
 * The `airgap` setting for a release, its files written on this machine (the one running the
 * program): the mirror's stand-in k3s of that version (the lab must serve it), the stand-in
 * installer, and a small images tarball; with their sha256 sums.
 */
export async function airgapSetting(version: string): Promise<Record<string, unknown>> {
  const dir = path.join(AIRGAP_DIR, version);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const k3s = path.join(dir, "k3s");
  fs.copyFileSync(mirroredK3s(version), k3s);
  const installScript = path.join(dir, "install.sh");
  fs.writeFileSync(installScript, installerText());
  const images = path.join(dir, imagesFileName(version));
  fs.writeFileSync(path.join(dir, "images.txt"), `stand-in images of ${version}\n`);
  // Byte for byte the same tarball at each call: its sum is part of the stack config.
  const fixed = ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner"];
  await run("tar", ["-C", dir, ...fixed, "-cf", images, "images.txt"]);
  const sum = (file: string) => sha256(fs.readFileSync(file));
  return {
    k3sBinary: k3s,
    installScript,
    imagesTarball: images,
    sha256: { k3s: sum(k3s), installScript: sum(installScript), images: sum(images) },
  };
}

/** The files in the host's K3s images dir, sorted. */
export function imagesOn(host: E2eHost): string[] {
  const dir = host.hostPath(K3S_IMAGES_DIR);
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}
