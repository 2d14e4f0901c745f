/**
 * The systemd hosts' root file system: Debian bookworm from debootstrap (minbase) with systemd,
 * sshd and what the program's scripts and the K3s stand-ins need on an offline host, built once
 * into ROOTFS_CACHE and shared read-only by every host (each boots an overlay over it). The
 * directory is named by a stamp of the package list and the build steps, so a changed list builds
 * a new one; a build is complete only once its directory has its final name.
 *
 *   const { dir, built, ms } = await ensureRootfs();   // ~75-90 s cold, ~0 s warm
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ROOTFS_CACHE, SUDO_USER, SUDO_USER_UID } from "./constants";
import { run } from "../shared/sh";

export const ROOTFS_SUITE = "bookworm";
export const ROOTFS_MIRROR = "http://deb.debian.org/debian";

/**
 * What every systemd host has installed. The lab is offline: the program's `ensure_packages`
 * must find each package it probes for already there, as on a host prepared for it.
 */
export const ROOTFS_PACKAGES = [
  // init, bus, the login the program uses
  "systemd",
  "systemd-sysv",
  "dbus",
  "openssh-server",
  "sudo",
  // the program's scripts: curl (installer download, /ping probes), ss, ps, killall, modprobe
  // (install.sh's units run `modprobe br_netfilter` first)
  "curl",
  "ca-certificates",
  "iproute2",
  "procps",
  "psmisc",
  "kmod",
  // the load-balancer tier
  "haproxy",
  "keepalived",
  "nginx",
  "libnginx-mod-stream",
  // the K3s stand-in: openssl (its certificates); node itself is bound in from this machine and
  // needs the C++ runtime
  "openssl",
  "libstdc++6",
];

/** Bump when what `customize` does changes: the stamp then names a new root file system. */
const BUILD_STEPS_VERSION = 1;
/** Bound on one debootstrap run (cold: about 75-90 s on the project's CI machine). */
const DEBOOTSTRAP_TIMEOUT_MS = 15 * 60_000;

/**
 * Services the distribution enables when its package is installed, disabled here: the hosts
 * start like the network-namespace hosts did (packages installed, daemons not running), and the
 * program enables what it uses. The apt timers would only try the network, which the lab has not.
 */
const DISABLED_UNITS = [
  "haproxy.service",
  "nginx.service",
  "keepalived.service",
  "apt-daily.timer",
  "apt-daily-upgrade.timer",
];

export function rootfsStamp(): string {
  const spec = {
    suite: ROOTFS_SUITE,
    mirror: ROOTFS_MIRROR,
    packages: ROOTFS_PACKAGES,
    disabled: DISABLED_UNITS,
    sudoUser: [SUDO_USER, SUDO_USER_UID],
    steps: BUILD_STEPS_VERSION,
  };
  return createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16);
}

/** The root file system for the current stamp (it may not be built yet). */
export function rootfsDir(): string {
  return path.join(ROOTFS_CACHE, `${ROOTFS_SUITE}-${rootfsStamp()}`);
}

function isComplete(dir: string): boolean {
  return fs.existsSync(path.join(dir, "etc", "k3sha-e2e-rootfs"));
}

/** Builds the root file system unless the current stamp's is there; returns it. */
export async function ensureRootfs(): Promise<{ dir: string; built: boolean; ms: number }> {
  const dir = rootfsDir();
  const t0 = Date.now();
  if (isComplete(dir)) return { dir, built: false, ms: Date.now() - t0 };
  fs.mkdirSync(ROOTFS_CACHE, { recursive: true, mode: 0o755 });
  const tmp = `${dir}.build-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const log = path.join(ROOTFS_CACHE, "build.log");
  console.log(`    e2e rootfs: debootstrap ${ROOTFS_SUITE} into ${tmp} (log: ${log})`);
  try {
    const out = await run(
      "debootstrap",
      [
        "--variant=minbase",
        `--include=${ROOTFS_PACKAGES.join(",")}`,
        ROOTFS_SUITE,
        tmp,
        ROOTFS_MIRROR,
      ],
      { timeoutMs: DEBOOTSTRAP_TIMEOUT_MS },
    );
    fs.writeFileSync(log, out);
    await customize(tmp);
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  removeOtherRootfs(dir);
  const ms = Date.now() - t0;
  console.log(`    e2e rootfs: built ${dir} in ${Math.round(ms / 1000)} s`);
  return { dir, built: true, ms };
}

/** What debootstrap leaves, made into the hosts' common base. */
async function customize(dir: string): Promise<void> {
  const chroot = (...args: string[]) => run("chroot", [dir, ...args]);
  // The sudo user (the same uid as on the network-namespace hosts), key logins only: "*" is no
  // password, not a locked account. Passwordless sudo, as the program's non-root runs need.
  await chroot(
    "useradd",
    ...["-u", String(SUDO_USER_UID), "-M", "-d", "/nonexistent", "-s", "/bin/sh", SUDO_USER],
  );
  await chroot("usermod", "-p", "*", SUDO_USER);
  const sudoers = path.join(dir, "etc", "sudoers.d", "k3sha-e2e");
  fs.writeFileSync(sudoers, `${SUDO_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  fs.chmodSync(sudoers, 0o440);
  await run("systemctl", [`--root=${dir}`, "disable", ...DISABLED_UNITS]);
  // Host identity is per host (the overlay's upper layer): no shared host keys or machine id.
  for (const f of fs.readdirSync(path.join(dir, "etc", "ssh"))) {
    if (f.startsWith("ssh_host_")) fs.rmSync(path.join(dir, "etc", "ssh", f));
  }
  fs.writeFileSync(path.join(dir, "etc", "machine-id"), "");
  fs.writeFileSync(path.join(dir, "etc", "hostname"), "localhost\n");
  // The lab has no DNS: names resolve through /etc/hosts only.
  fs.rmSync(path.join(dir, "etc", "resolv.conf"), { force: true });
  fs.writeFileSync(path.join(dir, "etc", "resolv.conf"), "# k3s-ha e2e lab: no DNS\n");
  const archives = path.join(dir, "var", "cache", "apt", "archives");
  for (const f of fs.readdirSync(archives)) {
    if (f.endsWith(".deb")) fs.rmSync(path.join(archives, f));
  }
  fs.writeFileSync(
    path.join(dir, "etc", "k3sha-e2e-rootfs"),
    `${JSON.stringify({ stamp: rootfsStamp(), packages: ROOTFS_PACKAGES, builtAt: new Date().toISOString() })}\n`,
  );
}

/** Root file systems of other stamps, and interrupted builds, unless an overlay still uses one. */
function removeOtherRootfs(keep: string): void {
  const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
  for (const entry of fs.readdirSync(ROOTFS_CACHE)) {
    const p = path.join(ROOTFS_CACHE, entry);
    if (p === keep || !fs.statSync(p).isDirectory() || mounts.includes(p)) continue;
    fs.rmSync(p, { recursive: true, force: true });
  }
}
