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
  /**
   * Longest stretch with the VIP on both hosts, and with it on neither: from the stretch's first
   * sample to the first sample after it (to the last sample when it lasts to the end); 0 if none.
   */
  twoHolderMaxMs: number;
  noHolderMaxMs: number;
  /** After the fault: how often the single holder differed from the previous single holder. */
  holderChanges: number;
  /**
   * From the fault until exactly one host holds the VIP and keeps holding it to the last sample
   * (0 when that never stopped being so); null when the run ends without a single holder.
   */
  singleHolderAfterMs: number | null;
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

type Kind = "none" | "lb-1" | "lb-2" | "both";

function kindOf(s: VipSample): Kind {
  if (s[1] && s[2]) return "both";
  return holderOf(s) ?? "none";
}

/** Longest run of samples of one kind, timed from its first sample to the first one after it. */
export function longestStretchMs(samples: VipSample[], kind: "both" | "none"): number {
  let longest = 0;
  let start: number | null = null;
  for (let i = 0; i < samples.length; i++) {
    const is = kindOf(samples[i]) === kind;
    if (is && start === null) start = samples[i][0];
    if (!is && start !== null) {
      longest = Math.max(longest, samples[i][0] - start);
      start = null;
    }
  }
  if (start !== null) longest = Math.max(longest, samples[samples.length - 1][0] - start);
  return longest;
}

/** Changes of the single holder from the sample before the fault on; two or no holders skipped. */
export function holderChanges(samples: VipSample[], faultAt: number): number {
  let last: LbHostName | null = null;
  for (const s of samples.filter((x) => x[0] < faultAt)) last = holderOf(s) ?? last;
  let changes = 0;
  for (const s of samples.filter((x) => x[0] >= faultAt)) {
    const h = holderOf(s);
    if (h === null) continue;
    if (last !== null && h !== last) changes++;
    last = h;
  }
  return changes;
}

/** From the fault until one host holds the VIP alone and keeps it to the end; see VipStats. */
export function singleHolderAfterMs(samples: VipSample[], faultAt: number): number | null {
  const after = samples.filter((s) => s[0] >= faultAt);
  const final = after.length ? holderOf(after[after.length - 1]) : null;
  if (final === null) return null;
  let i = after.length - 1;
  while (i > 0 && holderOf(after[i - 1]) === final) i--;
  return i === 0 ? 0 : after[i][0] - faultAt;
}

/**
 * From the fault until a process of the daemon runs again that was not running at the fault: the
 * first sample (time, running pids) holding a pid outside `before`; null if none did.
 */
export function backAfterMs(
  samples: [number, number[]][],
  faultAt: number,
  before: number[],
): number | null {
  const back = samples.find(([t, pids]) => t >= faultAt && pids.some((p) => !before.includes(p)));
  return back ? back[0] - faultAt : null;
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
    twoHolderMaxMs: longestStretchMs(samples, "both"),
    noHolderMaxMs: longestStretchMs(samples, "none"),
    holderChanges: holderChanges(samples, faultAt),
    singleHolderAfterMs: singleHolderAfterMs(samples, faultAt),
  };
}
