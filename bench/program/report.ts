/** bench:program's results file (program.json) and its markdown (program.md). */
import { RunResult, Summary, Target, Tree } from "./summary";

export interface TreeInfo {
  /** What was asked for (--baseline), or "working tree". */
  ref: string;
  commit: string;
  /** Where its index.ts was evaluated from. */
  programDir: string;
  /** sha256 over index.ts and components/** (bench/program/checkout.ts programDigest). */
  programDigest: string;
  /** sha256 of the Pulumi.dev.yaml whose config (plus the generated agents) the program got. */
  stackFileDigest: string;
  /** This tree only: `git status --porcelain` at the start (uncommitted changes it ran with). */
  status?: string[];
}

export interface RunError {
  tree: Tree;
  agents: number;
  repeat: number;
  seq: number;
  message: string;
}

export interface ProgramBenchReport {
  schema: 1;
  /** How to run it again. */
  command: string;
  flags: { baseline: string; repeats: number; sizes: number[]; servers: number; warmup: string };
  /** ISO time the run started; duration in seconds. */
  date: string;
  durationS: number;
  machine: {
    nproc: number;
    cpuModel: string;
    node: string;
    platform: string;
    kernel: string;
    loadavgStart: number[];
    loadavgEnd: number[];
  };
  trees: Record<Tree, TreeInfo>;
  /** What differs between the two trees besides the program (package.json dependencies). */
  notes: string[];
  /** Targets for this tree (judged in summary.bySize[].target). */
  targets: Target[];
  runs: RunResult[];
  errors: RunError[];
  summary: Summary;
}

const LABEL: Record<Tree, string> = { baseline: "previous release", thisTree: "this tree" };

/** Runs that did not evaluate the source their tree had when the benchmark started. */
export function sourceChanges(rep: ProgramBenchReport): string[] {
  return (["baseline", "thisTree"] as const).flatMap((tree) => {
    const runs = rep.runs.filter((r) => r.tree === tree);
    const other = runs.filter(
      (r) => r.programChanged || r.programDigest !== rep.trees[tree].programDigest,
    );
    return other.length
      ? [
          `${LABEL[tree]}: its program's source changed during the benchmark: runs ${other
            .map((r) => `#${r.seq}`)
            .join(", ")} evaluated another source than the run started with; run it again`,
        ]
      : [];
  });
}

const x = (r: number) => `${r.toFixed(2)}×`;

export function renderMarkdown(rep: ProgramBenchReport): string {
  const { summary, trees } = rep;
  const base = `${LABEL.baseline} (${trees.baseline.commit.slice(0, 7)})`;
  const out: string[] = [
    "# bench:program: the previous release and this tree side by side",
    "",
    `The program (\`index.ts\`) evaluated under mocks for ${rep.flags.servers} servers and ${rep.flags.sizes.join(", ")} agents; ` +
      `each evaluation in its own child process, ${rep.flags.repeats} per tree and size, the two trees interleaved ` +
      `(alternating which goes first), so noise on the machine hits both alike; first ${rep.flags.warmup}. ` +
      "Wall time is measured around the evaluation only; peak RSS is the child's.",
    "",
    `- command: \`${rep.command}\``,
    `- date: ${rep.date} (took ${Math.round(rep.durationS)} s)`,
    `- machine: nproc ${rep.machine.nproc}, ${rep.machine.cpuModel}, ${rep.machine.platform} ${rep.machine.kernel}, ` +
      `load average ${rep.machine.loadavgStart.map((l) => l.toFixed(2)).join(" ")} at the start, ` +
      `${rep.machine.loadavgEnd.map((l) => l.toFixed(2)).join(" ")} at the end`,
    `- node: ${rep.machine.node}`,
    `- baseline: ${base}: \`${trees.baseline.ref}\` = ${trees.baseline.commit}, program digest ${trees.baseline.programDigest.slice(0, 12)}`,
    `- this tree: ${trees.thisTree.commit}` +
      (trees.thisTree.status?.length
        ? ` with ${trees.thisTree.status.length} uncommitted change(s) (${trees.thisTree.status
            .slice(0, 8)
            .map((s) => `\`${s.trim()}\``)
            .join(", ")}${trees.thisTree.status.length > 8 ? ", ..." : ""})`
        : " (clean)") +
      `, program digest ${trees.thisTree.programDigest.slice(0, 12)}` +
      (trees.thisTree.programDigest === trees.baseline.programDigest
        ? " (the same program source as the baseline: the ratios show the noise)"
        : ""),
    ...rep.notes.map((n) => `- note: ${n}`),
    ...sourceChanges(rep).map((n) => `- **${n}**`),
    "",
    `| agents | tree | resources | host steps | wall ms (median / worst of ${rep.flags.repeats}) | peak RSS MiB (median / worst) | ms per resource |`,
    "| -----: | :--- | --------: | ---------: | ---------------: | ---------------: | --------------: |",
  ];
  for (const s of summary.bySize) {
    for (const tree of ["baseline", "thisTree"] as const) {
      const c = s[tree];
      if (!c) {
        out.push(`| ${s.agents} | ${LABEL[tree]} | — | — | no run | no run | — |`);
        continue;
      }
      const counts = c.countsAgree ? "" : " (varied)";
      out.push(
        `| ${s.agents} | ${LABEL[tree]} | ${c.resources}${counts} | ${c.hostSteps}${counts} | ${c.wallMs.median} / ${c.wallMs.worst} | ${c.peakRssMiB.median} / ${c.peakRssMiB.worst} | ${c.msPerResource.toFixed(2)} |`,
      );
    }
    if (s.ratio) {
      const r = s.ratio;
      out.push(
        `| ${s.agents} | this tree / previous | ${x(r.resources)} | ${x(r.hostSteps)} | ${x(r.wallMsMedian)} / ${x(r.wallMsWorst)} | ${x(r.peakRssMiBMedian)} / ${x(r.peakRssMiBWorst)} | |`,
      );
    }
  }
  out.push("", "## Growth with size", "");
  for (const tree of ["thisTree", "baseline"] as const) {
    const lin = summary.linearity[tree];
    if (!lin) continue;
    out.push(
      `${LABEL[tree]}:`,
      "",
      "| agents | resources × | wall × | peak RSS × | added ms per added resource |",
      "| -----: | ----------: | -----: | ---------: | --------------------------: |",
      ...lin.steps.map(
        (g) =>
          `| ${g.from} → ${g.to} | ${g.resourcesGrowth.toFixed(2)} | ${g.wallGrowth.toFixed(2)} | ${g.peakRssGrowth.toFixed(2)} | ${g.marginalMsPerResource?.toFixed(2) ?? "—"} |`,
      ),
      "",
    );
    if (lin.check) {
      const c = lin.check;
      out.push(
        `Linearity: wall(${c.to})/wall(${c.from}) = ${c.wallGrowth.toFixed(2)} against resources(${c.to})/resources(${c.from}) = ${c.resourcesGrowth.toFixed(2)}: ` +
          (c.wallNoFasterThanResources
            ? "wall time grows no faster than the resources."
            : "**wall time grows faster than the resources.**") +
          (lin.fit
            ? ` Least squares over every size: ${lin.fit.fixedMs} ms + ${lin.fit.msPerResource.toFixed(2)} ms per resource (r² ${lin.fit.r2.toFixed(3)}).`
            : ""),
        "",
      );
    }
  }
  out.push("## Targets", "");
  const judged = summary.bySize.filter((s) => s.target);
  for (const t of rep.targets) {
    const s = judged.find((j) => j.agents === t.agents);
    const head = `${t.agents} agents: ≤ ${t.wallMs} ms and ≤ ${t.peakRssMiB} MiB (median of the runs)`;
    if (!s?.target) {
      out.push(`- ${head}: not measured in this run`);
      continue;
    }
    const line = (tree: Tree) => {
      const v = s.target![tree];
      const c = s[tree];
      if (!v || !c) return `${LABEL[tree]}: no run`;
      const misses = [v.wallMsMet ? "" : "wall", v.peakRssMiBMet ? "" : "RSS"].filter(Boolean);
      return (
        `${LABEL[tree]} ${c.wallMs.median} ms, ${c.peakRssMiB.median} MiB: ` +
        (v.met
          ? v.metInEveryRun
            ? "met (in every run)"
            : "met (not in every run)"
          : `not met (${misses.join(", ")})`)
      );
    };
    out.push(`- ${head}: ${line("thisTree")}; ${line("baseline")}`);
  }
  const ourPath = rep.runs.find((r) => r.tree === "thisTree")?.criticalPath;
  if (ourPath)
    out.push("", `Critical path (this tree, ${ourPath.length} steps): ${ourPath.join(" → ")}`);
  out.push(
    "",
    "## Every run",
    "",
    "| # | tree | agents | repeat | resources | host steps | wall ms | peak RSS MiB |",
    "| -: | :--- | -----: | -----: | --------: | ---------: | ------: | -----------: |",
    ...[...rep.runs]
      .sort((a, b) => a.seq - b.seq)
      .map(
        (r) =>
          `| ${r.seq} | ${LABEL[r.tree]} | ${r.agents} | ${r.repeat} | ${r.resources} | ${r.hostSteps} | ${r.wallMs} | ${r.peakRssMiB} |`,
      ),
  );
  if (rep.errors.length) {
    out.push("", "## Failed runs", "");
    for (const e of rep.errors) {
      out.push(
        `- #${e.seq} ${LABEL[e.tree]}, ${e.agents} agents, repeat ${e.repeat}:`,
        "",
        "```",
        e.message.trim(),
        "```",
        "",
      );
    }
  }
  return out.join("\n") + "\n";
}
