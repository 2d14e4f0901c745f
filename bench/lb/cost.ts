/** The LB's cost: new TLS connections per second and connect-to-first-byte latency, via VIP vs direct. */
import { API_PORT, HOST_ADDRESSES, STAND_INS, VIP } from "../../lab/constants";
import { Lab } from "../../lab/lab";
import { startLoad } from "../../lab/load";

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

/**
 * Every path `rounds` times, interleaved (VIP, direct, direct, VIP, ...) so drift from other
 * load on a shared machine spreads over all paths; rates and percentiles pool the rounds.
 */
export async function measureCost(
  lab: Lab,
  rounds: number,
  concurrency: number,
  durationMs: number,
): Promise<CostRun[]> {
  const paths = Object.values(COST_PATHS);
  const raw = paths.map(() => [] as RawRun[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, p] of paths.entries()) {
      raw[i].push(await closedLoop(lab, p.hosts, concurrency, durationMs));
    }
  }
  return paths.map((p, i) => {
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

export const COST_PATHS = {
  vip: { label: "through the VIP (HAProxy on the holder)", hosts: [VIP] },
  directOne: { label: "straight to one stand-in (server-1)", hosts: [HOST_ADDRESSES["server-1"]] },
  directAll: {
    label: "straight to the three stand-ins, round-robin by the client",
    hosts: STAND_INS.map((s) => HOST_ADDRESSES[s]),
  },
};
