/**
 * Evaluates the program under mocks for 3 servers and 3, 30 and 300 agents, each size in its own
 * process, and prints wall time, peak memory and the critical path of host steps.
 * Usage: npm run bench:program
 */
import { spawnSync } from "child_process";
import { runProgram } from "../test/support/mocks";
import { criticalPath } from "../test/support/graph";
import { commands } from "../test/support/program";
import { devStackWithAgents } from "./topology";

export const AGENT_COUNTS = [3, 30, 300];

interface Measurement {
  agents: number;
  resources: number;
  hostSteps: number;
  wallMs: number;
  peakRssMiB: number;
  criticalPath: string[];
}

async function measure(agents: number): Promise<Measurement> {
  const started = process.hrtime.bigint();
  const run = await runProgram(devStackWithAgents(agents), [], "bench");
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    agents,
    resources: run.resources.length,
    hostSteps: commands(run).length,
    wallMs: Math.round(wallMs),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    criticalPath: criticalPath(run),
  };
}

function inChild(agents: number): Measurement {
  const r = spawnSync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", __filename, "--agents", String(agents)],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
  );
  if (r.status !== 0) throw new Error(`benchmark child for ${agents} agents failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Measurement;
}

function report(rows: Measurement[]): string {
  const base = rows[0];
  const lines = [
    "| agents | resources | host steps | wall ms | ms per step | peak RSS MiB | critical path (steps) |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (m) =>
        `| ${m.agents} | ${m.resources} | ${m.hostSteps} | ${m.wallMs} | ${(m.wallMs / m.hostSteps).toFixed(1)} | ${m.peakRssMiB} | ${m.criticalPath.length} |`,
    ),
    "",
    `critical path: ${base.criticalPath.join(" -> ")}`,
  ];
  return lines.join("\n");
}

async function main() {
  const i = process.argv.indexOf("--agents");
  if (i >= 0) {
    process.stdout.write(`${JSON.stringify(await measure(Number(process.argv[i + 1])))}\n`);
    return;
  }
  const rows = AGENT_COUNTS.map(inChild);
  console.log(report(rows));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
