/** bench/results/lb.md from the benchmark's results: headline table, targets, details, LB cost. */
import { FAULTS, FaultId } from "../../lab/faults";
import type { ScenarioResult } from "../../lab/scenario";
import type { CostRun } from "./cost";

export interface BenchReport {
  startedAt: string;
  durationS: number;
  machine: { cpus: number; kernel: string; versions: string[] };
  load: { intervalMs: number; timeoutMs: number; watches: number };
  scenarios: ScenarioResult[];
  cost: { config: string; runs: CostRun[] }[];
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The number that says when the fault stopped costing clients; null = not within the window. */
export function headline(r: ScenarioResult): { ms: number | null; text: string } {
  const window = `not within ${s(r.spec.postMs)}`;
  switch (FAULTS[r.spec.fault].recovery) {
    case "server-ejected":
      return r.ejectedAfterMs === null
        ? { ms: null, text: `never marked DOWN (${window})` }
        : { ms: r.ejectedAfterMs, text: `DOWN after ${s(r.ejectedAfterMs)}` };
    case "vip-moved":
      return r.vip?.movedAfterMs == null
        ? { ms: null, text: `VIP never moved (${window})` }
        : { ms: r.vip.movedAfterMs, text: `VIP moved after ${s(r.vip.movedAfterMs)}` };
    case "no-flap-back":
      return r.vip?.returnedToAfterMs == null
        ? { ms: null, text: "VIP stayed put" }
        : {
            ms: r.vip.returnedToAfterMs,
            text: `VIP flapped back after ${s(r.vip.returnedToAfterMs)}`,
          };
    case "last-failure":
      return r.lastFailureAfterMs === null
        ? { ms: 0, text: "no failed connection" }
        : { ms: r.lastFailureAfterMs, text: `last failure at +${s(r.lastFailureAfterMs)}` };
  }
}

function ratio(base: ScenarioResult | undefined, ours: ScenarioResult | undefined): string {
  if (!base || !ours || FAULTS[ours.spec.fault].recovery === "no-flap-back") return "—";
  const b = headline(base).ms;
  const o = headline(ours).ms;
  if (o === null || o === 0) return "—";
  if (b === null) return `> ${(base.spec.postMs / o).toFixed(1)}×`;
  return `${(b / o).toFixed(1)}×`;
}

const failedText = (r: ScenarioResult) => `${r.afterFault.failed}/${r.afterFault.attempted}`;

interface Target {
  text: string;
  met(r: ScenarioResult): boolean;
}

const split = (r: ScenarioResult) => (r.vip ? r.vip.splitBrainSamples === 0 : true);
export const TARGETS: Partial<Record<FaultId, Target>> = {
  "server-crash": {
    text: "DOWN ≤ 3 s, 0 failed new connections",
    met: (r) => r.ejectedAfterMs !== null && r.ejectedAfterMs <= 3_000 && r.afterFault.failed === 0,
  },
  "server-hang": {
    text: "DOWN ≤ 10 s",
    met: (r) => r.ejectedAfterMs !== null && r.ejectedAfterMs <= 10_000,
  },
  "haproxy-kill": {
    text: "VIP moved ≤ 3 s, no split brain",
    met: (r) => r.vip?.movedAfterMs != null && r.vip.movedAfterMs <= 3_000 && split(r),
  },
  "haproxy-hang": {
    text: "VIP moved ≤ 3 s, no split brain",
    met: (r) => r.vip?.movedAfterMs != null && r.vip.movedAfterMs <= 3_000 && split(r),
  },
  "link-down": {
    text: "VIP moved ≤ 4 s, no split brain",
    met: (r) => r.vip?.movedAfterMs != null && r.vip.movedAfterMs <= 4_000 && split(r),
  },
  "link-back": {
    text: "no flap-back, no split brain",
    met: (r) => r.vip?.returnedToAfterMs == null && split(r),
  },
};

export function renderMarkdown(rep: BenchReport): string {
  const find = (fault: FaultId, config: string, vrrp: string) =>
    rep.scenarios.find(
      (r) => r.spec.fault === fault && r.spec.config === config && r.spec.vrrp === vrrp,
    );
  const lines: string[] = [
    "# Load-balancer tier under faults: the page's config vs what the program renders",
    "",
    `Measured by \`npm run bench:lb\` on ${rep.startedAt} (${rep.machine.cpus} CPUs, kernel ` +
      `${rep.machine.kernel}; ${rep.machine.versions.join("; ")}); the run took ` +
      `${Math.round(rep.durationS)} s. Real HAProxy, KeepAlived and Nginx in network namespaces ` +
      "with private mount and pid namespaces; the backends are **K3s server stand-ins** (small " +
      "TLS servers answering `/ping`, `/cacerts` and a `/watch` stream), not K3s.",
    "",
    `Load from the client host during every run: one new TLS connection every ${rep.load.intervalMs} ms ` +
      `(handshake + \`GET /ping\` + \`pong\`, failed if not done in ${rep.load.timeoutMs} ms), plus ` +
      `${rep.load.watches} long-lived \`/watch\` connections. VIP location sampled with ` +
      "`ip -n <lb> addr` every 50 ms; stand-in state read from the VIP holder's HAProxy admin socket " +
      "every 100 ms. Shared machine: timings carry a few hundred ms of noise.",
    "",
    "## Time until the fault stops costing clients",
    "",
    "| fault | baseline (page) | ours (rendered) | ratio | failed new conns baseline / ours | target (ours) | met |",
    "|---|---|---|---|---|---|---|",
  ];
  const faults = [...new Set(rep.scenarios.map((r) => r.spec.fault))];
  for (const fault of faults) {
    for (const vrrp of ["multicast", "unicast"]) {
      const base = find(fault, "baseline", vrrp);
      const ours = find(fault, "ours", vrrp);
      if (!base && !ours) continue;
      const target = TARGETS[fault];
      const label =
        FAULTS[fault].title + (FAULTS[fault].tier === "haproxy" ? ` (${vrrp} VRRP)` : "");
      lines.push(
        `| ${label} | ${base ? headline(base).text : "n/a (the page has no unicast mode)"} | ` +
          `${ours ? headline(ours).text : "—"} | ${ratio(base, ours)} | ` +
          `${base ? failedText(base) : "—"} / ${ours ? failedText(ours) : "—"} | ` +
          `${target?.text ?? "—"} | ${target && ours ? (target.met(ours) ? "yes" : "**no**") : "—"} |`,
      );
    }
  }
  lines.push(
    "",
    "Ratio = baseline ÷ ours (how many times longer the page's config lets the fault cost clients). " +
      '"Failed new conns" counts connections started after the fault that failed, out of those attempted.',
    "",
    "## Details per run",
    "",
    "| fault | config | VRRP | failed / attempted after fault | last failed conn | failed after ejection | watches lost | split-brain samples | VIP samples (max gap) | failure causes |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const r of rep.scenarios) {
    const causes = Object.entries(r.afterFault.causes)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    lines.push(
      `| ${FAULTS[r.spec.fault].title} | ${r.spec.config} | ${r.vip ? r.spec.vrrp : "—"} | ${failedText(r)} | ` +
        `${r.lastFailureAfterMs === null ? "none" : `+${s(r.lastFailureAfterMs)}`} | ` +
        `${r.failedAfterEjection ?? "—"} | ${r.watches.lost}/${r.watches.opened} | ` +
        `${r.vip ? r.vip.splitBrainSamples : "—"} | ` +
        `${r.vip ? `${r.vip.samples} (${r.vip.maxSampleGapMs} ms)` : "—"} | ${causes || "—"} |`,
    );
  }
  lines.push(
    "",
    "Timelines: `bench/results/lb-<fault>.svg` (ok and failed new connections per 100 ms around the fault, each configuration).",
    "",
    "## The LB's cost",
    "",
    "Closed loop from the client host (each loop opens a TLS connection, sends `GET /ping`, reads `pong`, closes), " +
      "bounded by time; the paths take turns over several rounds and the rounds are pooled. " +
      "Latency = connect + handshake + first response byte, successful connections only. " +
      "The client, the LB and the stand-ins share the same CPUs, so this is an upper bound on the LB's cost.",
    "",
    "| config | path | loops | new conns/s | p50 | p99 | failed | rate vs direct (one stand-in) | rate vs direct (three) |",
    "|---|---|---|---|---|---|---|---|---|",
  );
  for (const { config, runs } of rep.cost) {
    const one = runs.find((r) => r.path.startsWith("straight to one"));
    const all = runs.find((r) => r.path.startsWith("straight to the three"));
    for (const run of runs) {
      const pct = (d?: CostRun) =>
        d ? `${Math.round((100 * run.connPerSec) / d.connPerSec)}%` : "—";
      lines.push(
        `| ${config} | ${run.path} | ${run.concurrency} | ${run.connPerSec.toFixed(0)} | ` +
          `${run.p50Ms.toFixed(1)} ms | ${run.p99Ms.toFixed(1)} ms | ${run.failed} | ${pct(one)} | ${pct(all)} |`,
      );
    }
  }
  lines.push("");
  return lines.join("\n");
}
