/**
 * A load-balancer host: its own netns, plus its own mount and pid namespaces held open by a
 * "holder" process (pid 1 of the host). Private /run, /etc/haproxy, /etc/keepalived, /etc/nginx
 * and /var/log/nginx, and /etc/passwd and /etc/group with the user KeepAlived runs the check script
 * as (lab/script-user.ts); a private pid namespace so `killall -0 haproxy` sees only this host's
 * HAProxy, as on a real machine. Killing the holder kills every daemon on the host.
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { API_PORT, LbHostName, nsName } from "./constants";
import { childPids, isAlive, pidsInPidNamespace, signal, startLogged } from "./processes";
import { bindScriptUserFiles, writeScriptUserFiles } from "./script-user";
import { run, waitFor } from "./sh";

/** Name of the host's pid 1 (a reaper), as /proc/<pid>/comm shows it. */
const INIT_NAME = "lab-host-init";

export type Daemon = "haproxy" | "keepalived" | "nginx";

const PRIVATE_DIRS = {
  "etc-haproxy": "/etc/haproxy",
  "etc-keepalived": "/etc/keepalived",
  "etc-nginx": "/etc/nginx",
  "var-log-nginx": "/var/log/nginx",
} as const;

export class LbHost {
  readonly dir: string;
  private holder?: ChildProcess;
  private initPid = 0;
  /** nsenter processes that started daemons; each waits for its daemon. */
  private launchers: ChildProcess[] = [];

  constructor(
    readonly name: LbHostName,
    labDir: string,
  ) {
    this.dir = path.join(labDir, name);
  }

  /** Fresh host: empty private trees, new mount + pid namespaces. */
  async boot(): Promise<void> {
    await this.shutdown();
    fs.rmSync(this.dir, { recursive: true, force: true });
    for (const sub of Object.keys(PRIVATE_DIRS)) {
      fs.mkdirSync(path.join(this.dir, sub), { recursive: true, mode: 0o755 });
    }
    // Debian's haproxy.cfg names errorfiles under /etc/haproxy/errors.
    fs.cpSync("/etc/haproxy/errors", path.join(this.dir, "etc-haproxy", "errors"), {
      recursive: true,
    });
    // Debian's libnginx-mod-stream load_module line lives here (symlinks, copied as such).
    fs.cpSync("/etc/nginx/modules-enabled", path.join(this.dir, "etc-nginx", "modules-enabled"), {
      recursive: true,
      verbatimSymlinks: true,
    });
    const mounts = Object.entries(PRIVATE_DIRS)
      .map(([sub, target]) => `mount --bind ${path.join(this.dir, sub)} ${target}`)
      .concat(bindScriptUserFiles(writeScriptUserFiles(this.dir)))
      .join("\n");
    const script = [
      "set -e",
      "mount -t tmpfs -o mode=755 tmpfs /run",
      "mkdir -p /run/haproxy /run/keepalived /run/nginx",
      mounts,
      // pid 1 must reap orphans as systemd does: HAProxy workers whose master was killed would
      // otherwise linger as zombies, and `killall -0 haproxy` counts zombies as running.
      `exec perl -e '$0 = "${INIT_NAME}"; while (1) { select(undef, undef, undef, 0.05) if wait == -1 }'`,
    ].join("\n");
    const args = ["netns", "exec", nsName(this.name), "unshare", "--mount", "--pid", "--fork"];
    args.push("--mount-proc", "--propagation", "private", "sh", "-c", script);
    const holder = startLogged("ip", args, path.join(this.dir, "holder.log"));
    this.holder = holder;
    await waitFor(
      `${this.name}'s namespace holder`,
      () => {
        const init = childPids(holder.pid ?? 0)[0];
        if (!init || readComm(init) !== INIT_NAME) return false;
        this.initPid = init;
        return true;
      },
      10_000,
      20,
    );
  }

  /** A path as seen inside the host's mount namespace, reachable from outside through /proc. */
  hostPath(p: string): string {
    if (!this.initPid) throw new Error(`${this.name} is not booted`);
    return `/proc/${this.initPid}/root${p}`;
  }

  /** Writes a file into one of the host's private trees, e.g. ("etc-haproxy", "haproxy.cfg"). */
  writeFile(tree: keyof typeof PRIVATE_DIRS, name: string, content: string, mode = 0o644): void {
    const file = path.join(this.dir, tree, name);
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
  }

  /** Runs a command inside the host (its netns, mount ns and pid ns) and waits for it. */
  exec(cmd: string, args: string[]): Promise<string> {
    return run("nsenter", ["-t", String(this.initPid), "-m", "-n", "-p", "--", cmd, ...args]);
  }

  startDaemon(daemon: Daemon): void {
    const argv: Record<Daemon, string[]> = {
      haproxy: ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy.pid"],
      keepalived: [
        "keepalived",
        "--dont-fork",
        "--log-console",
        "--log-detail",
        "--vrrp",
        "-f",
        "/etc/keepalived/keepalived.conf",
        "--pid",
        "/run/keepalived.pid",
        "--vrrp_pid",
        "/run/keepalived_vrrp.pid",
      ],
      nginx: ["nginx", "-g", "daemon off;", "-c", "/etc/nginx/nginx.conf"],
    };
    const args = ["-t", String(this.initPid), "-m", "-n", "-p", "--", ...argv[daemon]];
    this.launchers.push(startLogged("nsenter", args, path.join(this.dir, `${daemon}.log`)));
  }

  async waitListening(what: string, port = API_PORT): Promise<void> {
    await waitFor(
      `${what} listening on ${this.name}:${port}`,
      async () => (await this.exec("ss", ["-Hltn", `sport = :${port}`])).trim() !== "",
      10_000,
      50,
    );
  }

  /** Host-side pids of a daemon's processes (master and workers) on this host. */
  pids(daemon: Daemon): number[] {
    return this.initPid ? pidsInPidNamespace(this.initPid, daemon) : [];
  }

  signalDaemon(daemon: Daemon, sig: NodeJS.Signals): number {
    const pids = this.pids(daemon);
    if (pids.length === 0) throw new Error(`no ${daemon} running on ${this.name}`);
    for (const pid of pids) signal(pid, sig);
    return pids.length;
  }

  log(daemon: Daemon): string {
    const file = path.join(this.dir, `${daemon}.log`);
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  }

  /** Kills pid 1 of the host's pid namespace: the kernel then kills every daemon on the host. */
  async shutdown(): Promise<void> {
    const init = this.initPid;
    if (init) {
      // nsenter stops itself when its child stops (it mirrors job control) and must be running
      // to reap the daemon; the namespace's init cannot finish exiting before that.
      const stopped = pidsInPidNamespace(init, "haproxy").concat(pidsInPidNamespace(init, "nginx"));
      for (const pid of stopped) signal(pid, "SIGCONT");
      for (const launcher of this.launchers) if (launcher.pid) signal(launcher.pid, "SIGCONT");
      signal(init, "SIGKILL");
      await waitFor(`${this.name}'s daemons to exit`, () => !isAlive(init), 10_000, 20).catch(
        (err: Error) => {
          throw new Error(`${err.message}; left: ${describeProcesses(init)}`);
        },
      );
    }
    if (this.holder?.pid) signal(this.holder.pid, "SIGKILL");
    this.holder = undefined;
    this.launchers = [];
    this.initPid = 0;
  }
}

function describeProcesses(init: number): string {
  const ns = fs.readlinkSync(`/proc/${init}/ns/pid`);
  return fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return fs.readlinkSync(`/proc/${e}/ns/pid`) === ns;
      } catch {
        return false;
      }
    })
    .map((e) => {
      try {
        return `${e}:${fs.readFileSync(`/proc/${e}/stat`, "utf8").split(" ").slice(1, 4).join(" ")}`;
      } catch {
        return e;
      }
    })
    .join(", ");
}

function readComm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}
