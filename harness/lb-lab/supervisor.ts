/**
 * Supervisor reproduction: what systemd does for a unit with the program's drop-in
 * (components/lb/supervision.ts: Restart=always, RestartSec, StartLimitIntervalSec,
 * StartLimitBurst) and the default KillMode=control-group, for a daemon on an LB host. The lab's
 * hosts run no systemd, so this restarts the daemon from outside, inside the host's namespaces and
 * its unit cgroup, as LbHost.startDaemon starts it.
 *
 * What systemd does, and where (src/core/service.c unless named):
 * - The main process exits while the unit runs: service_sigchld_event -> service_enter_running,
 *   which finds the main pid gone and calls service_enter_stop; with no ExecStop= that is
 *   service_enter_signal(SERVICE_STOP_SIGTERM): KillMode=control-group (systemd.kill(5)) sends
 *   SIGTERM (plus SIGCONT) to every process left in the unit's cgroup, and SIGKILL to what is still
 *   there after TimeoutStopSec= (default 90 s).
 * - Then service_enter_dead asks service_shall_restart: never after a requested stop
 *   (forbid_restart, set by `systemctl stop`); with Restart=always after any exit, with
 *   Restart=on-failure after any but a clean one: exit status 0, or SIGHUP, SIGINT, SIGTERM or
 *   SIGPIPE (systemd.service(5); the units set no SuccessExitStatus=).
 *   The restart runs RestartSec= later (service_enter_restart arms the timer).
 * - Each start passes the unit's start rate limit first (unit_test_start_limit in src/core/unit.c,
 *   ratelimit_below in src/basic/ratelimit.c): at most StartLimitBurst= starts in a window of
 *   StartLimitIntervalSec= that opens at the first start; one more and the unit fails with
 *   "start-limit-hit" and is not restarted again (systemd.unit(5)).
 *
 * Not reproduced: ExecStartPre/ExecStop/ExecReload hooks, Type=notify readiness, watchdogs,
 * RestartSteps=, restarting after the lab's own host shutdown (a powered-off host's systemd is
 * gone with it).
 */
import { ChildProcess } from "child_process";
import { cgroupPids } from "./cgroups";
import { signal } from "../shared/processes";
import { sleep } from "../shared/sh";

/** The values of the program's drop-in (SUPERVISION in components/lb/supervision.ts). */
export interface SupervisionPolicy {
  restart: "always" | "on-failure";
  restartSec: number;
  startLimitIntervalSec: number;
  startLimitBurst: number;
}

/** systemd's DefaultTimeoutStopSec (systemd-system.conf(5)); the units set no TimeoutStopSec. */
export const DEFAULT_TIMEOUT_STOP_MS = 90_000;

export type UnitState = "running" | "stopping" | "auto-restart" | "failed" | "inactive";

export interface UnitEvent {
  at: number;
  event:
    "started" | "main-exited" | "sigterm-sent" | "sigkill-sent" | "start-limit-hit" | "stopped";
  detail?: string;
}

/** What the supervisor needs from the host: start the daemon, and the unit's cgroup. */
export interface SupervisedDaemon {
  unit: string;
  /** Starts the daemon's main process; the ChildProcess exits when it does. */
  launch(): ChildProcess;
  /** The unit's cgroup directory. */
  cgroup: string;
}

/** service_shall_restart() for the two Restart= values the program may set. */
export function shallRestart(
  restart: string,
  code: number | null,
  sig: NodeJS.Signals | null,
): boolean {
  if (restart === "always") return true;
  const clean =
    sig === null ? code === 0 : ["SIGHUP", "SIGINT", "SIGTERM", "SIGPIPE"].includes(sig);
  return !clean;
}

/** systemd's RateLimit: a window that opens at the first start and admits `burst` starts. */
export class StartRateLimit {
  private begin = 0;
  private num = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly burst: number,
  ) {}

  /** ratelimit_below(): true if this start is allowed (and counts it). */
  below(now: number): boolean {
    if (this.begin === 0 || now - this.begin > this.intervalMs) {
      this.begin = now;
      this.num = 0;
    }
    if (this.num < this.burst) {
      this.num++;
      return true;
    }
    return false;
  }
}

export class SupervisorReproduction {
  state: UnitState = "inactive";
  readonly events: UnitEvent[] = [];
  private readonly limit: StartRateLimit;
  private main?: ChildProcess;
  private restartTimer?: NodeJS.Timeout;
  /** Set by a requested stop (systemctl stop) and by the host going away: no more restarts. */
  private forbidRestart = false;
  private exited?: Promise<void>;
  /** The host went away: stop waiting for its processes. */
  private gone = false;

  constructor(
    private readonly daemon: SupervisedDaemon,
    private readonly policy: SupervisionPolicy,
    private readonly timeoutStopMs = DEFAULT_TIMEOUT_STOP_MS,
  ) {
    this.limit = new StartRateLimit(policy.startLimitIntervalSec * 1000, policy.startLimitBurst);
  }

  private note(event: UnitEvent["event"], detail?: string): void {
    this.events.push({ at: Date.now(), event, detail });
  }

  /** `systemctl start`: starts the main process unless the start limit was hit. */
  start(): void {
    this.forbidRestart = false;
    this.startMain();
  }

  private startMain(): void {
    if (!this.limit.below(Date.now())) {
      this.state = "failed";
      this.note("start-limit-hit");
      return;
    }
    const main = this.daemon.launch();
    this.main = main;
    this.state = "running";
    this.note("started", String(main.pid));
    this.exited = new Promise((resolve) => {
      main.once("exit", (code, sig) => {
        void this.onMainExit(main, code, sig).finally(resolve);
      });
    });
  }

  private async onMainExit(
    main: ChildProcess,
    code: number | null,
    sig: NodeJS.Signals | null,
  ): Promise<void> {
    if (main !== this.main) return;
    this.main = undefined;
    this.note("main-exited", sig ?? `status ${code}`);
    if (this.state === "stopping") return;
    this.state = "stopping";
    await this.killUnit();
    if (this.forbidRestart || !shallRestart(this.policy.restart, code, sig)) {
      this.state = "inactive";
      return;
    }
    this.state = "auto-restart";
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.forbidRestart) this.startMain();
    }, this.policy.restartSec * 1000);
  }

  /**
   * KillMode=control-group: SIGTERM and SIGCONT to the unit's processes (and the main process,
   * which may not have joined the group yet), SIGKILL to what is left after the stop timeout.
   */
  private async killUnit(main?: ChildProcess): Promise<void> {
    const mainAlive = () =>
      main !== undefined && main.exitCode === null && main.signalCode === null;
    const left = () => {
      const pids = cgroupPids(this.daemon.cgroup);
      return mainAlive() && main?.pid && !pids.includes(main.pid) ? [...pids, main.pid] : pids;
    };
    if (left().length === 0) return;
    for (const pid of left()) {
      signal(pid, "SIGTERM");
      signal(pid, "SIGCONT");
    }
    this.note("sigterm-sent", left().join(","));
    const deadline = Date.now() + this.timeoutStopMs;
    while (left().length > 0 && Date.now() < deadline && !this.gone) await sleep(20);
    if (left().length > 0 && !this.gone) {
      this.note("sigkill-sent", left().join(","));
      for (const pid of left()) signal(pid, "SIGKILL");
    }
  }

  /**
   * `systemctl stop`: no restart afterwards; SIGTERM to the main process and the rest of the unit,
   * SIGKILL after the timeout. Resolves when the unit is inactive.
   */
  async stop(): Promise<void> {
    this.forbidRestart = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const main = this.main;
    if (main) {
      this.state = "stopping";
      this.main = undefined;
      const exited = new Promise<void>((resolve) => {
        if (main.exitCode !== null || main.signalCode !== null) resolve();
        else main.once("exit", () => resolve());
      });
      await this.killUnit(main);
      await exited;
    } else {
      await this.exited;
    }
    this.state = "inactive";
    this.note("stopped");
  }

  /** The host lost power (or the lab shuts it down): systemd is gone too, nothing restarts. */
  abandon(): void {
    this.forbidRestart = true;
    this.gone = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  /** Restarts done so far (starts after the first). */
  get restarts(): number {
    return this.events.filter((e) => e.event === "started").length - 1;
  }
}
