/** The lab's measurement arithmetic (pure: no namespaces, no root). */
import { expect } from "chai";
import { analyzeConns, failedStartedAfter, timeline, vipStats } from "../../lab/analyze";
import { parseShowStat } from "../../lab/haproxy-stats";
import type { ConnRecord, LoadResult } from "../../lab/load/types";
import { VipSample } from "../../lab/vip-watch";

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
