/** The LB's cost: new TLS connections per second and connect-to-first-byte latency, via VIP vs direct. */
import { API_PORT, HOST_ADDRESSES, STAND_INS, VIP } from "../../harness/lb-lab/constants";
import { CONFIG_SETS, ConfigName } from "../../harness/lb-lab/configs/config-set";
import { Lab } from "../../harness/lb-lab/lab";
import { LbTier } from "../../harness/lb-lab/lb-tier";
import { startLoad } from "../../harness/lb-lab/load";

export interface CostRun {
  path: string;
  concurrency: number;
  durationMs: number;
  completed: number;
  failed: number;
  connPerSec: number;
  /** Connect + TLS handshake + GET /ping until "pong", successful connections only. */
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface RawRun {
  elapsedMs: number;
  latencies: number[];
  failed: number;
}

/** One closed-loop run: `concurrency` loops back to back, bounded by time and by count. */
async function closedLoop(
  lab: Lab,
  hosts: string[],
  concurrency: number,
  durationMs: number,
): Promise<RawRun> {
  const load = startLoad(lab.programs.loadClient, {
    targets: hosts.map((host) => ({ host, port: API_PORT })),
    caFile: lab.cert.cert,
    mode: "closed",
    intervalMs: 0,
    concurrency,
    durationMs,
    maxConnections: 50_000,
    timeoutMs: 2_000,
    watches: 0,
    watchStallMs: 3_500,
  });
  const result = await load.result;
  const ok = result.conns.filter((c) => c[2]);
  return {
    elapsedMs: result.endedAt - result.startedAt,
    latencies: ok.map((c) => c[4]),
    failed: result.conns.length - ok.length,
  };
}

/** A way from the client to a stand-in; `config` set = through that config's VIP holder. */
export interface CostPath {
  label: string;
  hosts: string[];
  config?: ConfigName;
}

export const COST_PATHS: CostPath[] = [
  { label: "through the VIP, rendered config (ours)", hosts: [VIP], config: "ours" },
  { label: "through the VIP, page's config (baseline)", hosts: [VIP], config: "baseline" },
  { label: "straight to one stand-in (server-1)", hosts: [HOST_ADDRESSES["server-1"]] },
  {
    label: "straight to the three stand-ins, round-robin by the client",
    hosts: STAND_INS.map((s) => HOST_ADDRESSES[s]),
  },
];

/**
 * Every path `rounds` times, taking turns, so drift from other load on a shared machine spreads
 * over all paths; rates and percentiles pool the rounds. The LB pair runs only for VIP paths.
 */
export async function measureCost(
  lab: Lab,
  tier: LbTier,
  rounds: number,
  concurrency: number,
  durationMs: number,
): Promise<CostRun[]> {
  const raw = COST_PATHS.map(() => [] as RawRun[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, p] of COST_PATHS.entries()) {
      if (p.config) await tier.startHaproxyPair(CONFIG_SETS[p.config], "multicast");
      else await tier.stop();
      raw[i].push(await closedLoop(lab, p.hosts, concurrency, durationMs));
    }
  }
  await tier.stop();
  return COST_PATHS.map((p, i) => {
    const latencies = raw[i].flatMap((r) => r.latencies).sort((a, b) => a - b);
    const elapsed = raw[i].reduce((sum, r) => sum + r.elapsedMs, 0);
    return {
      path: p.label,
      concurrency,
      durationMs: elapsed,
      completed: latencies.length,
      failed: raw[i].reduce((sum, r) => sum + r.failed, 0),
      connPerSec: (latencies.length * 1000) / elapsed,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  });
}
