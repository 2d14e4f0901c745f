/** The lab's measurement arithmetic (pure: no namespaces, no root). */
import { expect } from "chai";
import {
  analyzeConns,
  backAfterMs,
  failedStartedAfter,
  holderChanges,
  longestStretchMs,
  singleHolderAfterMs,
  timeline,
  vipStats,
} from "../../harness/lb-lab/analyze";
import { parseShowStat } from "../../harness/lb-lab/haproxy-stats";
import type { ConnRecord, LoadResult } from "../../harness/lb-lab/load/types";
import { VipSample } from "../../harness/lb-lab/vip-watch";

const FAULT = 10_000;

function load(conns: ConnRecord[]): LoadResult {
  return { startedAt: 0, endedAt: 20_000, conns, watches: [] };
}

const ok = (start: number): ConnRecord => [start, start + 10, 1, 5, 10, ""];
const failed = (start: number, end = start + 1500, cause = "timeout"): ConnRecord => [
  start,
  end,
  0,
  -1,
  -1,
  cause,
];

describe("lab measurements", () => {
  it("splits connections at the fault and finds the last failure, counting in-flight ones", () => {
    const r = analyzeConns(
      load([ok(9_000), failed(9_500, 11_000), ok(10_100), failed(12_000, 12_010, "ECONNREFUSED")]),
      FAULT,
    );
    expect(r.beforeFault).to.deep.equal({ attempted: 2, failed: 1, causes: { timeout: 1 } });
    expect(r.afterFault).to.deep.equal({ attempted: 2, failed: 1, causes: { ECONNREFUSED: 1 } });
    expect(r.lastFailureAfterMs).to.equal(2_000);
  });

  it("reports no last failure when nothing failed after the fault", () => {
    const r = analyzeConns(load([failed(8_000, 9_500), ok(10_500)]), FAULT);
    expect(r.lastFailureAfterMs).to.equal(null);
    expect(failedStartedAfter(load([failed(8_000), failed(11_000)]), 10_500)).to.equal(1);
  });

  it("buckets connections by start time around the fault", () => {
    const t = timeline(load([ok(9_950), failed(10_000), ok(10_050), ok(10_150)]), FAULT, -100, 200);
    expect(t.fromMs).to.equal(-100);
    expect(t.ok).to.deep.equal([1, 1, 1]);
    expect(t.failed).to.deep.equal([0, 1, 0]);
  });

  it("finds the VIP move, split brain and a flap back in the samples", () => {
    const samples: VipSample[] = [
      [9_900, true, false],
      [10_500, false, false],
      [11_000, true, true],
      [11_500, false, true],
      [12_000, true, false],
    ];
    const moved = vipStats(samples, FAULT, "lb-1");
    expect(moved.movedAfterMs).to.equal(1_500);
    expect(moved.splitBrainSamples).to.equal(1);
    expect(moved.noHolderSamples).to.equal(1);
    expect(moved.holderAtEnd).to.equal("lb-1");
    expect(moved.maxSampleGapMs).to.equal(600);
    const back = vipStats(samples.slice(3), 11_400, "lb-2", "lb-1");
    expect(back.returnedToAfterMs).to.equal(600);
  });

  // lb-1 alone, both (11.0-11.2 s), neither (11.3-11.4 s), lb-2 alone from 11.5 s.
  const handover: VipSample[] = [
    [9_900, true, false],
    [10_000, true, false],
    [11_000, true, true],
    [11_100, true, true],
    [11_200, true, false],
    [11_300, false, false],
    [11_400, false, false],
    [11_500, false, true],
    [12_000, false, true],
  ];

  it("times the longest two-holder and no-holder stretches up to the sample that ends them", () => {
    expect(longestStretchMs(handover, "both")).to.equal(200);
    expect(longestStretchMs(handover, "none")).to.equal(200);
    expect(longestStretchMs(handover.slice(0, 2), "both")).to.equal(0);
    // A stretch still open at the end runs to the last sample.
    expect(longestStretchMs(handover.slice(0, 4), "both")).to.equal(100);
    const stats = vipStats(handover, FAULT, "lb-1");
    expect(stats.twoHolderMaxMs).to.equal(200);
    expect(stats.noHolderMaxMs).to.equal(200);
  });

  it("counts holder changes after the fault, not two- or no-holder samples", () => {
    expect(holderChanges(handover, FAULT)).to.equal(1);
    const flap: VipSample[] = [...handover, [12_500, true, false], [13_000, false, true]];
    expect(holderChanges(flap, FAULT)).to.equal(3);
    // A change before the fault is not the fault's.
    expect(holderChanges(handover, 11_600)).to.equal(0);
    const dip: VipSample[] = [
      [9_000, true, false],
      [10_500, true, true],
      [11_000, false, false],
      [11_500, true, false],
    ];
    expect(holderChanges(dip, FAULT)).to.equal(0);
  });

  it("finds when one host holds the VIP alone for good", () => {
    expect(singleHolderAfterMs(handover, FAULT)).to.equal(1_500);
    // Never anything but one holder after the fault: 0.
    expect(singleHolderAfterMs(handover.slice(0, 2), FAULT)).to.equal(0);
    // Ends with two holders: never.
    expect(singleHolderAfterMs(handover.slice(0, 4), FAULT)).to.equal(null);
    // A single holder that is lost again does not count; only the last stretch does.
    const relapse: VipSample[] = [...handover, [12_500, true, true], [13_000, false, true]];
    expect(singleHolderAfterMs(relapse, FAULT)).to.equal(3_000);
    expect(vipStats(handover, FAULT, "lb-1").singleHolderAfterMs).to.equal(1_500);
  });

  it("finds when a process that was not running at the fault runs", () => {
    const samples: [number, number[]][] = [
      [9_900, [100]],
      [10_050, []],
      [10_400, [100]],
      [11_200, [205]],
    ];
    expect(backAfterMs(samples, FAULT, [100])).to.equal(1_200);
    expect(backAfterMs(samples.slice(0, 3), FAULT, [100])).to.equal(null);
    expect(backAfterMs(samples, FAULT, [])).to.equal(400);
  });

  it("reads server states from HAProxy's show stat CSV", () => {
    const csv = [
      "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight",
      "k3s-api,FRONTEND,,,0,1,10000,5,0,0,0,0,0,,,,,OPEN,",
      "k3s-servers,server-1,0,0,0,1,,3,0,0,,0,,0,0,0,0,DOWN,1",
      "k3s-servers,server-2,0,0,0,1,,3,0,0,,0,,0,0,0,0,UP 1/3,1",
      "k3s-servers,BACKEND,0,0,0,1,1000,6,0,0,0,0,,0,0,0,0,UP,2",
      "",
    ].join("\n");
    expect([...parseShowStat(csv, "k3s-servers")]).to.deep.equal([
      ["server-1", "DOWN"],
      ["server-2", "UP 1/3"],
    ]);
    expect(() => parseShowStat("# pxname,svname\n", "x")).to.throw(/no status column/);
  });
});
