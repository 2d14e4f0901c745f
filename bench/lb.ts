/**
 * npm run bench:lb — every fault with the page's configuration (baseline) and with what the
 * program renders (ours), in one run, plus the LB's cost. Writes bench/results/lb.md, lb.json
 * and one lb-<fault>.svg timeline per fault. Needs root (network namespaces).
 *   --quick        short windows, for checking the harness (numbers not comparable)
 *   --out <dir>    write somewhere else than bench/results
 *   --only <f1,f2> run only these faults (ids from lab/faults.ts)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigName, VrrpMode } from "../lab/configs/config-set";
import { FAULTS, FAULT_IDS, FaultId } from "../lab/faults";
import { Lab, requireRoot } from "../lab/lab";
import { LbTier } from "../lab/lb-tier";
import { DEFAULT_LOAD, ScenarioResult, runScenario } from "../lab/scenario";
import { teardownOnSignals } from "../lab/signals";
import { CostRun, measureCost } from "./lb/cost";
import { BenchReport, renderMarkdown } from "./lb/report";
import { timelineSvg } from "./lb/svg";

const quick = process.argv.includes("--quick");
const outArg = process.argv.indexOf("--out");
const OUT_DIR =
  outArg >= 0 ? path.resolve(process.argv[outArg + 1]) : path.join(__dirname, "results");

const onlyArg = process.argv.indexOf("--only");
const SELECTED: FaultId[] =
  onlyArg >= 0 ? (process.argv[onlyArg + 1].split(",") as FaultId[]) : FAULT_IDS;

const PRE_MS = quick ? 2_000 : 3_000;
/** Long enough to see the page's 10 s check interval eject a server (or not). */
const POST_MS: Record<FaultId, number> = quick
  ? (Object.fromEntries(FAULT_IDS.map((f) => [f, 6_000])) as Record<FaultId, number>)
  : {
      "server-crash": 35_000,
      "server-hang": 35_000,
      "haproxy-kill": 12_000,
      "haproxy-hang": 12_000,
      "link-down": 12_000,
      "link-back": 12_000,
      "nginx-server-crash": 20_000,
      "nginx-server-hang": 30_000,
    };
/** Faults also run with unicast VRRP (ours only: the page has no unicast configuration). */
const UNICAST_FAULTS: FaultId[] = ["haproxy-kill", "haproxy-hang", "link-down", "link-back"];
const COST_MS = quick ? 2_000 : 4_000;
const COST_ROUNDS = quick ? 1 : 3;
const COST_CONCURRENCY = 8;

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

async function main(): Promise<void> {
  requireRoot();
  const removeSignalHandlers = teardownOnSignals();
  const started = Date.now();
  const lab = new Lab();
  const tier = new LbTier(lab.dir);
  const scenarios: ScenarioResult[] = [];
  let cost: CostRun[] = [];
  try {
    await lab.up();
    const runs: { fault: FaultId; config: ConfigName; vrrp: VrrpMode }[] = [];
    for (const fault of SELECTED) {
      if (!FAULTS[fault]) throw new Error(`unknown fault ${fault}; known: ${FAULT_IDS.join(", ")}`);
      for (const config of ["baseline", "ours"] as const)
        runs.push({ fault, config, vrrp: "multicast" });
      if (UNICAST_FAULTS.includes(fault)) runs.push({ fault, config: "ours", vrrp: "unicast" });
    }
    for (const [i, run] of runs.entries()) {
      console.log(
        `[${i + 1}/${runs.length}] ${FAULTS[run.fault].title}: ${run.config}, ${run.vrrp}`,
      );
      const r = await runScenario(lab, tier, {
        ...run,
        preMs: PRE_MS,
        postMs: POST_MS[run.fault],
        ...DEFAULT_LOAD,
      });
      scenarios.push(r);
      console.log(
        `    failed ${r.afterFault.failed}/${r.afterFault.attempted}, ejected ${r.ejectedAfterMs}, ` +
          `VIP moved ${r.vip?.movedAfterMs ?? null}, back ${r.vip?.returnedToAfterMs ?? null}, ` +
          `last failure ${r.lastFailureAfterMs}, watches lost ${r.watches.lost}, split ${r.vip?.splitBrainSamples ?? null}`,
      );
    }
    console.log("LB cost");
    cost = await measureCost(lab, tier, COST_ROUNDS, COST_CONCURRENCY, COST_MS);
    for (const r of cost) {
      console.log(`    ${r.path}: ${r.connPerSec.toFixed(0)}/s p50 ${r.p50Ms} p99 ${r.p99Ms}`);
    }
  } finally {
    await tier.stop().catch(() => undefined);
    await lab.down();
    removeSignalHandlers();
  }

  const report: BenchReport = {
    startedAt: new Date(started).toISOString(),
    durationS: (Date.now() - started) / 1000,
    machine: { cpus: os.cpus().length, kernel: os.release(), versions: versions() },
    load: DEFAULT_LOAD,
    scenarios,
    cost,
  };
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUT_DIR, "lb.json"), JSON.stringify(report, null, 1) + "\n");
  fs.writeFileSync(path.join(OUT_DIR, "lb.md"), renderMarkdown(report));
  for (const fault of FAULT_IDS) {
    const results = scenarios.filter((r) => r.spec.fault === fault);
    if (results.length === 0) continue;
    fs.writeFileSync(
      path.join(OUT_DIR, `lb-${fault}.svg`),
      timelineSvg(FAULTS[fault].title, results),
    );
  }
  console.log(`wrote ${path.join(OUT_DIR, "lb.md")}`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench:lb: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
