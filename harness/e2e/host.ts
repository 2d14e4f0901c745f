/**
 * A lab host, as the suites see it: a name, an address on the lab bridge, a pinned host key, a
 * directory on this machine, commands run inside it, its files through /proc, its processes.
 * Two kinds share this surface:
 * - SystemdHost (harness/e2e/systemd-host.ts): a container booting systemd, sshd a unit; every K3s host
 *   and lb-1;
 * - NetnsHost (below): a network namespace with private mount, UTS and pid namespaces held by its
 *   sshd, and no init system, so scripts take their `service` fallback; lb-2 and the mirror.
 *
 *   await host.boot();  host.exec("ip", ["addr"]);  fs.readFileSync(host.hostPath("/etc/hosts"));
 *   host.pids("haproxy");  await host.journal();  await host.reboot();  await host.shutdown();
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { E2E_DIR, HOST_ADDRESSES, HostName, SUDO_USER, nsName } from "./constants";
import { childPids, isAlive, pidsInPidNamespace, signal, startLogged } from "../shared/processes";
import { run, waitFor } from "../shared/sh";
import { K3S_HA_STATE_DIR } from "../../components/host/script";
import { generateHostKey, renderSshdConfig } from "./sshd";

/** Private trees: directory in the host's folder → where the host sees it, and what it starts with. */
export const PRIVATE_TREES: { sub: string; target: string; copyFrom?: string }[] = [
  { sub: "etc-rancher", target: "/etc/rancher" },
  { sub: "var-lib-rancher", target: "/var/lib/rancher" },
  { sub: "etc-haproxy", target: "/etc/haproxy", copyFrom: "/etc/haproxy" },
  { sub: "etc-keepalived", target: "/etc/keepalived", copyFrom: "/etc/keepalived" },
  { sub: "etc-nginx", target: "/etc/nginx", copyFrom: "/etc/nginx" },
  { sub: "var-log-nginx", target: "/var/log/nginx" },
  { sub: "etc-init.d", target: "/etc/init.d", copyFrom: "/etc/init.d" },
  { sub: "usr-local-bin", target: "/usr/local/bin" },
  { sub: "etc-sudoers.d", target: "/etc/sudoers.d", copyFrom: "/etc/sudoers.d" },
  // The program's own state on a host (install records, restart markers).
  { sub: "var-lib-k3s-ha", target: K3S_HA_STATE_DIR },
];

export const MOUNTPOINTS = PRIVATE_TREES.map((t) => t.target);

export interface ExecOptions {
  /** Resolve with "" instead of rejecting when the command fails. */
  allowFailure?: boolean;
  /** Bound on the command (default 30 s). */
  timeoutMs?: number;
}

export abstract class E2eHost {
  readonly dir: string;
  readonly address: string;
  /** Public host key as known_hosts holds it; set by boot(). */
  hostKey = "";
  /** Whether the host runs systemd (a container) or no init at all (a network namespace). */
  abstract readonly kind: "systemd" | "netns";
  /** Host-side pid of the host's pid 1; 0 while it is down. */
  protected initPid = 0;

  constructor(readonly name: HostName) {
    this.dir = path.join(E2E_DIR, "hosts", name);
    this.address = HOST_ADDRESSES[name];
  }

  /** A fresh host (nothing of a previous boot), sshd listening on its address. */
  abstract boot(): Promise<void>;
  /** Stops every process of the host and releases what boot() made outside E2E_DIR. */
  abstract shutdown(): Promise<void>;
  /**
   * A clean reboot: the host's own shutdown, then its boot with its disk kept; returns once sshd
   * answers and the boot finished. Services come back only if the host starts them by itself.
   */
  abstract reboot(): Promise<void>;
  /** The host's log: a systemd host's journal (every boot), a namespace host's log files. */
  abstract journal(): Promise<string>;
  /** The command line prefix that runs a command inside the host. */
  protected abstract enter(): string[];

  /** Host-side pid of the host's pid 1 (systemd, or the namespace host's sshd). */
  get pid1(): number {
    if (!this.initPid) throw new Error(`${this.name} is not booted`);
    return this.initPid;
  }

  /** A path as seen inside the host's mount namespace, reachable from outside through /proc. */
  hostPath(p: string): string {
    return `/proc/${this.pid1}/root${p}`;
  }

  /** Runs a command inside the host (all its namespaces) and waits for it (default bound 30 s). */
  exec(cmd: string, args: string[], opts: ExecOptions = {}): Promise<string> {
    const [enter, ...rest] = this.enter();
    return run(enter, [...rest, cmd, ...args], opts);
  }

  /** Starts a long-running process inside the host, its output appended to a log in the host dir. */
  spawn(logName: string, cmd: string, args: string[]): ChildProcess {
    const [enter, ...rest] = this.enter();
    return startLogged(enter, [...rest, cmd, ...args], path.join(this.dir, logName));
  }

  /** Host-side pids of processes named `comm` on this host. */
  pids(comm: string): number[] {
    return this.initPid ? pidsInPidNamespace(this.initPid, comm) : [];
  }
}

/**
 * A host without an init system: its own netns plus mount, UTS and pid namespaces held by its
 * sshd, which runs as pid 1 of the host (sshd reaps every exited child, so daemons that init
 * scripts detach do not linger as zombies). It shares this machine's file system but for private
 * /run, /tmp, /etc/rancher, /var/lib/rancher, /etc/haproxy, /etc/keepalived, /etc/nginx,
 * /var/log/nginx, /etc/init.d, /usr/local/bin, /etc/sudoers.d, /etc/hosts and the program's state
 * directory; /etc itself is an overlay over this machine's, so what the program changes there
 * (the user KeepAlived's check runs as, which useradd writes by renaming files) stays on the host.
 * Killing pid 1 kills every process on it.
 */
export class NetnsHost extends E2eHost {
  readonly kind = "netns";
  private holder?: ChildProcess;

  /** Fresh host: private trees from the distribution's files, a new host key, sshd listening. */
  async boot(): Promise<void> {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    for (const tree of PRIVATE_TREES) {
      const dest = path.join(this.dir, tree.sub);
      if (tree.copyFrom) {
        fs.cpSync(tree.copyFrom, dest, {
          recursive: true,
          verbatimSymlinks: true,
          preserveTimestamps: true,
        });
      }
      fs.mkdirSync(dest, { recursive: true, mode: 0o755 });
    }
    const sudoers = path.join(this.dir, "etc-sudoers.d", "k3sha-e2e");
    fs.writeFileSync(sudoers, `${SUDO_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
    const hosts = `127.0.0.1 localhost\n127.0.1.1 ${this.name}\n`;
    fs.writeFileSync(path.join(this.dir, "hosts"), hosts, { mode: 0o644 });
    this.hostKey = await generateHostKey(this.dir, this.name);
    const sshdConfig = path.join(this.dir, "sshd_config");
    fs.writeFileSync(sshdConfig, renderSshdConfig(this.dir, this.address), { mode: 0o644 });

    const mounts = PRIVATE_TREES.map(
      (t) => `mount --bind ${path.join(this.dir, t.sub)} ${t.target}`,
    );
    const etc = { upper: path.join(this.dir, "etc-upper"), work: path.join(this.dir, "etc-work") };
    for (const dir of Object.values(etc)) fs.mkdirSync(dir, { mode: 0o755 });
    const script = [
      "set -e",
      "mount -t tmpfs -o mode=755 tmpfs /run",
      "mkdir -p /run/sshd /run/lock",
      "mount -t tmpfs -o mode=1777 tmpfs /tmp",
      // First: the private trees below are bound onto directories of the overlay.
      `mount -t overlay overlay -o lowerdir=/etc,upperdir=${etc.upper},workdir=${etc.work} /etc`,
      ...mounts,
      `mount --bind ${path.join(this.dir, "hosts")} /etc/hosts`,
      `hostname ${this.name}`,
      `exec /usr/sbin/sshd -D -e -f ${sshdConfig}`,
    ].join("\n");
    const args = ["netns", "exec", nsName(this.name), "unshare", "--mount", "--uts", "--pid"];
    args.push("--fork", "--mount-proc", "--propagation", "private", "sh", "-c", script);
    const holder = startLogged("ip", args, path.join(this.dir, "sshd.log"));
    this.holder = holder;
    await waitFor(
      `${this.name}'s sshd to start`,
      () => {
        const init = childPids(holder.pid ?? 0)[0];
        if (!init || readComm(init) !== "sshd") return false;
        this.initPid = init;
        return true;
      },
      10_000,
      20,
    );
    await waitFor(
      `${this.name}'s sshd listening on ${this.address}:22`,
      async () => (await this.exec("ss", ["-Hltn", "sport = :22"])).trim() !== "",
      10_000,
      50,
    );
  }

  protected enter(): string[] {
    return ["nsenter", "-t", String(this.pid1), "-m", "-n", "-p", "-u", "--"];
  }

  /** No init system: nothing would start the host's services again, so there is no reboot. */
  reboot(): Promise<void> {
    return Promise.reject(
      new Error(`${this.name} has no init system: a reboot would bring back no service`),
    );
  }

  /** The host's log files (sshd's, and whatever was spawned on it), each under its name. */
  journal(): Promise<string> {
    const logs = fs.existsSync(this.dir)
      ? fs.readdirSync(this.dir).filter((f) => f.endsWith(".log"))
      : [];
    return Promise.resolve(
      logs
        .map((f) => `==> ${f} <==\n${fs.readFileSync(path.join(this.dir, f), "utf8")}`)
        .join("\n"),
    );
  }

  /** Kills pid 1 of the host's pid namespace: the kernel then kills every process on the host. */
  async shutdown(): Promise<void> {
    const init = this.initPid;
    if (init) {
      signal(init, "SIGKILL");
      await waitFor(`${this.name}'s processes to exit`, () => !isAlive(init), 10_000, 20);
    }
    if (this.holder?.pid) signal(this.holder.pid, "SIGKILL");
    this.holder = undefined;
    this.initPid = 0;
  }
}

function readComm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}
