/**
 * The supervisor reproduction (harness/lb-lab/supervisor.ts) against real processes in a real cgroup (root,
 * cgroup v1 cpu controller): restart after a kill, the unit's other processes killed first, no
 * restart after a requested stop or (on-failure) a clean exit, the start limit, the stop timeout.
 */
import { expect } from "chai";
import * as path from "path";
import { LAB_CGROUP, cgroupPids, inCgroup, removeCgroupTree } from "../../harness/lb-lab/cgroups";
import { startLogged } from "../../harness/shared/processes";
import { sleep, waitFor } from "../../harness/shared/sh";
import {
  StartRateLimit,
  SupervisionPolicy,
  SupervisorReproduction,
  shallRestart,
} from "../../harness/lb-lab/supervisor";
import * as fs from "fs";

const GROUP = path.join(LAB_CGROUP, "supervisor-test");

/** Running, not a zombie: an orphan killed here waits for this machine's pid 1 to reap it. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
const POLICY: SupervisionPolicy = {
  restart: "on-failure",
  restartSec: 0.3,
  startLimitIntervalSec: 60,
  startLimitBurst: 10,
};

describe("supervisor reproduction (systemd Restart=, start limit, KillMode=control-group)", function () {
  this.timeout(60_000);
  const supervisors: SupervisorReproduction[] = [];
  let unit = 0;

  /** A unit whose main process is `main` (sh -c), in its own cgroup. */
  function supervise(main: string, policy = POLICY, timeoutStopMs?: number) {
    const cgroup = path.join(GROUP, `u${++unit}.service`);
    fs.mkdirSync(cgroup, { recursive: true });
    const s = new SupervisorReproduction(
      {
        unit: path.basename(cgroup),
        cgroup,
        launch: () => {
          const [cmd, argv] = inCgroup(cgroup, ["sh", "-c", main]);
          return startLogged(cmd, argv, "/dev/null");
        },
      },
      policy,
      timeoutStopMs,
    );
    supervisors.push(s);
    return { s, cgroup };
  }

  const mainPid = (s: SupervisorReproduction) =>
    Number(s.events.filter((e) => e.event === "started").pop()!.detail);

  after(async () => {
    for (const s of supervisors) s.abandon();
    await removeCgroupTree(GROUP);
    // The lab's parent group too, unless a lab is using it.
    try {
      fs.rmdirSync(LAB_CGROUP);
    } catch {
      // in use, or already gone
    }
  });

  it("restarts a killed main process after RestartSec, killing the unit's other processes first", async () => {
    // The main process leaves a child behind, as KeepAlived's VRRP process would be.
    const { s, cgroup } = supervise("sleep 30 & exec sleep 30");
    s.start();
    await waitFor("two processes in the unit", () => cgroupPids(cgroup).length === 2, 5_000, 20);
    const first = mainPid(s);
    const orphan = cgroupPids(cgroup).find((p) => p !== first)!;
    const killedAt = Date.now();
    process.kill(first, "SIGKILL");
    await waitFor("the restart", () => s.restarts === 1, 5_000, 20);
    const restartedAt = s.events.filter((e) => e.event === "started")[1].at;
    expect(running(orphan), "the orphan was killed").to.equal(false);
    expect(restartedAt - killedAt).to.be.at.least(300);
    expect(s.events.map((e) => e.event)).to.deep.equal([
      "started",
      "main-exited",
      "sigterm-sent",
      "started",
    ]);
    expect(s.state).to.equal("running");
    await s.stop();
  });

  it("does not restart after a requested stop, and stops the whole unit", async () => {
    const { s, cgroup } = supervise("sleep 30 & exec sleep 30");
    s.start();
    await waitFor("two processes in the unit", () => cgroupPids(cgroup).length === 2, 5_000, 20);
    await s.stop();
    expect(cgroupPids(cgroup)).to.deep.equal([]);
    await sleep(600);
    expect(s.restarts).to.equal(0);
    expect(s.state).to.equal("inactive");
  });

  it("Restart=on-failure: a clean exit stays down; Restart=always restarts it", async () => {
    const onFailure = supervise("sleep 0.1; exit 0").s;
    const always = supervise("sleep 0.1; exit 0", { ...POLICY, restart: "always" }).s;
    onFailure.start();
    always.start();
    await sleep(1_000);
    expect(onFailure.restarts).to.equal(0);
    expect(onFailure.state).to.equal("inactive");
    expect(always.restarts).to.be.at.least(1);
    await always.stop();
  });

  it("gives up after StartLimitBurst starts within StartLimitIntervalSec (unit failed)", async () => {
    const { s } = supervise("exec sleep 30", { ...POLICY, restartSec: 0.1, startLimitBurst: 3 });
    s.start();
    for (let kill = 1; kill <= 3; kill++) {
      await waitFor(`start ${kill}`, () => s.state === "running" && running(mainPid(s)), 5_000, 20);
      process.kill(mainPid(s), "SIGKILL");
      await waitFor(`exit ${kill}`, () => s.state !== "running", 5_000, 20);
    }
    await waitFor("the start limit", () => s.state === "failed", 5_000, 20);
    expect(s.restarts).to.equal(2);
    expect(s.events.pop()!.event).to.equal("start-limit-hit");
  });

  it("SIGKILLs what ignores SIGTERM once the stop timeout passes", async () => {
    const { s, cgroup } = supervise(
      "sh -c \"trap '' TERM; sleep 30\" & exec sleep 30",
      POLICY,
      500,
    );
    s.start();
    await waitFor("processes in the unit", () => cgroupPids(cgroup).length >= 2, 5_000, 20);
    process.kill(mainPid(s), "SIGKILL");
    await waitFor("the restart", () => s.restarts === 1, 5_000, 20);
    const events = s.events.map((e) => e.event);
    expect(events.slice(0, 4)).to.deep.equal([
      "started",
      "main-exited",
      "sigterm-sent",
      "sigkill-sent",
    ]);
    await s.stop();
  });

  it("counts starts in a window that opens at the first (systemd's ratelimit_below)", () => {
    const limit = new StartRateLimit(10_000, 2);
    expect([limit.below(1_000), limit.below(2_000), limit.below(3_000)]).to.deep.equal([
      true,
      true,
      false,
    ]);
    expect(limit.below(11_001), "a new window").to.equal(true);
  });

  it("restarts on a signal or a failure status, and (on-failure) not on a clean exit", () => {
    expect(shallRestart("on-failure", null, "SIGKILL")).to.equal(true);
    expect(shallRestart("on-failure", 1, null)).to.equal(true);
    expect(shallRestart("on-failure", 0, null)).to.equal(false);
    expect(shallRestart("on-failure", null, "SIGTERM")).to.equal(false);
    expect(shallRestart("always", 0, null)).to.equal(true);
  });
});
