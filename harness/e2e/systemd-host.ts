/**
 * A lab host that boots systemd, like a user's Debian or Ubuntu host: a systemd-nspawn container
 * over an overlay of the shared root file system (harness/e2e/rootfs.ts; lower: the rootfs, upper: the
 * host's own directory), in the host's lab network namespace, sshd started by systemd as a unit.
 * Scripts find /run/systemd/system and take their `systemctl` branch; units are enabled, started
 * and restarted by systemd, and a reboot starts again whatever is enabled.
 *
 * This machine's pid 1 is not systemd: nspawn neither registers with machined nor makes a scope
 * (--register=no --keep-unit), and each container is first put in a cgroup of its own
 * (/k3sha-e2e/<host> in the named systemd hierarchy and the unified one), where nspawn makes the
 * container's `payload` subtree, so no two containers share one.
 *
 * Per host, in the upper layer: hostname, /etc/hosts, a machine id, an SSH host key (the lab
 * pins it), the CA bundle with the lab mirror's certificate added, and an sshd drop-in (its address, the lab's authorized keys, bound read-only from
 * E2E_DIR so authorizeOnly reaches it). This machine's node binary and the stand-in's
 * node_modules copy are bound read-only at their own paths: the K3s stand-in's shebang names them.
 */
import { ChildProcess, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { E2E_DIR, HostName, PREFIX, nsName } from "./constants";
import { E2eHost } from "./host";
import { STAND_IN_NODE_MODULES, trustMirrorCertificate } from "./mirror";
import { childPids, isAlive, signal } from "../shared/processes";
import { run, sleep, waitFor } from "../shared/sh";
import {
  AUTHORIZED_KEYS,
  HOST_AUTHORIZED_KEYS,
  HOST_KEY_PATH,
  generateHostKey,
  renderSshdDropIn,
} from "./sshd";

/** The cgroup (in each hierarchy nspawn uses) under which every container gets its own. */
export const CGROUP_PARENT = "k3sha-e2e";
/** nspawn's exit status when the container asked for a reboot (systemd-nspawn(1)). */
const NSPAWN_REBOOT_STATUS = 133;
/** A machine name for nspawn: the container's hostname is the host's name. */
const machineName = (host: HostName) => nsName(host);
/** The PATH of a login shell; commands run inside a systemd host get only this environment. */
const HOST_ENV = [
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "HOME=/root",
  "LANG=C.UTF-8",
];
/** Bounds: a boot (nine hosts at once on two cores), a clean poweroff, a reboot's boot. */
const BOOT_TIMEOUT_MS = 90_000;
const POWEROFF_TIMEOUT_MS = 30_000;

export class SystemdHost extends E2eHost {
  readonly kind = "systemd";
  private nspawn?: ChildProcess;
  /** Resolves with nspawn's exit status when the current container ends. */
  private ended?: Promise<number | null>;

  constructor(
    name: HostName,
    /** The shared root file system (the overlay's lower layer). */
    private readonly rootfs: string,
  ) {
    super(name);
  }

  /** The overlay: the container's root, as this machine sees it. */
  get root(): string {
    return path.join(this.dir, "root");
  }

  protected enter(): string[] {
    return ["nsenter", "-t", String(this.pid1), "--all", "--", "env", "-i", ...HOST_ENV];
  }

  /** Fresh host: an empty upper layer, its identity, then the container's boot. */
  async boot(): Promise<void> {
    fs.rmSync(this.dir, { recursive: true, force: true });
    for (const sub of ["upper", "work", "root"]) {
      fs.mkdirSync(path.join(this.dir, sub), { recursive: true, mode: 0o755 });
    }
    fs.chmodSync(this.dir, 0o755);
    const upper = path.join(this.dir, "upper");
    const work = path.join(this.dir, "work");
    await run("mount", [
      ...["-t", "overlay", "overlay"],
      ...["-o", `lowerdir=${this.rootfs},upperdir=${upper},workdir=${work}`],
      this.root,
    ]);
    const etc = path.join(this.root, "etc");
    fs.writeFileSync(path.join(etc, "hostname"), `${this.name}\n`);
    fs.writeFileSync(path.join(etc, "hosts"), `127.0.0.1 localhost\n127.0.1.1 ${this.name}\n`);
    fs.writeFileSync(path.join(etc, "machine-id"), `${randomHex(16)}\n`, { mode: 0o444 });
    fs.mkdirSync(path.dirname(path.join(this.root, HOST_KEY_PATH)), { recursive: true });
    this.hostKey = await generateHostKey(
      path.dirname(path.join(this.root, HOST_KEY_PATH)),
      this.name,
    );
    trustMirrorCertificate(this.root);
    const dropIn = path.join(etc, "ssh", "sshd_config.d", "k3sha-e2e.conf");
    fs.mkdirSync(path.dirname(dropIn), { recursive: true });
    fs.writeFileSync(dropIn, renderSshdDropIn(this.address), { mode: 0o644 });
    await this.startContainer();
  }

  /** Starts nspawn on the overlay and waits for the boot to finish and sshd to listen. */
  private async startContainer(): Promise<void> {
    const cgroups = ensureCgroups(this.name);
    const node = process.execPath;
    const args = [
      ...["-D", this.root, `--machine=${machineName(this.name)}`, `--hostname=${this.name}`],
      ...["--boot", "--register=no", "--keep-unit"],
      `--network-namespace-path=/run/netns/${nsName(this.name)}`,
      // The boot's console output goes to console.log; nothing reads the console.
      "--console=read-only",
      ...["--link-journal=no", "--resolv-conf=off", "--timezone=off"],
      // KeepAlived adds and removes the VIP; a user's host has this capability.
      "--capability=CAP_NET_ADMIN",
      `--bind-ro=${fs.realpathSync(node)}:${node}`,
      `--bind-ro=${STAND_IN_NODE_MODULES}`,
      `--bind-ro=${AUTHORIZED_KEYS}:${HOST_AUTHORIZED_KEYS}`,
    ];
    // Into its own cgroups first, then nspawn in place of the shell (same pid).
    const script =
      'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ >"$1/cgroup.procs"; shift; n=$((n - 1)); done; exec systemd-nspawn "$@"';
    const log = fs.openSync(path.join(this.dir, "console.log"), "a");
    const child = spawn("sh", ["-c", script, "sh", String(cgroups.length), ...cgroups, ...args], {
      stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    child.on("error", () => undefined);
    this.nspawn = child;
    this.ended = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    let exited = false;
    void this.ended.then(() => (exited = true));
    await waitFor(
      `${this.name}'s systemd to start`,
      () => {
        if (exited) throw new Error(`${this.name}: systemd-nspawn exited:\n${this.consoleTail()}`);
        const init = childPids(child.pid ?? 0).find((pid) => readComm(pid) === "systemd");
        if (!init) return false;
        this.initPid = init;
        return true;
      },
      BOOT_TIMEOUT_MS,
      20,
    );
    await this.waitBooted();
    await waitFor(
      `${this.name}'s sshd listening on ${this.address}:22`,
      async () => (await this.exec("ss", ["-Hltn", "sport = :22"])).trim() !== "",
      BOOT_TIMEOUT_MS,
      50,
    );
  }

  /**
   * Waits until systemd finished the boot (no job left). A unit that failed fails the boot,
   * listed with its journal; a boot still running jobs at the bound is listed with them.
   */
  private async waitBooted(timeoutMs = BOOT_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let state = "";
    while (Date.now() < deadline) {
      state = await this.systemState();
      if (state === "running") return;
      if (state === "degraded") {
        const failed = await this.exec("systemctl", ["--failed", "--no-legend", "--plain"], {
          allowFailure: true,
        });
        const journal = await this.journalTail(40);
        throw new Error(`${this.name} booted degraded; failed units:\n${failed}\n${journal}`);
      }
      await sleep(100);
    }
    const jobs = await this.exec("systemctl", ["list-jobs", "--no-legend"], { allowFailure: true });
    throw new Error(
      `${this.name}: boot not finished after ${timeoutMs} ms (state ${state || "unknown"}); jobs:\n${jobs}`,
    );
  }

  /** systemd's own state: starting, running, degraded, stopping, ... ("" while unreachable). */
  async systemState(): Promise<string> {
    // is-system-running exits non-zero for every state but "running"; its output says which.
    const out = await this.exec("sh", ["-c", "systemctl is-system-running || true"], {
      allowFailure: true,
      timeoutMs: 5_000,
    });
    return out.trim();
  }

  /**
   * `systemctl reboot` inside the host: systemd stops every unit, nspawn ends with the reboot
   * status, and the container boots again on the same disk. Returns once the boot finished (every
   * enabled unit started or failed, which fails the reboot) and sshd listens.
   */
  async reboot(timeoutMs = BOOT_TIMEOUT_MS): Promise<void> {
    const ended = this.ended;
    if (!ended || !this.initPid) throw new Error(`${this.name} is not booted`);
    await this.exec("systemctl", ["reboot"], { allowFailure: true });
    const status = await Promise.race([ended, sleep(POWEROFF_TIMEOUT_MS).then(() => "timeout")]);
    if (status !== NSPAWN_REBOOT_STATUS) {
      throw new Error(
        `${this.name}: expected nspawn to end with the reboot status ${NSPAWN_REBOOT_STATUS}, got ${String(status)}:\n${this.consoleTail()}`,
      );
    }
    this.initPid = 0;
    this.nspawn = undefined;
    await this.startContainer();
    await this.waitBooted(timeoutMs);
  }

  /** The journal of every boot of this host (the rootfs keeps it on disk), oldest first. */
  async journal(): Promise<string> {
    if (!this.initPid) return `${this.name} is down; console:\n${this.consoleTail(200)}`;
    return this.exec("journalctl", ["--no-pager", "-o", "short-iso-precise"], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
  }

  private async journalTail(lines: number): Promise<string> {
    return this.exec("journalctl", ["--no-pager", "-o", "short-iso", "-n", String(lines)], {
      allowFailure: true,
    });
  }

  private consoleTail(lines = 30): string {
    try {
      const text = fs.readFileSync(path.join(this.dir, "console.log"), "utf8");
      return text.trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  /**
   * A clean poweroff (nspawn turns SIGTERM into the container's poweroff), killed after a bound;
   * then the overlay is unmounted and the host's cgroups removed.
   */
  async shutdown(): Promise<void> {
    const child = this.nspawn;
    if (child?.pid && this.ended) {
      signal(child.pid, "SIGTERM");
      const done = await Promise.race([this.ended.then(() => true), sleep(POWEROFF_TIMEOUT_MS)]);
      if (done !== true) {
        if (this.initPid) signal(this.initPid, "SIGKILL");
        signal(child.pid, "SIGKILL");
        await Promise.race([this.ended, sleep(5_000)]);
      }
    }
    this.nspawn = undefined;
    this.ended = undefined;
    this.initPid = 0;
    await unmountUnder(this.dir);
    removeCgroups(this.name);
  }
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

function readComm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

// ---- cgroups ---------------------------------------------------------------------------------

/**
 * The cgroup hierarchies a container's systemd writes to: cgroup2 mounts (the unified hierarchy,
 * or the whole tree on a cgroup2-only machine) and the named v1 "systemd" hierarchy.
 */
function cgroupHierarchies(): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [left, right] = line.split(" - ");
    if (!right) continue;
    const mountPoint = left.split(" ")[4];
    const [fstype, , superOptions = ""] = right.split(" ");
    if (fstype === "cgroup2") out.push(mountPoint);
    else if (fstype === "cgroup" && superOptions.split(",").includes("name=systemd")) {
      out.push(mountPoint);
    }
  }
  return out;
}

function ensureCgroups(host: HostName): string[] {
  return cgroupHierarchies().map((h) => {
    const dir = path.join(h, CGROUP_PARENT, host);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  });
}

/** Removes a cgroup tree, deepest first (a cgroup goes once it has no process and no child). */
function removeCgroupTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroupTree(path.join(dir, entry.name));
  }
  try {
    fs.rmdirSync(dir);
  } catch {
    // still has a process: left for the next cleanup
  }
}

function removeCgroups(host?: HostName): void {
  for (const h of cgroupHierarchies()) {
    removeCgroupTree(host ? path.join(h, CGROUP_PARENT, host) : path.join(h, CGROUP_PARENT));
  }
}

// ---- leftovers -------------------------------------------------------------------------------

/** Mount points at or under `dir` in this machine's mount namespace, deepest first. */
function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

async function unmountUnder(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) {
    const ok = await run("umount", [m], { allowFailure: true, timeoutMs: 10_000 }).then(
      () => !mountsUnder(m).includes(m),
    );
    if (!ok) await run("umount", ["-l", m], { allowFailure: true, timeoutMs: 10_000 });
  }
}

/** systemd-nspawn processes of this lab's containers (by machine name), host-side pids. */
function labContainers(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (
        path.basename(argv[0]) === "systemd-nspawn" &&
        argv.some((a) => a.startsWith(`--machine=${PREFIX}`))
      ) {
        pids.push(Number(entry));
      }
    } catch {
      // exited while scanning
    }
  }
  return pids;
}

/**
 * What a crashed run's systemd hosts left: containers still running (powered off, killed after a
 * bound), overlays mounted under E2E_DIR, the lab's cgroups. Runs before E2E_DIR is removed.
 */
export async function stopLeftoverContainers(): Promise<void> {
  const running = labContainers();
  for (const pid of running) signal(pid, "SIGTERM");
  const deadline = Date.now() + POWEROFF_TIMEOUT_MS;
  while (running.some(isAlive) && Date.now() < deadline) await sleep(100);
  for (const pid of running.filter(isAlive)) {
    for (const child of childPids(pid)) signal(child, "SIGKILL");
    signal(pid, "SIGKILL");
  }
  await waitFor("leftover containers to exit", () => !running.some(isAlive), 10_000, 50).catch(
    () => undefined,
  );
  await unmountUnder(E2E_DIR);
  removeCgroups();
}
