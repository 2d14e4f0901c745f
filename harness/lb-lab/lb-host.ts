/**
 * A load-balancer host: its own netns, plus its own mount and pid namespaces held open by a
 * "holder" process (pid 1 of the host). Private /run, /etc/haproxy, /etc/keepalived, /etc/nginx
 * and /var/log/nginx, and /etc/passwd and /etc/group with the user KeepAlived runs the check script
 * as (harness/lb-lab/script-user.ts); a private pid namespace so `killall -0 haproxy` sees only this host's
 * HAProxy, as on a real machine. Killing the holder kills every daemon on the host.
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { createHostCgroup, createUnitCgroup, inCgroup } from "./cgroups";
import { API_PORT, HOST_IF, LbHostName, PREFIX_LENGTH, VIP, nsName } from "./constants";
import {
  childPids,
  isAlive,
  parentPid,
  pidsInPidNamespace,
  signal,
  startLogged,
} from "../shared/processes";
import { bindScriptUserFiles, writeScriptUserFiles } from "./script-user";
import { run, sleep, waitFor } from "../shared/sh";
import { SupervisionPolicy, SupervisorReproduction } from "./supervisor";
import { setLink } from "./topology";

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
  /** Set: every daemon runs under a supervisor reproduction (harness/lb-lab/supervisor.ts) with it. */
  supervision?: SupervisionPolicy;
  readonly supervisors = new Map<Daemon, SupervisorReproduction>();
  private cgroup = "";

  constructor(
    readonly name: LbHostName,
    labDir: string,
  ) {
    this.dir = path.join(labDir, name);
  }

  /** Fresh host: empty private trees, new mount + pid namespaces. */
  /** `scriptUser`: whether the host has the user the program's check step creates. */
  async boot(opts: { scriptUser?: boolean } = {}): Promise<void> {
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
    writeScriptUserFiles(this.dir, undefined, opts.scriptUser ?? true);
    await this.powerOn();
  }

  /**
   * Starts the host's pid 1 on the files it has (its "disk"): fresh /run, new mount and pid
   * namespaces, every process in the host's cgroup. boot() prepares the files first.
   */
  async powerOn(): Promise<void> {
    this.cgroup = createHostCgroup(this.name);
    const mounts = Object.entries(PRIVATE_DIRS)
      .map(([sub, target]) => `mount --bind ${path.join(this.dir, sub)} ${target}`)
      .concat(
        bindScriptUserFiles({
          passwd: path.join(this.dir, "passwd"),
          group: path.join(this.dir, "group"),
        }),
      )
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
    const [cmd, argv] = inCgroup(this.cgroup, ["ip", ...args]);
    const holder = startLogged(cmd, argv, path.join(this.dir, "holder.log"));
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

  /** The host's cgroup directory (its busy loops join it). */
  get cgroupDir(): string {
    if (!this.cgroup) throw new Error(`${this.name} is not booted`);
    return this.cgroup;
  }

  /** Starts the daemon's main process in its unit's cgroup, inside the host; returns its launcher. */
  launch(daemon: Daemon): ChildProcess {
    const args = ["-t", String(this.initPid), "-m", "-n", "-p", "--", ...DAEMON_ARGV[daemon]];
    const unit = createUnitCgroup(this.name, unitName(daemon));
    const [cmd, argv] = inCgroup(unit, ["nsenter", ...args]);
    const launcher = startLogged(cmd, argv, path.join(this.dir, `${daemon}.log`));
    this.launchers.push(launcher);
    return launcher;
  }

  /** Starts a daemon as at boot: under the supervisor reproduction when the host has supervision. */
  startDaemon(daemon: Daemon): void {
    if (!this.supervision) {
      this.launch(daemon);
      return;
    }
    let supervisor = this.supervisors.get(daemon);
    if (!supervisor) {
      supervisor = new SupervisorReproduction(
        {
          unit: unitName(daemon),
          launch: () => this.launch(daemon),
          cgroup: createUnitCgroup(this.name, unitName(daemon)),
        },
        this.supervision,
      );
      this.supervisors.set(daemon, supervisor);
    }
    supervisor.start();
  }

  /**
   * A requested stop (`systemctl stop`): SIGTERM to the daemon's processes, waits until they are
   * gone (SIGKILL after 10 s). A supervised daemon is not restarted afterwards.
   */
  async stopDaemon(daemon: Daemon): Promise<void> {
    const supervisor = this.supervisors.get(daemon);
    if (supervisor) {
      await supervisor.stop();
      return;
    }
    for (const pid of this.pids(daemon)) signal(pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (this.pids(daemon).length > 0 && Date.now() < deadline) await sleep(20);
    for (const pid of this.pids(daemon)) signal(pid, "SIGKILL");
    await waitFor(
      `${daemon} on ${this.name} to exit`,
      () => this.pids(daemon).length === 0,
      5_000,
      20,
    );
  }

  /** The daemon's main process (host-side pid): the one whose parent is not the same daemon. */
  mainPid(daemon: Daemon): number | undefined {
    const pids = this.pids(daemon);
    return pids.find((pid) => !pids.includes(parentPid(pid)));
  }

  /** `systemctl reload` for KeepAlived (Debian's ExecReload: kill -HUP $MAINPID). */
  reloadDaemon(daemon: Daemon): void {
    const main = this.mainPid(daemon);
    if (main === undefined) throw new Error(`no ${daemon} running on ${this.name}`);
    signal(main, "SIGHUP");
  }

  /** Child processes of the daemon's own processes (KeepAlived's VRRP process, HAProxy's workers). */
  childPids(daemon: Daemon): number[] {
    const pids = this.pids(daemon);
    return pids.filter((pid) => pids.includes(parentPid(pid)));
  }

  /**
   * Starts `count` busy loops inside the host (its namespaces and cgroup) that end by themselves
   * after `ms`; resolves when all have ended (killed if still there 5 s past their end).
   */
  async busyLoops(count: number, ms: number): Promise<void> {
    const seconds = (ms / 1000).toFixed(1);
    const loops = Array.from({ length: count }, () => {
      const [cmd, argv] = inCgroup(this.cgroupDir, [
        "nsenter",
        ...["-t", String(this.initPid), "-m", "-n", "-p", "--"],
        ...["timeout", seconds, "sh", "-c", "while :; do :; done"],
      ]);
      return startLogged(cmd, argv, path.join(this.dir, "busy.log"));
    });
    await Promise.all(
      loops.map(
        (loop) =>
          new Promise<void>((resolve) => {
            if (loop.exitCode !== null || loop.signalCode !== null) return resolve();
            const guard = setTimeout(() => loop.kill("SIGKILL"), ms + 5_000);
            loop.once("exit", () => {
              clearTimeout(guard);
              resolve();
            });
          }),
      ),
    );
  }

  /** Host-side pid of KeepAlived's VRRP process, from its pid file inside the host. */
  keepalivedVrrpPid(): number | undefined {
    let inHost: number;
    try {
      inHost = Number(fs.readFileSync(this.hostPath("/run/keepalived_vrrp.pid"), "utf8").trim());
    } catch {
      return undefined;
    }
    return this.pids("keepalived").find((pid) => nsPid(pid) === inHost);
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

  /**
   * Power off: the link goes down and every process of the host is SIGKILLed at once, its
   * supervisor with it. What lived in its RAM is gone: the VIP leaves its interface (a SIGKILLed
   * KeepAlived leaves it there, which a real power-off does not). Its files stay.
   */
  async powerOff(): Promise<void> {
    await Promise.all([setLink(this.name, false), this.shutdown()]);
    await flushVip(this.name);
  }

  /** Kills pid 1 of the host's pid namespace: the kernel then kills every daemon on the host. */
  async shutdown(): Promise<void> {
    for (const supervisor of this.supervisors.values()) supervisor.abandon();
    this.supervisors.clear();
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

/** The VIP off the host's interface, as after a reboot (no-op when it is not there). */
export async function flushVip(host: LbHostName): Promise<void> {
  await run("ip", ["-n", nsName(host), "addr", "del", `${VIP}/${PREFIX_LENGTH}`, "dev", HOST_IF], {
    allowFailure: true,
  });
}

const DAEMON_ARGV: Record<Daemon, string[]> = {
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

export function unitName(daemon: Daemon): string {
  return `${daemon}.service`;
}

/** The process runs SCHED_RR or SCHED_FIFO (field 41 of /proc/<pid>/stat). */
export function isRealtime(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const policy = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[41 - 3]);
    return policy === 1 || policy === 2;
  } catch {
    return false;
  }
}

/** The process's nice value (field 19 of /proc/<pid>/stat); null when it is gone. */
export function niceOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19 - 3]);
  } catch {
    return null;
  }
}

/** The pid a host-side process has inside its own (innermost) pid namespace. */
function nsPid(pid: number): number {
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("NSpid:"));
    const ids = line?.split(/\s+/).slice(1).filter(Boolean) ?? [];
    return Number(ids[ids.length - 1]);
  } catch {
    return 0;
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
