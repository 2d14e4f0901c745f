/**
 * End to end, the LB daemons under the program's systemd drop-ins (components/lb/supervision.ts):
 * on lb-1 (systemd, the VIP holder) KeepAlived killed with SIGKILL, all of it or only its VRRP
 * child, and HAProxy killed, each come back by themselves, and the VIP is on two hosts for less
 * than a bound: a KeepAlived killed without supervision leaves the VIP on lb-1's interface, lb-2
 * takes it too once lb-1's adverts stop (Master_Down_Interval, ~0.9 s at 250 ms), and only a
 * KeepAlived started again on lb-1 removes the stale VIP. lb-2 has no init system: its step warns.
 * Switching the tier to Nginx removes the drop-ins. VIP holders are sampled from outside the
 * hosts (`ip -n <ns> addr`), every ~50 ms.
 */
import { expect } from "chai";
import { execFile } from "child_process";
import * as fs from "fs";
import {
  SUPERVISION,
  SupervisedService,
  supervisionDropInPath,
} from "../../components/lb/supervision";
import { HOST_IF, VIP, nsName } from "../../harness/e2e/constants";
import { stepNamed } from "../../harness/e2e/checks";
import { Evaluation, formatTimings, up } from "../../harness/e2e/executor";
import { E2eHost } from "../../harness/e2e/host";
import { exists, fileText } from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { sshExec } from "../../harness/e2e/ssh";
import { LabStack, labStack, stackVersion } from "../../harness/e2e/stack";
import { signal } from "../../harness/shared/processes";
import { sleep, waitFor } from "../../harness/shared/sh";

const STACK = "lb-supervision";
/** The bound the issue sets: the VIP on one host and the daemon active again. */
const RECOVERY_BOUND_MS = 6_000;
/**
 * How long each case watches after the kill: past lb-2's master-down interval (3 × advert_int +
 * skew ≈ 3.6 s), when lb-2 would take the VIP if lb-1's KeepAlived were not back.
 */
const WATCH_MS = 7_000;
/** After lb-2's KeepAlived restarted: its check's rise 2 at interval 1, and a margin. */
const LB2_READY_MS = 3_500;
/** The longest the VIP may be on both hosts at once in any case. */
const TWO_HOLDERS_BOUND_MS = 1_000;

/** `ip -n <ns> addr` of one host's lab interface: does it hold the VIP? */
function holdsVip(host: "lb-1" | "lb-2"): Promise<boolean> {
  return new Promise((resolve, reject) => {
    execFile(
      "ip",
      ["-n", nsName(host), "-o", "-4", "addr", "show", "dev", HOST_IF],
      { timeout: 2_000 },
      (err, stdout) =>
        err
          ? reject(new Error(`ip -n ${nsName(host)}: ${err.message}`))
          : resolve(stdout.includes(` ${VIP}/`)),
    );
  });
}

interface Sample {
  at: number;
  holders: string[];
}

/** Samples both LB hosts every ~50 ms until stopped. */
class VipSampler {
  readonly samples: Sample[] = [];
  private running?: Promise<void>;
  private stopping = false;

  start(): void {
    this.running = (async () => {
      // Bounded: a case stops it within WATCH_MS; 2,000 samples is over a minute.
      for (let i = 0; i < 2_000 && !this.stopping; i++) {
        const at = Date.now();
        const [one, two] = await Promise.all([holdsVip("lb-1"), holdsVip("lb-2")]);
        this.samples.push({ at, holders: [...(one ? ["lb-1"] : []), ...(two ? ["lb-2"] : [])] });
        await sleep(50);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  /** The longest run of consecutive samples with `n` holders, from its first to its last sample. */
  longest(n: number): number {
    let best = 0;
    let since: number | undefined;
    for (const s of this.samples) {
      if (s.holders.length === n) {
        since ??= s.at;
        best = Math.max(best, s.at - since);
      } else since = undefined;
    }
    return best;
  }

  /** When the VIP was last not on exactly one host (undefined: never). */
  lastNotSingle(): number | undefined {
    return [...this.samples].reverse().find((s) => s.holders.length !== 1)?.at;
  }

  summary(t0: number): string {
    const changes: string[] = [];
    let last = "";
    for (const s of this.samples) {
      const shown = s.holders.join("+") || "none";
      if (shown !== last) changes.push(`+${s.at - t0} ms: ${shown}`);
      last = shown;
    }
    return `${this.samples.length} samples; ${changes.join(", ")}`;
  }
}

interface UnitState {
  active: string;
  mainPid: number;
  nRestarts: number;
  restart: string;
}

async function unitState(host: E2eHost, service: string): Promise<UnitState> {
  const out = await host.exec("systemctl", [
    "show",
    "-p",
    "ActiveState",
    "-p",
    "MainPID",
    "-p",
    "NRestarts",
    "-p",
    "Restart",
    service,
  ]);
  const props = new Map(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return {
    active: props.get("ActiveState") ?? "",
    mainPid: Number(props.get("MainPID")),
    nRestarts: Number(props.get("NRestarts")),
    restart: props.get("Restart") ?? "",
  };
}

/** A process's pid in its own pid namespace (the last NSpid), and its parent's there. */
function nsPids(hostPid: number): { pid: number; ppid: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${hostPid}/status`, "utf8");
    const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1].trim().split(/\s+/);
    const ppid = /^PPid:\s+(\d+)$/m.exec(status)?.[1];
    if (!nspid || !ppid) return undefined;
    return { pid: Number(nspid[nspid.length - 1]), ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

interface Recovery {
  /** Kill to the daemon's unit active again (ms). */
  activeMs: number;
  /** Kill to the moment from which the VIP stayed on exactly one host (ms; 0: it never left). */
  singleHolderMs: number;
  twoHoldersMs: number;
  noHolderMs: number;
  before: UnitState;
  after: UnitState;
}

describe("e2e: systemd restarts the LB daemons the program supervises", function () {
  this.timeout(600_000);
  const lab = new E2eLab();
  let stack: LabStack;
  let fresh: Evaluation;
  const recoveries: Record<string, Recovery> = {};
  keepJournalsOfFailures(lab);

  async function run(s: LabStack, label: string): Promise<Evaluation> {
    const started = Date.now();
    const evaluation = await up(s.config, { stack: STACK, secretKeys: s.secretKeys });
    console.log(
      `    ${label} (${((Date.now() - started) / 1000).toFixed(1)} s): ${formatTimings(evaluation).split("\n").join("\n    ")}`,
    );
    return evaluation;
  }

  /**
   * Kills `pids` (host-side) with SIGKILL at once, then watches for WATCH_MS: the unit's state on
   * lb-1 every ~100 ms, the VIP on both hosts every ~50 ms.
   */
  async function killAndWatch(
    label: string,
    service: "keepalived" | "haproxy",
    pids: () => number[],
    active: (s: UnitState, before: UnitState) => boolean,
  ): Promise<Recovery> {
    const lb1 = lab.host("lb-1");
    await vipOnLb1();
    const before = await unitState(lb1, service);
    expect(before.active, `${service} active before the kill`).to.equal("active");
    const targets = pids();
    expect(targets, `${service} processes to kill`).to.not.be.empty;
    const sampler = new VipSampler();
    sampler.start();
    await sleep(100);
    const t0 = Date.now();
    // HAProxy's workers may be gone by the time they are reached (their master died first).
    const killed = targets.filter((pid) => signal(pid, "SIGKILL"));
    expect(killed, "the first process killed").to.include(targets[0]);
    let activeAt: number | undefined;
    let after = before;
    while (Date.now() - t0 < WATCH_MS) {
      const s = await unitState(lb1, service);
      if (activeAt === undefined && active(s, before)) {
        activeAt = Date.now();
        after = s;
      }
      await sleep(100);
    }
    await sampler.stop();
    const lastOff = sampler.lastNotSingle();
    const end = sampler.samples[sampler.samples.length - 1];
    expect(end.holders, "VIP holders at the end of the watch").to.have.length(1);
    const r: Recovery = {
      activeMs: activeAt === undefined ? Infinity : activeAt - t0,
      singleHolderMs: lastOff === undefined || lastOff < t0 ? 0 : lastOff - t0,
      twoHoldersMs: sampler.longest(2),
      noHolderMs: sampler.longest(0),
      before,
      after,
    };
    recoveries[label] = r;
    const since = new Date(t0 - 1_000).toISOString().replace("T", " ").slice(0, 19);
    const journal = await lb1.exec(
      "journalctl",
      [
        "--no-pager",
        "-o",
        "short-precise",
        "--since",
        since,
        "-t",
        "Keepalived_vrrp",
        "-t",
        "Keepalived",
      ],
      { allowFailure: true },
    );
    console.log(
      `    ${label}: ${service} active again after ${r.activeMs} ms (MainPID ${before.mainPid} → ${after.mainPid}, NRestarts ${before.nRestarts} → ${after.nRestarts}); ` +
        `VIP on exactly one host from +${r.singleHolderMs} ms; longest with two holders ${r.twoHoldersMs} ms, with none ${r.noHolderMs} ms\n      VIP: ${sampler.summary(t0)}\n      lb-1's KeepAlived log: ${journal.trim().split("\n").slice(-12).join("\n        ")}`,
    );
    return r;
  }

  /**
   * The VIP on lb-1 alone. The pair runs nopreempt (the default): once lb-2 took the VIP it keeps
   * it, so lb-2's KeepAlived is stopped, which hands the VIP over (priority 0), and started again.
   * Not `restart`: Debian's init script does not wait for the old daemon to exit, and its start
   * then finds it still running and starts nothing.
   */
  async function vipOnLb1(): Promise<void> {
    const single = async () => (await holdsVip("lb-1")) && !(await holdsVip("lb-2"));
    if (await single()) return;
    const t = Date.now();
    const lb2 = lab.host("lb-2");
    // Over SSH, as the program's steps run it.
    const onLb2 = async (command: string) => {
      const r = await sshExec(
        {
          host: lb2.address,
          privateKey: fs.readFileSync(lab.clientKeyPath, "utf8"),
          hostKey: lb2.hostKey,
        },
        command,
        { timeoutMs: 30_000 },
      );
      expect(r.code, `${command} on lb-2: ${r.stderr}`).to.equal(0);
    };
    await onLb2("service keepalived stop");
    await waitFor("lb-2's KeepAlived to exit", () => lb2.pids("keepalived").length === 0, 10_000);
    await onLb2("service keepalived start");
    await waitFor("the VIP on lb-1 alone", single, 15_000, 50);
    expect(lb2.pids("keepalived"), "lb-2's KeepAlived runs").to.not.be.empty;
    console.log(
      `    (lb-2's KeepAlived stopped and started: the VIP is on lb-1 after ${Date.now() - t} ms)`,
    );
    // lb-2's KeepAlived stays FAULT, unable to take the VIP, until its check script passed twice
    // (rise 2, every second).
    await sleep(LB2_READY_MS);
  }

  /** KeepAlived's processes on lb-1: the parent (the unit's MainPID) and its children. */
  async function keepalivedProcesses() {
    const lb1 = lab.host("lb-1");
    const { mainPid } = await unitState(lb1, "keepalived");
    const all = lb1.pids("keepalived").map((hostPid) => ({ hostPid, ...nsPids(hostPid)! }));
    const parent = all.find((p) => p.pid === mainPid);
    expect(parent, `keepalived's MainPID ${mainPid} among ${JSON.stringify(all)}`).to.not.equal(
      undefined,
    );
    return { parent: parent!, children: all.filter((p) => p.ppid === parent!.hostPid) };
  }

  before(async function () {
    const t = Date.now();
    await lab.up([stackVersion("haproxy")]);
    stack = labStack(lab, { variant: "haproxy" });
    fresh = await run(stack, "fresh up");
    expect(fresh.errors).to.deep.equal([]);
    console.log(`    lab up and converged in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  });

  after(async function () {
    await lab.down();
  });

  it("lb-1 (systemd) has both drop-ins loaded; lb-2 (no init) warned that nothing supervises its daemons", async function () {
    const lb1 = lab.host("lb-1");
    for (const service of ["keepalived", "haproxy"] as SupervisedService[]) {
      expect(fileText(lb1, supervisionDropInPath(service))).to.contain(
        `Restart=${SUPERVISION.restart}`,
      );
      expect((await unitState(lb1, service)).restart, service).to.equal(SUPERVISION.restart);
    }
    expect(stepNamed(fresh, "lb-lb-1-supervise").stderr).to.contain("systemd: daemon-reload");
    const lb2 = stepNamed(fresh, "lb-lb-2-supervise");
    expect(lb2.exitCode).to.equal(0);
    expect(lb2.stderr).to.contain(
      "WARNING: systemd is not PID 1 on this host: keepalived, haproxy are NOT supervised",
    );
    for (const service of ["keepalived", "haproxy"] as SupervisedService[]) {
      expect(exists(lab.host("lb-2"), supervisionDropInPath(service)), service).to.equal(false);
    }
  });

  it("SIGKILL of every HAProxy process: active again within the bound with a new MainPID", async function () {
    const lb1 = lab.host("lb-1");
    const r = await killAndWatch(
      "haproxy, every process",
      "haproxy",
      () => lb1.pids("haproxy"),
      (s, before) => s.active === "active" && s.mainPid !== 0 && s.mainPid !== before.mainPid,
    );
    expect(r.activeMs).to.be.at.most(RECOVERY_BOUND_MS);
    expect(r.after.nRestarts).to.equal(r.before.nRestarts + 1);
    expect(r.twoHoldersMs).to.be.at.most(TWO_HOLDERS_BOUND_MS);
  });

  it("SIGKILL of every KeepAlived process on the VIP holder: back within the bound, the VIP on one host", async function () {
    const { parent, children } = await keepalivedProcesses();
    const r = await killAndWatch(
      "keepalived, every process",
      "keepalived",
      () => [parent.hostPid, ...children.map((c) => c.hostPid)],
      (s, before) => s.active === "active" && s.mainPid !== 0 && s.mainPid !== before.mainPid,
    );
    expect(r.activeMs, "ms to keepalived active with a new MainPID").to.be.at.most(
      RECOVERY_BOUND_MS,
    );
    expect(r.singleHolderMs, "ms until the VIP stays on one host").to.be.at.most(RECOVERY_BOUND_MS);
    expect(r.twoHoldersMs, "ms with two holders").to.be.at.most(TWO_HOLDERS_BOUND_MS);
    expect(r.after.nRestarts, "systemd restarted it").to.equal(r.before.nRestarts + 1);
  });

  it("SIGKILL of KeepAlived's VRRP child only: a new child within the bound, the VIP on one host", async function () {
    const { parent, children } = await keepalivedProcesses();
    expect(children, "KeepAlived's children (VRRP only: no virtual_server)").to.have.length(1);
    const child = children[0];
    const r = await killAndWatch(
      "keepalived, VRRP child",
      "keepalived",
      () => [child.hostPid],
      (s) => {
        if (s.active !== "active") return false;
        const now = lab
          .host("lb-1")
          .pids("keepalived")
          .map((p) => nsPids(p))
          .filter((p) => p !== undefined && p.pid !== s.mainPid);
        return now.length > 0 && now.every((p) => p!.pid !== child.pid);
      },
    );
    expect(r.activeMs, "ms to a new VRRP child, the unit active").to.be.at.most(RECOVERY_BOUND_MS);
    expect(r.singleHolderMs).to.be.at.most(RECOVERY_BOUND_MS);
    expect(r.twoHoldersMs).to.be.at.most(TWO_HOLDERS_BOUND_MS);
    const { parent: after } = await keepalivedProcesses();
    console.log(
      `    the parent ${after.pid === parent.pid ? "respawned the child itself (same MainPID)" : `was replaced too (MainPID ${parent.pid} → ${after.pid})`}`,
    );
  });

  it("switching the tier to Nginx removes both drop-ins (daemon-reloaded) and supervises Nginx", async function () {
    const lb1 = lab.host("lb-1");
    const nginx = labStack(lab, { variant: "haproxy", lbKind: "nginx" });
    const switched = await run(nginx, "lbKind haproxy → nginx");
    expect(switched.errors).to.deep.equal([]);
    const removal = switched.deletes.find((d) => d.name === "lb-lb-1-supervise");
    expect(removal?.stderr, "lb-1's supervise delete").to.contain("systemd: daemon-reload");
    for (const service of ["keepalived", "haproxy"] as SupervisedService[]) {
      const file = supervisionDropInPath(service);
      expect(exists(lb1, file), file).to.equal(false);
      expect(exists(lb1, file.slice(0, file.lastIndexOf("/"))), "the directory it made").to.equal(
        false,
      );
    }
    // What systemd loaded after the delete's daemon-reload: Debian's own settings again.
    expect((await unitState(lb1, "keepalived")).restart).to.equal("no");
    expect((await unitState(lb1, "haproxy")).restart).to.equal("always");
    expect((await unitState(lb1, "nginx")).restart).to.equal(SUPERVISION.restart);
    expect(stepNamed(switched, "lb-supervise").stderr).to.contain(
      "nginx: supervision drop-in written",
    );
    const recorded = Object.entries(recoveries).map(
      ([label, r]) =>
        `${label}: active ${r.activeMs} ms, one holder from ${r.singleHolderMs} ms, two holders ${r.twoHoldersMs} ms, none ${r.noHolderMs} ms`,
    );
    console.log(`    recoveries:\n      ${recorded.join("\n      ")}`);
  });
});
