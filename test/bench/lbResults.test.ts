/**
 * Issue 12 (LB tier v2), judged on the committed benchmark results: reads bench/results/lb.json
 * (written by `npm run bench:lb`) and checks its summary against the issue's rows. Fails until a
 * conforming full run is committed. The bounds are the issue's, written out here, not taken from
 * the report's own TARGETS, so the report cannot grade itself.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import type { BenchReport } from "../../bench/lb/report";
import { GroupSummary, MeasureStats, findGroup, summarize } from "../../bench/lb/summary";

/** LB_RESULTS points it at another run's lb.json (e.g. a --quick run's, to check the harness). */
const RESULTS =
  process.env.LB_RESULTS ?? path.join(__dirname, "..", "..", "bench", "results", "lb.json");

/**
 * The procedure the program uses to roll each VRRP change over a live pair: "hold" (for a
 * compatible change, such as a VRRPv3 interval, it takes the same steps as "plain").
 */
const PROGRAM_ROLL: Record<string, string> = {
  "vrrp-roll-version": "hold",
  "vrrp-roll-interval": "hold",
};
describe("bench/results/lb.json: issue 12's LB tier v2 rows", () => {
  let rep: BenchReport;
  let summary: GroupSummary[];

  before(() => {
    rep = JSON.parse(fs.readFileSync(RESULTS, "utf8")) as BenchReport;
    summary = rep.summary ?? [];
  });

  const group = (fault: string, config: string, vrrp = "multicast", roll: string | null = null) => {
    const g = findGroup(summary, fault, config, vrrp, roll);
    expect(g, `a ${fault} / ${config} / ${vrrp}${roll ? ` / ${roll}` : ""} group in the summary`).to
      .not.be.undefined;
    return g!;
  };

  const measure = (g: GroupSummary, m: keyof GroupSummary["measures"]): MeasureStats => {
    const stats = g.measures[m];
    expect(stats, `${m} measured for ${g.fault} / ${g.config} / ${g.vrrp}`).to.not.be.undefined;
    return stats!;
  };

  /** Every run had the event (no null) and the worst run is within `ms`. */
  const worstWithin = (g: GroupSummary, m: keyof GroupSummary["measures"], ms: number) => {
    const stats = measure(g, m);
    const what = `${g.fault} / ${g.config} / ${g.vrrp}: ${m} ${JSON.stringify(stats.values)}`;
    expect(stats.nulls, `${what}: runs where it never happened`).to.equal(0);
    expect(stats.worst, `${what}: worst`).to.be.a("number").and.at.most(ms);
  };

  it("comes from one full run (not --quick, not --only) that took under 40 minutes", () => {
    expect(rep.flags, "lb.json records the run's flags").to.be.an("object");
    expect(rep.flags.quick, "--quick").to.equal(false);
    expect(rep.flags.only, "--only").to.equal(null);
    expect(rep.flags.full).to.equal(true);
    expect(rep.durationS, "run time (s)").to.be.below(40 * 60);
    expect(rep.errors, "runs that failed").to.deep.equal([]);
  });

  it("has a summary that matches its per-run details", () => {
    expect(rep.scenarios.length).to.be.greaterThan(0);
    expect(summary).to.deep.equal(JSON.parse(JSON.stringify(summarize(rep.scenarios))));
  });

  it("repeats each VIP-move fault ≥ 5 times (multicast) for the page's config and ours, and once with unicast for ours", () => {
    for (const fault of ["haproxy-kill", "haproxy-hang", "link-down", "power-off"]) {
      for (const config of ["baseline", "ours"]) {
        expect(group(fault, config).n, `${fault} / ${config} repeats`).to.be.at.least(5);
      }
      expect(group(fault, "ours", "unicast").n, `${fault} / ours / unicast`).to.be.at.least(1);
      expect(group(fault, "previous").n, `${fault} / previous`).to.be.at.least(1);
    }
  });

  for (const vrrp of ["multicast", "unicast"]) {
    it(`HAProxy killed (${vrrp}): VIP moved median ≤ 1.0 s, worst ≤ 1.5 s; failed new conns ≤ 1.5× the page's`, () => {
      const g = group("haproxy-kill", "ours", vrrp);
      const moved = measure(g, "vipMovedMs");
      expect(moved.median, `median of ${JSON.stringify(moved.values)}`)
        .to.be.a("number")
        .and.at.most(1_000);
      worstWithin(g, "vipMovedMs", 1_500);
      const page = measure(group("haproxy-kill", "baseline"), "failedNew");
      const ours = measure(g, "failedNew");
      expect(
        ours.median,
        `ours' median failed new conns ${JSON.stringify(ours.values)} vs the page's ${JSON.stringify(page.values)}`,
      ).to.be.at.most(1.5 * page.median!);
    });

    it(`HAProxy hung (${vrrp}): VIP moved, worst ≤ 2.0 s`, () => {
      worstWithin(group("haproxy-hang", "ours", vrrp), "vipMovedMs", 2_000);
    });

    it(`holder's link down (${vrrp}): VIP moved, worst ≤ 1.5 s`, () => {
      worstWithin(group("link-down", "ours", vrrp), "vipMovedMs", 1_500);
    });

    it(`holder powered off (${vrrp}): VIP moved, worst ≤ 1.5 s; back on: never two holders, no flap-back`, () => {
      worstWithin(group("power-off", "ours", vrrp), "vipMovedMs", 1_500);
      const back = group("power-back", "ours", vrrp);
      expect(measure(back, "twoHolderMaxMs").worst, "two-holder stretch (ms)").to.equal(0);
      expect(measure(back, "splitBrainSamples").worst, "two-holder samples").to.equal(0);
      const flap = measure(back, "flapBackMs");
      expect(flap.nulls, `flap-back after ${JSON.stringify(flap.values)} ms`).to.equal(flap.n);
    });

    it(`former holder comes back (${vrrp}): no flap-back`, () => {
      const flap = measure(group("link-back", "ours", vrrp), "flapBackMs");
      expect(flap.nulls, `flap-back after ${JSON.stringify(flap.values)} ms`).to.equal(flap.n);
    });
  }

  it("CPU starvation of each LB host in turn: 0 spurious VIP moves and no VRRP-caused failures (ours, and ours-floor when run)", () => {
    const groups = [group("starvation", "ours")];
    const floor = findGroup(summary, "starvation", "ours-floor", "multicast");
    if (floor) groups.push(floor);
    for (const g of groups) {
      expect(measure(g, "holderChanges").worst, `${g.config}: holder changes`).to.equal(0);
      expect(measure(g, "twoHolderMaxMs").worst, `${g.config}: two-holder stretch`).to.equal(0);
      expect(measure(g, "noHolderMaxMs").worst, `${g.config}: no-holder stretch`).to.equal(0);
    }
  });

  for (const fault of ["keepalived-kill", "keepalived-vrrp-kill"]) {
    it(`${fault}: VIP on one host only again ≤ 3 s, and KeepAlived back`, () => {
      const g = group(fault, "ours");
      worstWithin(g, "singleHolderAfterMs", 3_000);
      const back = measure(g, "daemonBackAfterMs");
      expect(back.nulls, `KeepAlived back after ${JSON.stringify(back.values)} ms`).to.equal(0);
    });
  }

  for (const [fault, roll] of Object.entries(PROGRAM_ROLL)) {
    it(`${fault} rolled one host at a time ("${roll}", the program's procedure): two holders ≤ one advert interval of the old settings`, () => {
      const g = group(fault, "ours", "multicast", roll);
      const runs = rep.scenarios.filter(
        (r) => r.spec.fault === fault && r.spec.config === "ours" && r.spec.roll === roll,
      );
      expect(runs.length).to.be.at.least(1);
      const old = runs.map((r) => r.oldAdvertIntervalMs);
      expect(old, "the old settings' advert interval, recorded per roll run").to.satisfy(
        (v: (number | undefined)[]) => v.every((x) => typeof x === "number" && x > 0),
      );
      worstWithin(g, "twoHolderMaxMs", Math.min(...(old as number[])));
    });
  }
});
