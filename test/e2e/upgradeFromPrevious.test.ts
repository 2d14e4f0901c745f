/**
 * End to end, the program upgrade: a lab cluster (the dev topology: HAProxy + KeepAlived pair with
 * the VIP, three servers, three agents; K3s servers and agents are STAND-INS, harness/e2e/stand-in/)
 * converged by the PREVIOUS RELEASE's program (a git worktree of PREVIOUS, evaluated by the e2e
 * executor like this tree's), then `up` with this tree while the LB lab's client load runs through
 * the VIP. This release wraps every resource in one K3sHaCluster component with aliases
 * (components/host/naming.ts), and every host script changed, so the upgrade UPDATES steps in
 * place: none replaced or deleted (preview and run), no daemon restarted (PIDs), no configuration
 * file changed (hashes), the VIP where it was, no failed client connection, and a second `up` that
 * runs nothing.
 *
 * The worktree's node_modules is a symlink to this checkout's, so the previous program loads the
 * same `@pulumi/pulumi` module instance the executor set its mocks on (harness/shared/worktree.ts).
 */
import { expect } from "chai";
import { AGENTS, LB_HOSTS, SERVERS, VIP } from "../../harness/e2e/constants";
import { Evaluation, UpOptions, formatTimings, up } from "../../harness/e2e/executor";
import { E2eHost } from "../../harness/e2e/host";
import { MANAGED_PATHS, daemonPids, hostAddresses, treeHashes } from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { E2eLoad, LoadSummary } from "../../harness/e2e/load";
import { LabStack, labStack, stackVersion } from "../../harness/e2e/stack";
import { PlannedChange } from "../../harness/engine/plan";
import { REPO_ROOT } from "../../harness/program/stacks";
import { Worktree, addWorktree, resolveCommit } from "../../harness/shared/worktree";

/** The previous release (the old layout: components/*.ts, resources at the stack's root). */
const PREVIOUS = "2fd9c21";
const PREVIOUS_COMMIT = "2fd9c219c3bfdaf2d75398898f689226f7e61402";
const STACK = "upgrade";
const HOSTS = [...SERVERS, ...AGENTS, ...LB_HOSTS] as const;

/**
 * Managed files this upgrade may change, and why. Every other file under the managed paths
 * (config.yaml, token files, haproxy.cfg, keepalived.conf, units, env files, drop-ins, ...) must
 * stay byte-identical.
 */
const MAY_CHANGE: Record<string, string> = {
  // 2fd9c21 rendered it in TypeScript (components/render/keepalived.ts) with the monitor URL
  // inline; this release sends lb/haproxy-pair/check_haproxy.sh: a longer comment header and the
  // URL as a parameter line (health_url='http://127.0.0.1:8405/healthz'), the same probes.
  // KeepAlived runs it afresh every second; writing it reloads nothing.
  "/etc/keepalived/check_haproxy.sh":
    "KeepAlived's check script, now lb/haproxy-pair/check_haproxy.sh (comment header, URL as a parameter; same probes); nothing reloads",
};

// ---- what the hosts look like ---------------------------------------------------------------

/** The K3s unit a node runs: its main pid and restart count as its systemd reports them. */
async function k3sUnit(host: E2eHost): Promise<string> {
  const unit = (SERVERS as readonly string[]).includes(host.name) ? "k3s" : "k3s-agent";
  const shown = await host.exec(
    "systemctl",
    ["show", "--property=MainPID", "--property=NRestarts", "--property=ActiveState", unit],
    { allowFailure: true },
  );
  return `${unit} ${shown.trim().split("\n").sort().join(" ")}`;
}

interface HostState {
  /**
   * Host-side pids of haproxy, keepalived, nginx (their long-lived processes) and of K3s (the
   * stand-in's `k3s server|agent` processes).
   */
  pids: Record<string, number[]>;
  /** K3s hosts: the unit's MainPID, NRestarts and ActiveState. */
  unit?: string;
  files: Record<string, string>;
}

async function hostStates(lab: E2eLab): Promise<Record<string, HostState>> {
  const out: Record<string, HostState> = {};
  for (const name of HOSTS) {
    const host = lab.host(name);
    out[name] = {
      pids: {
        ...daemonPids(host),
      },
      ...((LB_HOSTS as readonly string[]).includes(name) ? {} : { unit: await k3sUnit(host) }),
      files: treeHashes(host),
    };
  }
  return out;
}

async function vipHolders(lab: E2eLab): Promise<string[]> {
  const holders: string[] = [];
  for (const lb of LB_HOSTS) {
    if ((await hostAddresses(lab.host(lb))).includes(VIP)) holders.push(lb);
  }
  return holders;
}

/** Samples who holds the VIP every 250 ms until stopped: every distinct holder set seen. */
function watchVip(lab: E2eLab): { stop(): Promise<string[]> } {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      seen.add((await vipHolders(lab)).join("+") || "none");
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return [...seen];
    },
  };
}

/** Files that differ between two snapshots of a host: changed, added, removed. */
function fileChanges(before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = [];
  for (const p of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[p] === after[p]) continue;
    out.push(before[p] === undefined ? `+ ${p}` : after[p] === undefined ? `- ${p}` : `~ ${p}`);
  }
  return out.sort();
}

const isCommand = (c: PlannedChange) => c.type === "command:remote:Command";

function opCounts(changes: PlannedChange[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of changes) {
    const key = `${isCommand(c) ? "step" : "other"} ${c.op}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Every resource the plan (or run) does not leave as it was: "op name (type)". */
const notSame = (changes: PlannedChange[]) =>
  changes.filter((c) => c.op !== "same").map((c) => `${c.op} ${c.name} (${c.type})`);

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe(`e2e: upgrade from the previous release (${PREVIOUS}) on a converged cluster, under client load`, function () {
  this.timeout(900_000);
  const lab = new E2eLab();
  let worktree: Worktree | undefined;
  let stack: LabStack;
  let removeSignals = () => {};
  const removeWorktree = () => worktree?.remove();
  const figures: string[] = [];
  keepJournalsOfFailures(lab);

  async function run(label: string, opts: UpOptions = {}): Promise<Evaluation> {
    const t0 = Date.now();
    const evaluation = await up(stack.config, {
      stack: STACK,
      secretKeys: stack.secretKeys,
      ...opts,
    });
    console.log(
      `    ${label} (${seconds(Date.now() - t0)}): ${formatTimings(evaluation).split("\n").join("\n    ")}`,
    );
    return evaluation;
  }

  before(async function () {
    const t0 = Date.now();
    // Before the lab boots: a missing commit fails at once, naming it and how to fetch it.
    worktree = addWorktree(
      REPO_ROOT,
      resolveCommit(
        REPO_ROOT,
        PREVIOUS_COMMIT,
        `the previous release ${PREVIOUS}`,
        " (CI: actions/checkout with fetch-depth: 0)",
      ),
      `e2e-previous-${PREVIOUS}`,
    );
    process.once("exit", removeWorktree);
    await lab.up([stackVersion("haproxy")]);
    removeSignals = lab.teardownOnSignals();
    // The previous release has no k3sReleasesUrl: its installer downloads from the default.
    stack = labStack(lab, { variant: "haproxy", extra: { k3sReleasesUrl: undefined } });
    const fresh = await run(`fresh up with ${PREVIOUS}`, { program: worktree.program });
    expect(fresh.errors, `${PREVIOUS}'s fresh up`).to.deep.equal([]);
    const settled = await run(`${PREVIOUS} again, no edit`, {
      program: worktree.program,
      printPlan: false,
    });
    expect(settled.errors).to.deep.equal([]);
    expect(
      settled.steps.map((s) => s.name),
      `${PREVIOUS} converged: its own run with no edit runs nothing`,
    ).to.deep.equal([]);
    console.log(`    converged by ${PREVIOUS} in ${seconds(Date.now() - t0)} (lab boot included)`);
  });

  after(async function () {
    removeSignals();
    for (const line of figures) console.log(`    ${line}`);
    removeWorktree();
    process.removeListener("exit", removeWorktree);
    await lab.down();
  });

  it(`an up with this tree updates steps in place: nothing replaced or deleted, no daemon restarted, no configuration file changed, the VIP kept, no failed connection`, async function () {
    const before = await hostStates(lab);
    const holders = await vipHolders(lab);
    expect(holders, `one LB host holds the VIP after ${PREVIOUS}`).to.have.length(1);

    const load = await E2eLoad.start(lab, { targets: [{ host: VIP, port: 6443 }] });
    const vip = watchVip(lab);
    const t0 = Date.now();
    let upgrade: Evaluation;
    let summary: LoadSummary;
    let holdersSeen: string[];
    try {
      upgrade = await run("up with this tree");
    } finally {
      holdersSeen = await vip.stop();
      summary = await load.stop();
    }
    const wallMs = Date.now() - t0;
    const after = await hostStates(lab);

    const plan = upgrade.plan?.changes ?? [];
    console.log(`    preview: ${JSON.stringify(opCounts(plan))}`);
    console.log(`    run:     ${JSON.stringify(opCounts(upgrade.changes))}`);
    for (const line of notSame(upgrade.changes)) console.log(`      ${line}`);

    // Each daemon is seen several ways (K3s: its pids and its unit); a daemon restarted once
    // counts once, with every view that changed.
    const daemonOf = (view: string) => (view.startsWith("k3s") ? "k3s" : view);
    const restartedViews: string[] = [];
    const restarted = new Set<string>();
    const daemons = new Set<string>();
    const changedFiles: string[] = [];
    const watched: string[] = [];
    for (const name of HOSTS) {
      const [b, a] = [before[name], after[name]];
      const views: Record<string, [string, string]> = Object.fromEntries(
        Object.keys(b.pids).map((v) => [v, [b.pids[v].join(","), a.pids[v].join(",")]]),
      );
      if (b.unit !== undefined) views["k3s unit"] = [b.unit, a.unit ?? ""];
      const running: string[] = [];
      for (const [view, [was, is]] of Object.entries(views)) {
        if (was) daemons.add(`${name} ${daemonOf(view)}`);
        if (was) running.push(`${view} ${was}`);
        // A daemon started (or gone) during the run counts too.
        if (was === is) continue;
        restarted.add(`${name} ${daemonOf(view)}`);
        restartedViews.push(`${name} ${view}: ${was || "none"} → ${is || "none"}`);
      }
      watched.push(`${name}: ${running.join("; ")}`);
      for (const f of fileChanges(b.files, a.files)) changedFiles.push(`${name} ${f}`);
    }
    const fileCount = HOSTS.reduce((n, h) => n + Object.keys(before[h].files).length, 0);
    console.log(
      `    daemons before the run (${daemons.size}: ${[...new Set([...daemons].map((d) => d.split(" ")[1]))].join(", ")}; pids, K3s units as systemd shows them):`,
    );
    for (const line of watched) console.log(`      ${line}`);
    console.log(
      `    daemons restarted: ${restarted.size === 0 ? "none" : [...restarted].join(", ")}`,
    );
    for (const line of restartedViews) console.log(`      ${line}`);
    // What each LB step said it did (a reload or start would say so).
    for (const step of upgrade.steps.filter((x) => x.name.startsWith("lb-"))) {
      console.log(`    ${step.name}: ${step.stderr.trim().split("\n").join(" | ") || "(nothing)"}`);
    }
    console.log(
      `    managed files changed (of ${fileCount} under ${MANAGED_PATHS.join(" ")}): ${changedFiles.length === 0 ? "none" : ""}`,
    );
    for (const line of changedFiles) {
      const why = MAY_CHANGE[line.split(" ").pop()!];
      console.log(`      ${line}${why ? `: ${why}` : ""}`);
    }
    console.log(
      `    VIP: ${holders.join("+")} before, ${(await vipHolders(lab)).join("+") || "none"} after, sampled during the run: ${holdersSeen.join(", ")}`,
    );
    console.log(
      `    load through ${VIP}:6443: ${summary.failed} of ${summary.attempted} new connections failed ${JSON.stringify(summary.causes)}; watches cut ${summary.watches.cut} of ${summary.watches.opened}`,
    );

    const steps = upgrade.changes.filter(isCommand);
    const count = (changes: PlannedChange[], op: PlannedChange["op"]) =>
      changes.filter((c) => c.op === op).length;
    figures.push(
      `upgrade from ${PREVIOUS}: ${count(steps, "update")} steps updated, ${count(steps, "same")} same, ` +
        `${count(steps, "create")} created, ${count(steps, "replace")} replaced, ${count(steps, "delete")} deleted ` +
        `(${upgrade.steps.length} ran, ${upgrade.deletes.length} deletes ran, ${seconds(wallMs)}); ` +
        `${restarted.size} of ${daemons.size} daemons restarted; ${changedFiles.length} of ${fileCount} managed files changed (${changedFiles.join(", ") || "none"}); ` +
        `VIP on ${holders.join("+")} throughout: ${holdersSeen.join(", ") === holders.join("+")}; ` +
        `${summary.failed} of ${summary.attempted} connections failed`,
    );

    expect(upgrade.errors, "errors").to.deep.equal([]);
    expect(
      plan.filter((c) => c.op === "replace" || c.op === "delete").map((c) => `${c.op} ${c.name}`),
      "the preview replaces or deletes",
    ).to.deep.equal([]);
    expect(
      upgrade.changes
        .filter((c) => c.op === "replace" || c.op === "delete")
        .map((c) => `${c.op} ${c.name}`),
      "the run replaced or deleted",
    ).to.deep.equal([]);
    expect(
      upgrade.deletes.map((d) => d.name),
      "deletes ran",
    ).to.deep.equal([]);
    expect(count(steps, "update"), "the upgrade updates steps (its scripts changed)").to.be.above(
      0,
    );
    expect(restartedViews, "daemons restarted").to.deep.equal([]);
    expect(
      changedFiles.filter((line) => !MAY_CHANGE[line.split(" ").pop()!]),
      "managed files changed",
    ).to.deep.equal([]);
    expect(holdersSeen, "VIP holders seen during the run").to.deep.equal([holders.join("+")]);
    expect(await vipHolders(lab), "the VIP after the run").to.deep.equal(holders);
    expect(summary.attempted, "connections attempted").to.be.above(0);
    expect(summary.failed, `failed connections (${JSON.stringify(summary.causes)})`).to.equal(0);
  });

  it("a second up with this tree, no edit, runs nothing", async function () {
    const again = await run("up with this tree again, no edit", { printPlan: false });
    expect(again.errors).to.deep.equal([]);
    const ran = [...again.steps, ...again.deletes].map((s) => s.name);
    figures.push(`second up with this tree: ${ran.length} steps ran`);
    expect(ran, "a run with no edit runs nothing").to.deep.equal([]);
    expect(notSame(again.changes), "every resource same").to.deep.equal([]);
  });
});
