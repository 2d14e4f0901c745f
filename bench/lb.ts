/**
 * npm run bench:lb — every fault with the page's configuration (baseline), what the program
 * rendered before issue 12 (previous, frozen in harness/lb-lab/configs/previous/) and what it renders now
 * (ours), in one run, plus the LB's cost and the failover mechanism's own cost. Writes
 * bench/results/lb.md, lb.json and one lb-<fault>.svg timeline per fault. Needs root (network
 * namespaces); run it under `flock /tmp/k3sha-lab.lock` when others share the lab.
 *   --quick                  short windows, for checking the harness (numbers not comparable)
 *   --out <dir>              write somewhere else than bench/results
 *   --only <f1,f2>           run only these faults (ids from harness/lb-lab/faults.ts)
 *   --repeats <n>            runs of each VIP-move fault for baseline and ours, multicast (default 5)
 *   --previous-repeats <n>   the same for previous (default 2, to fit 40 minutes; at most --repeats)
 *   --plan                   print the runs and the time estimate, run nothing
 *   --render <lb.json>       write lb.md and the SVGs again from a run's lb.json (into --out, else
 *                            next to it), run nothing
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONFIG_SETS, ConfigName, VrrpMode } from "../harness/lb-lab/configs/config-set";
import { FAULTS, FAULT_IDS, FaultId } from "../harness/lb-lab/faults";
import { Lab, requireRoot } from "../harness/lb-lab/lab";
import { LbTier } from "../harness/lb-lab/lb-tier";
import {
  DEFAULT_LOAD,
  ScenarioResult,
  ScenarioSpec,
  runScenario,
} from "../harness/lb-lab/scenario";
import { RollFault, rollEnds, vrrpParams } from "../harness/lb-lab/roll";
import { teardownOnSignals } from "../harness/lb-lab/signals";
import { CostRun, measureCost } from "./lb/cost";
import { MechanismCost, measureMechanismCost } from "./lb/mechanism";
import { PlannedRun, buildPlan, estimateSeconds } from "./lb/plan";
import { BenchReport, BenchScenario, renderMarkdown } from "./lb/report";
import { summarize } from "./lb/summary";
import { timelineSvg } from "./lb/svg";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`${name} needs a value`);
  return v;
}

function count(name: string, dflt: number): number {
  const v = arg(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`${name} ${v}: want 1..50`);
  return n;
}

const quick = process.argv.includes("--quick");
const planOnly = process.argv.includes("--plan");
const outArg = arg("--out");
const OUT_DIR = outArg ? path.resolve(outArg) : path.join(__dirname, "results");
const onlyArg = arg("--only");
const SELECTED: FaultId[] = onlyArg ? (onlyArg.split(",") as FaultId[]) : FAULT_IDS;
for (const f of SELECTED) {
  if (!FAULTS[f]) throw new Error(`unknown fault ${f}; known: ${FAULT_IDS.join(", ")}`);
}
const REPEATS = count("--repeats", 5);
const PREVIOUS_REPEATS = count("--previous-repeats", Math.min(2, REPEATS));

const COST_MS = quick ? 2_000 : 4_000;
const COST_ROUNDS = quick ? 1 : 3;
const COST_CONCURRENCY = 8;
/** Idle window per config for the mechanism's cost (VRRP packets, keepalived CPU). */
const MECHANISM_MS = quick ? 5_000 : 15_000;
const MECHANISM_CONFIGS: { config: ConfigName; vrrp: VrrpMode }[] = (
  [
    { config: "baseline", vrrp: "multicast" },
    { config: "previous", vrrp: "multicast" },
    { config: "ours", vrrp: "multicast" },
    { config: "ours-floor", vrrp: "multicast" },
  ] as { config: string; vrrp: VrrpMode }[]
).filter((c): c is { config: ConfigName; vrrp: VrrpMode } => c.config in CONFIG_SETS);
/** Seconds a pair start costs in the cost sections (measured: about 7 s), for the estimate. */
const COST_SETUP_S = 7;

function versions(): string[] {
  const first = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return (
      `${r.stdout}${r.stderr}`
        .split("\n")
        .find((l) => l.trim() !== "")
        ?.trim() ?? cmd
    );
  };
  return [
    first("haproxy", ["-v"]),
    first("keepalived", ["--version"]),
    first("nginx", ["-v"]),
    `node ${process.version}`,
  ];
}

function mmss(seconds: number): string {
  const t = Math.round(seconds);
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, "0")}`;
}

function describe(run: PlannedRun): string {
  const rep = run.repeats > 1 ? `, repeat ${run.repeat}/${run.repeats}` : "";
  const roll = run.roll ? `, roll ${run.roll}` : "";
  return `${FAULTS[run.fault].title}: ${run.config}, ${run.vrrp}${rep}${roll}`;
}

/** lb.json, lb.md and one lb-<fault>.svg per fault that ran. */
function writeOutputs(report: BenchReport, dir: string, json = true): void {
  fs.mkdirSync(dir, { recursive: true });
  if (json) fs.writeFileSync(path.join(dir, "lb.json"), JSON.stringify(report, null, 1) + "\n");
  fs.writeFileSync(path.join(dir, "lb.md"), renderMarkdown(report));
  for (const fault of FAULT_IDS) {
    const results = report.scenarios.filter((r) => r.spec.fault === fault);
    if (results.length === 0) continue;
    fs.writeFileSync(path.join(dir, `lb-${fault}.svg`), timelineSvg(FAULTS[fault].title, results));
  }
}

async function main(): Promise<void> {
  const renderFrom = arg("--render");
  if (renderFrom) {
    const report = JSON.parse(fs.readFileSync(renderFrom, "utf8")) as BenchReport;
    const dir = outArg ? OUT_DIR : path.dirname(path.resolve(renderFrom));
    writeOutputs(report, dir, false);
    console.log(`wrote ${path.join(dir, "lb.md")} from ${renderFrom}`);
    return;
  }
  const runs = buildPlan({
    selected: SELECTED,
    quick,
    repeats: REPEATS,
    previousRepeats: PREVIOUS_REPEATS,
    configs: Object.keys(CONFIG_SETS),
  });
  const costS =
    (COST_ROUNDS * 4 * COST_MS + MECHANISM_CONFIGS.length * (MECHANISM_MS + 1_000)) / 1000 +
    (COST_ROUNDS * 2 + MECHANISM_CONFIGS.length) * COST_SETUP_S;
  const estimateS = estimateSeconds(runs) + costS;
  const windowsS = runs.reduce((sum, r) => sum + (r.preMs + r.postMs) / 1000, 0);
  console.log(
    `plan: ${runs.length} runs (${SELECTED.length} faults), then the LB's and the mechanism's cost; ` +
      `estimated ${mmss(estimateS)}: fault windows ${mmss(windowsS)}, per-run setup (measured ` +
      `by config) ${mmss(estimateSeconds(runs) - windowsS)}, cost sections ${mmss(costS)}`,
  );
  if (planOnly) {
    for (const [i, run] of runs.entries()) {
      console.log(`  [${i + 1}] ${describe(run)} (${run.preMs / 1000}+${run.postMs / 1000} s)`);
    }
    return;
  }
  requireRoot();
  const removeSignalHandlers = teardownOnSignals();
  const started = Date.now();
  const lab = new Lab();
  const tier = new LbTier(lab.dir);
  const scenarios: BenchScenario[] = [];
  let cost: CostRun[] = [];
  let mechanism: MechanismCost[] = [];
  /** A run or cost section that threw: recorded, and the run goes on (a 40-minute run keeps the rest). */
  const errors: { what: string; message: string }[] = [];
  const failed = (what: string, err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    errors.push({ what, message });
    console.log(`    FAILED: ${message}`);
  };
  try {
    await lab.up();
    let leftS = estimateS;
    for (const [i, run] of runs.entries()) {
      const elapsed = (Date.now() - started) / 1000;
      console.log(
        `[${i + 1}/${runs.length}] ${describe(run)} (${mmss(elapsed)} elapsed, ~${mmss(leftS)} left)`,
      );
      const spec = {
        fault: run.fault,
        config: run.config,
        vrrp: run.vrrp,
        preMs: run.preMs,
        postMs: run.postMs,
        ...DEFAULT_LOAD,
        ...(run.roll ? { roll: run.roll } : {}),
        ...(run.starveMs ? { starveMs: run.starveMs } : {}),
      } as ScenarioSpec;
      const t0 = Date.now();
      leftS = Math.max(0, leftS - estimateSeconds([run]));
      let r: ScenarioResult;
      try {
        r = await runScenario(lab, tier, spec);
      } catch (err) {
        failed(describe(run), err);
        continue;
      }
      const wallMs = Date.now() - t0;
      // A roll's target: two holders for at most one advert interval of the settings it left.
      const oldAdvertIntervalMs = run.roll
        ? vrrpParams(rollEnds(run.fault as RollFault).from.keepalivedConf("lb-1", run.vrrp))
            .advertMs
        : undefined;
      scenarios.push({
        ...r,
        repeat: run.repeat,
        wallMs,
        ...(oldAdvertIntervalMs !== undefined ? { oldAdvertIntervalMs } : {}),
      });
      console.log(
        `    failed ${r.afterFault.failed}/${r.afterFault.attempted}, ejected ${r.ejectedAfterMs}, ` +
          `VIP moved ${r.vip?.movedAfterMs ?? null}, back ${r.vip?.returnedToAfterMs ?? null}, ` +
          `last failure ${r.lastFailureAfterMs}, watches lost ${r.watches.lost}, ` +
          `split ${r.vip?.splitBrainSamples ?? null}; ${(wallMs / 1000).toFixed(1)} s wall ` +
          `(${((wallMs - run.preMs - run.postMs) / 1000).toFixed(1)} s setup)`,
      );
    }
    console.log(`LB cost (${mmss((Date.now() - started) / 1000)} elapsed)`);
    cost = await measureCost(lab, tier, COST_ROUNDS, COST_CONCURRENCY, COST_MS).catch(
      (err: unknown) => {
        failed("the LB's cost", err);
        return [];
      },
    );
    for (const r of cost) {
      console.log(`    ${r.path}: ${r.connPerSec.toFixed(0)}/s p50 ${r.p50Ms} p99 ${r.p99Ms}`);
    }
    console.log(`Mechanism cost (${mmss((Date.now() - started) / 1000)} elapsed)`);
    mechanism = await measureMechanismCost(tier, MECHANISM_CONFIGS, MECHANISM_MS).catch(
      (err: unknown) => {
        failed("the mechanism's cost", err);
        return [];
      },
    );
    for (const m of mechanism) {
      console.log(
        `    ${m.config} ${m.vrrp} ${m.host} (${m.role}): VRRP ${m.vrrpPacketsPerSec.toFixed(2)}/s ` +
          `(multicast ${m.multicastPacketsPerSec.toFixed(2)}/s), keepalived+script ` +
          `${m.keepalivedCpuSPerMin.toFixed(2)} CPU s/min`,
      );
    }
  } finally {
    await tier.stop().catch(() => undefined);
    await lab.down();
    removeSignalHandlers();
  }

  const report: BenchReport = {
    startedAt: new Date(started).toISOString(),
    durationS: (Date.now() - started) / 1000,
    flags: {
      quick,
      only: onlyArg ? SELECTED : null,
      repeats: REPEATS,
      previousRepeats: PREVIOUS_REPEATS,
      full: !quick && !onlyArg,
    },
    estimateS,
    machine: { cpus: os.cpus().length, kernel: os.release(), versions: versions() },
    load: DEFAULT_LOAD,
    summary: summarize(scenarios),
    scenarios,
    cost,
    mechanism,
    errors,
  };
  writeOutputs(report, OUT_DIR);
  console.log(`wrote ${path.join(OUT_DIR, "lb.md")} (${mmss(report.durationS)})`);
  if (errors.length) {
    throw new Error(`${errors.length} run(s) failed: ${errors.map((e) => e.what).join("; ")}`);
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench:lb: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
