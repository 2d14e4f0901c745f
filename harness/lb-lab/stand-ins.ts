/** The three K3s server stand-ins (TLS servers on 6443, not K3s), each in its own netns. */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { API_PORT, HOST_ADDRESSES, StandInName, nsName } from "./constants";
import { CertPaths } from "./certs";
import { isAlive, signal, startLogged } from "../shared/processes";
import { waitFor } from "../shared/sh";

export class StandIns {
  private readonly procs = new Map<StandInName, ChildProcess>();

  constructor(
    private readonly script: string,
    private readonly cert: CertPaths,
    private readonly logDir: string,
  ) {}

  async start(name: StandInName): Promise<void> {
    if (this.isRunning(name)) return;
    const log = path.join(this.logDir, `${name}.log`);
    const before = fs.existsSync(log) ? fs.readFileSync(log, "utf8").length : 0;
    const args = ["netns", "exec", nsName(name), process.execPath, this.script];
    args.push("--name", name, "--cert", this.cert.cert, "--key", this.cert.key);
    args.push("--port", String(API_PORT));
    this.procs.set(name, startLogged("ip", args, log));
    await waitFor(
      `K3s server stand-in ${name} on ${HOST_ADDRESSES[name]}:${API_PORT}`,
      () => fs.readFileSync(log, "utf8").slice(before).includes(`ready ${name}`),
      10_000,
      50,
    );
  }

  /** pid of the stand-in's node process (`ip netns exec` execs in place). */
  pid(name: StandInName): number {
    const pid = this.procs.get(name)?.pid;
    if (!pid || !isAlive(pid)) throw new Error(`K3s server stand-in ${name} is not running`);
    return pid;
  }

  isRunning(name: StandInName): boolean {
    const pid = this.procs.get(name)?.pid;
    const proc = this.procs.get(name);
    return pid !== undefined && isAlive(pid) && proc?.exitCode === null && proc.signalCode === null;
  }

  kill(name: StandInName): void {
    signal(this.pid(name), "SIGKILL");
  }

  hang(name: StandInName): void {
    signal(this.pid(name), "SIGSTOP");
  }

  /**
   * Restores a stand-in to a fresh, serving process. A hung one is killed rather than resumed:
   * resuming would replay the backlog of connections queued while it hung into the next run.
   */
  async restore(name: StandInName): Promise<void> {
    const proc = this.procs.get(name);
    if (proc?.pid && proc.exitCode === null && proc.signalCode === null) {
      if (readState(proc.pid) !== "T") return;
      signal(proc.pid, "SIGKILL");
      signal(proc.pid, "SIGCONT");
      await waitFor(
        `stand-in ${name} to exit`,
        () => proc.exitCode !== null || proc.signalCode !== null,
        5_000,
        20,
      );
    }
    await this.start(name);
  }

  stopAll(): void {
    for (const proc of this.procs.values()) {
      if (proc.pid && proc.exitCode === null) {
        signal(proc.pid, "SIGCONT");
        signal(proc.pid, "SIGKILL");
      }
    }
    this.procs.clear();
  }
}

/** Process state letter from /proc (R, S, T for stopped, ...). */
function readState(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] ?? "";
  } catch {
    return "";
  }
}
