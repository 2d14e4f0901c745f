/**
 * bench:program, judged on the committed results: reads bench/results/program.json (written by
 * `npm run bench:program`) and checks it is one complete side-by-side run of the previous release
 * and this tree, and that its summary is what its per-run details give. Fails, never skips, while
 * no run is committed. The performance targets are exposed in program.json but not asserted here
 * yet (the program is being optimised).
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_BASELINE } from "../../bench/program/options";
import { ProgramBenchReport, sourceChanges } from "../../bench/program/report";
import { TREES, summarize } from "../../bench/program/summary";

/** PROGRAM_RESULTS points it at another run's program.json (to check the harness on a trial run). */
const RESULTS =
  process.env.PROGRAM_RESULTS ??
  path.join(__dirname, "..", "..", "bench", "results", "program.json");

/** Written out here, not read from the report, so the report cannot pick what it is judged on. */
const SIZES = [3, 30, 100, 300];
const MIN_REPEATS = 3;
const TARGET_300 = { agents: 300, wallMs: 10_000, peakRssMiB: 400 };

describe("bench/results/program.json: the previous release and this tree side by side", () => {
  let rep: ProgramBenchReport;

  before(() => {
    if (!fs.existsSync(RESULTS)) {
      throw new Error(
        `no committed ${path.relative(process.cwd(), RESULTS)}: run npm run bench:program`,
      );
    }
    rep = JSON.parse(fs.readFileSync(RESULTS, "utf8")) as ProgramBenchReport;
  });

  it("records how to reproduce it: command, machine, node, date, both commits", () => {
    expect(rep.schema).to.equal(1);
    expect(rep.command, "command line").to.match(/bench(:program|\/program\.ts)/);
    expect(rep.machine.nproc, "nproc").to.be.a("number").and.at.least(1);
    expect(rep.machine.node, "node version").to.match(/^v\d+\./);
    expect(Number.isNaN(Date.parse(rep.date)), `date ${rep.date}`).to.equal(false);
    for (const tree of TREES) {
      expect(rep.trees[tree].commit, `${tree} commit`).to.match(/^[0-9a-f]{40}$/);
      expect(rep.trees[tree].programDigest, `${tree} program digest`).to.match(/^[0-9a-f]{64}$/);
    }
  });

  it(`measures this tree against the previous release (${DEFAULT_BASELINE})`, () => {
    expect(rep.flags.baseline, "--baseline").to.equal(DEFAULT_BASELINE);
    expect(rep.trees.baseline.commit.startsWith(DEFAULT_BASELINE), rep.trees.baseline.commit).to.be
      .true;
  });

  it(`covers both trees at ${SIZES.join(", ")} agents, ≥ ${MIN_REPEATS} runs each, none failed`, () => {
    expect(rep.errors, "evaluations that failed").to.deep.equal([]);
    expect(rep.flags.repeats, "--repeats").to.be.at.least(MIN_REPEATS);
    expect(rep.flags.sizes, "--sizes").to.include.members(SIZES);
    for (const agents of rep.flags.sizes) {
      for (const tree of TREES) {
        const runs = rep.runs.filter((r) => r.tree === tree && r.agents === agents);
        expect(
          runs.map((r) => r.repeat).sort((a, b) => a - b),
          `${tree} at ${agents} agents: one run per repeat`,
        ).to.deep.equal(Array.from({ length: rep.flags.repeats }, (_, i) => i + 1));
      }
    }
    expect(rep.runs, "no run outside the flags' sizes").to.have.length(
      rep.flags.sizes.length * rep.flags.repeats * TREES.length,
    );
  });

  it("interleaves the trees: each size's runs of one repeat ran back to back", () => {
    const seqs = rep.runs.map((r) => r.seq).sort((a, b) => a - b);
    expect(seqs, "each run's position, 1..n").to.deep.equal(seqs.map((_, i) => i + 1));
    for (const r of rep.runs.filter((x) => x.tree === "thisTree")) {
      const twin = rep.runs.find(
        (x) => x.tree === "baseline" && x.agents === r.agents && x.repeat === r.repeat,
      );
      expect(twin, `the baseline's run for ${r.agents} agents, repeat ${r.repeat}`).to.not.be
        .undefined;
      expect(Math.abs(twin!.seq - r.seq), `${r.agents} agents, repeat ${r.repeat}`).to.equal(1);
    }
  });

  it("evaluated one program source per tree from start to end (nobody edited it mid-run)", () => {
    expect(sourceChanges(rep)).to.deep.equal([]);
  });

  it("has a summary that matches its per-run details", () => {
    expect(rep.summary).to.deep.equal(JSON.parse(JSON.stringify(summarize(rep.runs))));
    expect(rep.summary.sizes).to.deep.equal(rep.flags.sizes);
  });

  it("registers the same resources in every run of a tree and size (the program is deterministic)", () => {
    for (const s of rep.summary.bySize) {
      for (const tree of TREES) {
        expect(s[tree], `${tree} at ${s.agents} agents`).to.not.be.null;
        expect(s[tree]!.countsAgree, `${tree} at ${s.agents} agents`).to.be.true;
        expect(s[tree]!.resources, `${tree} at ${s.agents} agents`).to.be.greaterThan(0);
      }
      expect(s.ratio, `this tree / previous at ${s.agents} agents`).to.not.be.null;
    }
    for (const tree of TREES) {
      const lin = rep.summary.linearity[tree];
      expect(lin?.check, `${tree}: linearity check`).to.not.be.null;
    }
  });

  it("exposes the 300-agent targets (≤ 10000 ms, ≤ 400 MiB) and whether this tree met them", () => {
    const s = rep.summary.bySize.find((x) => x.agents === TARGET_300.agents);
    expect(s, "a summary at 300 agents").to.not.be.undefined;
    expect(s!.target, "a target at 300 agents").to.not.be.null;
    expect(s!.target!.wallMs).to.equal(TARGET_300.wallMs);
    expect(s!.target!.peakRssMiB).to.equal(TARGET_300.peakRssMiB);
    expect(s!.target!.thisTree?.met, "this tree's verdict").to.be.a("boolean");
    expect(rep.targets).to.deep.include(TARGET_300);
    // Not asserted yet: s.target.thisTree.met (the program is being optimised).
  });
});
