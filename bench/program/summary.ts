/**
 * Reduces bench:program's runs to one summary: per (size, tree) the median and worst of wall time
 * and peak RSS, this tree over the previous release, growth with size, and the 300-agent targets.
 * Pure: bench/program.ts writes `summarize(runs)` into program.json as `summary`, and
 * test/bench/programResults.test.ts recomputes it from the per-run details to check the two agree.
 */

export const TREES = ["baseline", "thisTree"] as const;
export type Tree = (typeof TREES)[number];

/** What one child process measured: one evaluation of one tree's program at one size. */
export interface Measurement {
  agents: number;
  resources: number;
  hostSteps: number;
  /** Around runProgram only (hrtime), rounded to the millisecond. */
  wallMs: number;
  /** The child's maxRSS right after the evaluation (the process's peak so far), MiB. */
  peakRssMiB: number;
  /** The longest chain of dependent host steps (computed after the clock stopped). */
  criticalPath: string[];
}

export interface RunResult extends Measurement {
  tree: Tree;
  /** 1-based: which round of the sizes this run belongs to. */
  repeat: number;
  /** 1-based position among the run's child processes (the order they ran in). */
  seq: number;
  /** The tree's program source (index.ts and components/**) when the child started, sha256. */
  programDigest: string;
  /** The source differed when the child ended (someone edited the tree during the evaluation). */
  programChanged: boolean;
}

/** Lower is better for every measure here: worst = largest. */
export interface Stats {
  n: number;
  median: number;
  worst: number;
  best: number;
  values: number[];
}

export interface CellSummary {
  n: number;
  /** The runs' resource and host-step counts (the median, should they ever differ: see countsAgree). */
  resources: number;
  hostSteps: number;
  /** Every run registered the same number of resources and host steps. */
  countsAgree: boolean;
  criticalPathSteps: number;
  wallMs: Stats;
  peakRssMiB: Stats;
  /** Median wall ms over resources / host steps. */
  msPerResource: number;
  msPerHostStep: number;
}

/** This tree over the previous release. */
export interface Ratio {
  wallMsMedian: number;
  wallMsWorst: number;
  peakRssMiBMedian: number;
  peakRssMiBWorst: number;
  resources: number;
  hostSteps: number;
}

export interface Target {
  agents: number;
  wallMs: number;
  peakRssMiB: number;
}

/** The targets for the program's evaluation (3 servers), judged on this tree's median. */
export const TARGETS: Target[] = [{ agents: 300, wallMs: 10_000, peakRssMiB: 400 }];

export interface Verdict {
  wallMsMet: boolean;
  peakRssMiBMet: boolean;
  /** Both medians within the target. */
  met: boolean;
  /** Both worsts within the target. */
  metInEveryRun: boolean;
}

export interface TargetCheck {
  wallMs: number;
  peakRssMiB: number;
  judgedOn: "median";
  thisTree: Verdict | null;
  baseline: Verdict | null;
}

export interface SizeSummary {
  agents: number;
  baseline: CellSummary | null;
  thisTree: CellSummary | null;
  ratio: Ratio | null;
  /** null: no target at this size. */
  target: TargetCheck | null;
}

/** From one size to the next (medians). */
export interface GrowthStep {
  from: number;
  to: number;
  resourcesGrowth: number;
  wallGrowth: number;
  peakRssGrowth: number;
  /** Added wall ms per added resource: rising from step to step means worse than linear. */
  marginalMsPerResource: number | null;
}

export interface Linearity {
  steps: GrowthStep[];
  /**
   * Wall growth against resource growth from the second-smallest size (30 agents by default: the
   * smallest is mostly start-up) to the largest. Linear or better when wall grows no faster.
   */
  check: {
    from: number;
    to: number;
    wallGrowth: number;
    resourcesGrowth: number;
    wallNoFasterThanResources: boolean;
  } | null;
  /** Least squares of median wall ms on resources over every size. */
  fit: { msPerResource: number; fixedMs: number; r2: number } | null;
}

export interface Summary {
  sizes: number[];
  bySize: SizeSummary[];
  linearity: Record<Tree, Linearity | null>;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function stats(values: number[]): Stats {
  return {
    n: values.length,
    median: median(values),
    worst: Math.max(...values),
    best: Math.min(...values),
    values,
  };
}

function cell(runs: RunResult[]): CellSummary | null {
  if (runs.length === 0) return null;
  const wallMs = stats(runs.map((r) => r.wallMs));
  const resources = median(runs.map((r) => r.resources));
  const hostSteps = median(runs.map((r) => r.hostSteps));
  return {
    n: runs.length,
    resources,
    hostSteps,
    countsAgree: runs.every(
      (r) => r.resources === runs[0].resources && r.hostSteps === runs[0].hostSteps,
    ),
    criticalPathSteps: median(runs.map((r) => r.criticalPath.length)),
    wallMs,
    peakRssMiB: stats(runs.map((r) => r.peakRssMiB)),
    msPerResource: round(wallMs.median / resources, 2),
    msPerHostStep: round(wallMs.median / hostSteps, 2),
  };
}

function ratio(base: CellSummary, ours: CellSummary): Ratio {
  const r = (a: number, b: number) => round(a / b, 3);
  return {
    wallMsMedian: r(ours.wallMs.median, base.wallMs.median),
    wallMsWorst: r(ours.wallMs.worst, base.wallMs.worst),
    peakRssMiBMedian: r(ours.peakRssMiB.median, base.peakRssMiB.median),
    peakRssMiBWorst: r(ours.peakRssMiB.worst, base.peakRssMiB.worst),
    resources: r(ours.resources, base.resources),
    hostSteps: r(ours.hostSteps, base.hostSteps),
  };
}

function verdict(t: Target, c: CellSummary | null): Verdict | null {
  if (!c) return null;
  const wallMsMet = c.wallMs.median <= t.wallMs;
  const peakRssMiBMet = c.peakRssMiB.median <= t.peakRssMiB;
  return {
    wallMsMet,
    peakRssMiBMet,
    met: wallMsMet && peakRssMiBMet,
    metInEveryRun: c.wallMs.worst <= t.wallMs && c.peakRssMiB.worst <= t.peakRssMiB,
  };
}

function linearity(cells: { agents: number; c: CellSummary | null }[]): Linearity | null {
  const pts = cells.filter((x): x is { agents: number; c: CellSummary } => x.c !== null);
  if (pts.length < 2) return null;
  const steps = pts.slice(1).map(({ agents, c }, i): GrowthStep => {
    const a = pts[i].c;
    const added = c.resources - a.resources;
    return {
      from: pts[i].agents,
      to: agents,
      resourcesGrowth: round(c.resources / a.resources, 3),
      wallGrowth: round(c.wallMs.median / a.wallMs.median, 3),
      peakRssGrowth: round(c.peakRssMiB.median / a.peakRssMiB.median, 3),
      marginalMsPerResource:
        added > 0 ? round((c.wallMs.median - a.wallMs.median) / added, 2) : null,
    };
  });
  const from = pts.length > 2 ? pts[1] : pts[0];
  const to = pts[pts.length - 1];
  const wallGrowth = round(to.c.wallMs.median / from.c.wallMs.median, 3);
  const resourcesGrowth = round(to.c.resources / from.c.resources, 3);
  const xs = pts.map((p) => p.c.resources);
  const ys = pts.map((p) => p.c.wallMs.median);
  const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
  const my = ys.reduce((s, y) => s + y, 0) / ys.length;
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  const sxy = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0);
  const syy = ys.reduce((s, y) => s + (y - my) ** 2, 0);
  let fit: Linearity["fit"] = null;
  if (sxx > 0) {
    const slope = sxy / sxx;
    fit = {
      msPerResource: round(slope, 2),
      fixedMs: round(my - slope * mx, 0),
      r2: syy > 0 ? round((sxy * sxy) / (sxx * syy), 4) : 1,
    };
  }
  return {
    steps,
    check: {
      from: from.agents,
      to: to.agents,
      wallGrowth,
      resourcesGrowth,
      wallNoFasterThanResources: wallGrowth <= resourcesGrowth,
    },
    fit,
  };
}

export function summarize(runs: RunResult[], targets: Target[] = TARGETS): Summary {
  const sizes = [...new Set(runs.map((r) => r.agents))].sort((a, b) => a - b);
  const of = (tree: Tree, agents: number) =>
    cell(runs.filter((r) => r.tree === tree && r.agents === agents).sort((a, b) => a.seq - b.seq));
  const bySize = sizes.map((agents): SizeSummary => {
    const baseline = of("baseline", agents);
    const thisTree = of("thisTree", agents);
    const t = targets.find((x) => x.agents === agents);
    return {
      agents,
      baseline,
      thisTree,
      ratio: baseline && thisTree ? ratio(baseline, thisTree) : null,
      target: t
        ? {
            wallMs: t.wallMs,
            peakRssMiB: t.peakRssMiB,
            judgedOn: "median",
            thisTree: verdict(t, thisTree),
            baseline: verdict(t, baseline),
          }
        : null,
    };
  });
  return {
    sizes,
    bySize,
    linearity: {
      baseline: linearity(bySize.map((s) => ({ agents: s.agents, c: s.baseline }))),
      thisTree: linearity(bySize.map((s) => ({ agents: s.agents, c: s.thisTree }))),
    },
  };
}
