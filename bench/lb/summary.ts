/**
 * Groups the benchmark's runs by (fault, config, VRRP mode, roll procedure) and reduces each group
 * to median and worst per measure. Pure: bench/lb.ts writes the result into lb.json as `summary`,
 * and test/bench/lbResults.test.ts recomputes it from the per-run details to check the two agree.
 */
import type { ScenarioResult } from "../../harness/lb-lab/scenario";

/** VipStats fields the lab adds for issue 12; read optionally so older results still summarise. */
export const VIP_V2_FIELDS = [
  "twoHolderMaxMs",
  "noHolderMaxMs",
  "holderChanges",
  "singleHolderAfterMs",
] as const;
export type VipV2Field = (typeof VIP_V2_FIELDS)[number];

export type Measure =
  | "vipMovedMs"
  | "failedNew"
  | "attemptedNew"
  | "ejectedMs"
  | "lastFailureMs"
  | "splitBrainSamples"
  | "noHolderSamples"
  | "flapBackMs"
  | "daemonBackAfterMs"
  | VipV2Field;

/**
 * One measure over a group's runs. `nulls` = runs where the event did not happen within the
 * window (VIP never moved, KeepAlived never back, ...); they count as worse than any number, so
 * `worst` is null as soon as one run has it, and `median` is null when half or more have it.
 * Runs whose result lacks the field entirely (not measured) are left out of `n`.
 */
export interface MeasureStats {
  n: number;
  nulls: number;
  median: number | null;
  worst: number | null;
  best: number | null;
  values: (number | null)[];
}

export interface GroupSummary {
  fault: string;
  config: string;
  vrrp: string;
  /** The roll procedure, for the VRRP roll faults. */
  roll: string | null;
  /** Runs in the group (repeats). */
  n: number;
  measures: Partial<Record<Measure, MeasureStats>>;
}

/** The roll procedure of a run, if the spec names one (ScenarioSpec.roll). */
export function rollOf(r: ScenarioResult): string | null {
  return r.spec.roll ?? null;
}

type Extract = (r: ScenarioResult) => number | null | undefined;

const vipField =
  (field: VipV2Field): Extract =>
  (r) => {
    if (!r.vip) return undefined;
    const v = (r.vip as unknown as Partial<Record<VipV2Field, number | null>>)[field];
    return v === undefined ? undefined : v;
  };

const EXTRACT: Record<Measure, Extract> = {
  vipMovedMs: (r) => (r.vip ? r.vip.movedAfterMs : undefined),
  failedNew: (r) => r.afterFault.failed,
  attemptedNew: (r) => r.afterFault.attempted,
  ejectedMs: (r) => r.ejectedAfterMs,
  lastFailureMs: (r) => r.lastFailureAfterMs,
  splitBrainSamples: (r) => (r.vip ? r.vip.splitBrainSamples : undefined),
  noHolderSamples: (r) => (r.vip ? r.vip.noHolderSamples : undefined),
  flapBackMs: (r) => (r.vip ? r.vip.returnedToAfterMs : undefined),
  twoHolderMaxMs: vipField("twoHolderMaxMs"),
  noHolderMaxMs: vipField("noHolderMaxMs"),
  holderChanges: vipField("holderChanges"),
  singleHolderAfterMs: vipField("singleHolderAfterMs"),
  // ScenarioResult.daemonBackAfterMs: measured for the KeepAlived kills only (null elsewhere).
  daemonBackAfterMs: (r) => {
    if (!r.spec.fault.startsWith("keepalived-")) return undefined;
    return r.daemonBackAfterMs;
  },
};

/** Measures where null is a normal outcome, not "worse than any number" (no failure = no time). */
const NULL_IS_NONE: Measure[] = ["lastFailureMs", "flapBackMs", "ejectedMs"];

export function measureStats(values: (number | null)[], nullIsWorst = true): MeasureStats {
  const nums = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  const nulls = values.length - nums.length;
  if (!nullIsWorst) {
    const mid = nums.length / 2;
    return {
      n: values.length,
      nulls,
      median:
        nums.length === 0
          ? null
          : nums.length % 2
            ? nums[Math.floor(mid)]
            : (nums[mid - 1] + nums[mid]) / 2,
      worst: nums.length ? nums[nums.length - 1] : null,
      best: nums.length ? nums[0] : null,
      values,
    };
  }
  // null sorts after every number.
  const sorted: (number | null)[] = [...nums, ...new Array<null>(nulls).fill(null)];
  const n = sorted.length;
  let median: number | null = null;
  if (n % 2) median = sorted[(n - 1) / 2];
  else {
    const [a, b] = [sorted[n / 2 - 1], sorted[n / 2]];
    median = a === null || b === null ? null : (a + b) / 2;
  }
  return {
    n,
    nulls,
    median,
    worst: n === 0 ? null : sorted[n - 1],
    best: nums.length ? nums[0] : null,
    values,
  };
}

export function groupKey(r: ScenarioResult): string {
  return [r.spec.fault, r.spec.config, r.spec.vrrp, rollOf(r) ?? ""].join("|");
}

export function summarize(scenarios: ScenarioResult[]): GroupSummary[] {
  const groups = new Map<string, ScenarioResult[]>();
  for (const r of scenarios) groups.set(groupKey(r), [...(groups.get(groupKey(r)) ?? []), r]);
  return [...groups.values()].map((runs) => {
    const measures: Partial<Record<Measure, MeasureStats>> = {};
    for (const [m, extract] of Object.entries(EXTRACT) as [Measure, Extract][]) {
      const values = runs.map(extract).filter((v): v is number | null => v !== undefined);
      if (values.length === 0) continue;
      measures[m] = measureStats(values, !NULL_IS_NONE.includes(m));
    }
    return {
      fault: runs[0].spec.fault,
      config: runs[0].spec.config,
      vrrp: runs[0].spec.vrrp,
      roll: rollOf(runs[0]),
      n: runs.length,
      measures,
    };
  });
}

export function findGroup(
  summary: GroupSummary[],
  fault: string,
  config: string,
  vrrp: string,
  roll: string | null = null,
): GroupSummary | undefined {
  return summary.find(
    (g) =>
      g.fault === fault &&
      g.config === config &&
      g.vrrp === vrrp &&
      (roll === null || g.roll === roll),
  );
}
