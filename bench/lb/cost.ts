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

/** One closed-loop run: `concurrency` loops back to back, bounded by time and by count. */
export async function measurePath(
  lab: Lab,
  path: string,
  hosts: string[],
  concurrency: number,
  durationMs: number,
): Promise<CostRun> {
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
  const latencies = ok.map((c) => c[4]).sort((a, b) => a - b);
  const elapsed = result.endedAt - result.startedAt;
  return {
    path,
    concurrency,
    durationMs: elapsed,
    completed: ok.length,
    failed: result.conns.length - ok.length,
    connPerSec: (ok.length * 1000) / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

export const COST_PATHS = {
  vip: { label: "through the VIP (HAProxy on the holder)", hosts: [VIP] },
  directOne: { label: "straight to one stand-in (server-1)", hosts: [HOST_ADDRESSES["server-1"]] },
  directAll: {
    label: "straight to the three stand-ins, round-robin by the client",
    hosts: STAND_INS.map((s) => HOST_ADDRESSES[s]),
  },
};
