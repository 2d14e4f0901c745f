/** Turns one scenario's raw samples (connections, watches, VIP samples) into its measurements. */
import { LbHostName } from "./constants";
import type { ConnRecord, LoadResult } from "./load/types";
import { VipSample, splitBrainSamples } from "./vip-watch";

export const BUCKET_MS = 100;

export interface ConnStats {
  attempted: number;
  failed: number;
  /** Failed by cause: timeout, ECONNREFUSED, ECONNRESET, closed, ... */
  causes: Record<string, number>;
}

export interface Timeline {
  /** Bucket i covers [fromMs + i*BUCKET_MS, +BUCKET_MS) relative to the fault, by start time. */
  fromMs: number;
  ok: number[];
  failed: number[];
}

export interface VipStats {
  samples: number;
  /** Samples where both LB hosts held the VIP. */
  splitBrainSamples: number;
  /** Samples where no LB host held it. */
  noHolderSamples: number;
  holderBefore: LbHostName | null;
  holderAtEnd: LbHostName | null;
  /** First sample after the fault where only the other host held it. */
  movedAfterMs: number | null;
  /** link-back: first sample after the fault where the returning host held it again. */
  returnedToAfterMs: number | null;
  /** Largest gap between two samples: the VIP timing resolution actually achieved. */
  maxSampleGapMs: number;
}

function connStats(conns: ConnRecord[]): ConnStats {
  const causes: Record<string, number> = {};
  for (const c of conns) if (!c[2]) causes[c[5]] = (causes[c[5]] ?? 0) + 1;
  return { attempted: conns.length, failed: conns.filter((c) => !c[2]).length, causes };
}

export function analyzeConns(load: LoadResult, faultAt: number) {
  const before = load.conns.filter((c) => c[0] < faultAt);
  const after = load.conns.filter((c) => c[0] >= faultAt);
  // A connection started just before the fault can still fail because of it.
  const failedSinceFault = load.conns.filter((c) => !c[2] && c[1] >= faultAt);
  const lastFailure = failedSinceFault.reduce((m, c) => Math.max(m, c[0]), -Infinity);
  return {
    beforeFault: connStats(before),
    afterFault: connStats(after),
    /** Start of the last failed connection, relative to the fault; null when none failed. */
    lastFailureAfterMs: failedSinceFault.length ? lastFailure - faultAt : null,
  };
}

/** Failed connections that started after `at` (e.g. after the server was ejected). */
export function failedStartedAfter(load: LoadResult, at: number): number {
  return load.conns.filter((c) => !c[2] && c[0] >= at).length;
}

export function watchStats(load: LoadResult, faultAt: number) {
  return {
    opened: load.watches.length,
    lost: load.watches.filter((w) => w.lostAt !== null).length,
    lostBeforeFault: load.watches.filter((w) => w.lostAt !== null && w.lostAt < faultAt).length,
    reasons: load.watches.map((w) => w.reason),
  };
}

export function timeline(
  load: LoadResult,
  faultAt: number,
  fromMs: number,
  toMs: number,
): Timeline {
  const n = Math.ceil((toMs - fromMs) / BUCKET_MS);
  const ok = new Array<number>(n).fill(0);
  const failed = new Array<number>(n).fill(0);
  for (const c of load.conns) {
    const i = Math.floor((c[0] - faultAt - fromMs) / BUCKET_MS);
    if (i < 0 || i >= n) continue;
    if (c[2]) ok[i]++;
    else failed[i]++;
  }
  return { fromMs, ok, failed };
}

function holderOf(s: VipSample): LbHostName | null {
  if (s[1] && !s[2]) return "lb-1";
  if (s[2] && !s[1]) return "lb-2";
  return null;
}

export function vipStats(
  samples: VipSample[],
  faultAt: number,
  holderBefore: LbHostName | null,
  returning?: LbHostName,
): VipStats {
  const after = samples.filter((s) => s[0] >= faultAt);
  const moved = after.find(
    (s) => holderBefore !== null && holderOf(s) !== null && holderOf(s) !== holderBefore,
  );
  const returned = returning ? after.find((s) => (returning === "lb-1" ? s[1] : s[2])) : undefined;
  let maxGap = 0;
  for (let i = 1; i < samples.length; i++)
    maxGap = Math.max(maxGap, samples[i][0] - samples[i - 1][0]);
  const last = samples[samples.length - 1];
  return {
    samples: samples.length,
    splitBrainSamples: splitBrainSamples(samples),
    noHolderSamples: samples.filter((s) => !s[1] && !s[2]).length,
    holderBefore,
    holderAtEnd: last ? holderOf(last) : null,
    movedAfterMs: moved ? moved[0] - faultAt : null,
    returnedToAfterMs: returned ? returned[0] - faultAt : null,
    maxSampleGapMs: maxGap,
  };
}
