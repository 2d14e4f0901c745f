/**
 * End to end, the HAProxy + KeepAlived pair changes one host at a time: from a converged dev
 * cluster, an edit that changes both hosts' haproxy.cfg (adding or removing server-4) is applied
 * while lb-1 cannot take it, and lb-2 must come out of the run exactly as it went in (its
 * haproxy.cfg and keepalived.conf, and its HAProxy and KeepAlived processes), then take the edit
 * once lb-1 is fixed. Three ways lb-1 fails: `haproxy -c` refuses the new config there (a stand-in
 * for a config lb-1's HAProxy rejects), lb-1 does not answer on 6443 from lb-2 (a routing rule on
 * lb-1), and lb-1 reloaded but its HAProxy passes nothing (stopped with SIGSTOP, its port still
 * accepting).
 */
import { expect } from "chai";
import * as fs from "fs";
import { HOST_ADDRESSES, ServerName, VIP } from "../../harness/e2e/constants";
import { LB_STEPS, expectConfiguredCluster } from "../../harness/e2e/checks";
import { Evaluation, formatTimings, up } from "../../harness/e2e/executor";
import { curlFrom, daemonPids, fileText, hostAddresses } from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { LabStack, labStack, stackVersion } from "../../harness/e2e/stack";
import { run as sh } from "../../harness/shared/sh";

const STACK = "lb-one-at-a-time";
const THREE: ServerName[] = ["server-1", "server-2", "server-3"];
const FOUR: ServerName[] = [...THREE, "server-4"];
const LB1 = HOST_ADDRESSES["lb-1"];
const LB2 = HOST_ADDRESSES["lb-2"];
const SERVER_4 = `${HOST_ADDRESSES["server-4"]}:6443`;
/** Found before /usr/sbin on root's PATH: refuses every `haproxy -c`, runs HAProxy otherwise. */
const HAPROXY_SHIM = "/usr/local/sbin/haproxy";

/** What the run must not change on lb-2: its two files and its daemons' processes. */
function lb2State(lab: E2eLab) {
  const host = lab.host("lb-2");
  const pids = daemonPids(host);
  return {
    haproxyCfg: fileText(host, "/etc/haproxy/haproxy.cfg"),
    keepalivedConf: fileText(host, "/etc/keepalived/keepalived.conf"),
    haproxy: pids.haproxy,
    keepalived: pids.keepalived,
  };
}

const lbStepsOf = (host: "lb-1" | "lb-2") => LB_STEPS.map((s) => `lb-${host}-${s}`);
const ran = (evaluation: Evaluation) => evaluation.steps.map((s) => s.name);

describe("e2e: the LB pair changes one host at a time", function () {
  this.timeout(900_000);
  const lab = new E2eLab();
  let three: LabStack;
  let four: LabStack;
  keepJournalsOfFailures(lab);

  async function run(stack: LabStack, label: string): Promise<Evaluation> {
    const started = Date.now();
    const evaluation = await up(stack.config, { stack: STACK, secretKeys: stack.secretKeys });
    console.log(
      `    ${label} (${((Date.now() - started) / 1000).toFixed(1)} s): ${formatTimings(evaluation).split("\n").join("\n    ")}`,
    );
    return evaluation;
  }

  /** The run failed on `failedStep` and ran no lb-2 step past the check, which changed nothing. */
  function expectStoppedBeforeLb2(
    evaluation: Evaluation,
    failedStep: string,
    before: ReturnType<typeof lb2State>,
  ): void {
    const failed = evaluation.steps.filter((s) => s.error).map((s) => s.name);
    expect(failed, "the failed steps").to.deep.equal([failedStep]);
    expect(lb2State(lab), "lb-2's files and processes").to.deep.equal(before);
  }

  before(async function () {
    await lab.up([stackVersion("haproxy")]);
    three = labStack(lab, { variant: "haproxy", servers: THREE });
    four = labStack(lab, { variant: "haproxy", servers: FOUR });
    const fresh = await run(three, "fresh up");
    await expectConfiguredCluster(lab, fresh, "haproxy");
  });

  after(async function () {
    await lab.down();
  });

  it("a config lb-1's haproxy -c refuses stops the run there: lb-2 is untouched until lb-1 takes it", async function () {
    const lb1 = lab.host("lb-1");
    fs.writeFileSync(
      lb1.hostPath(HAPROXY_SHIM),
      `#!/bin/sh\ncase " $* " in *" -c "*) echo "[ALERT] (test) refused by ${HAPROXY_SHIM}" >&2; exit 1 ;; esac\nexec /usr/sbin/haproxy "$@"\n`,
      { mode: 0o755 },
    );
    const before = lb2State(lab);
    const lb1Before = fileText(lb1, "/etc/haproxy/haproxy.cfg");
    let refused: Evaluation;
    try {
      refused = await run(four, "add server-4 while lb-1 refuses its haproxy.cfg");
    } finally {
      fs.rmSync(lb1.hostPath(HAPROXY_SHIM), { force: true });
    }
    expectStoppedBeforeLb2(refused, "lb-lb-1-haproxy", before);
    expect(ran(refused)).to.not.include.members(lbStepsOf("lb-2"));
    expect(refused.errors.join("\n")).to.contain(
      "/etc/haproxy/haproxy.cfg: new content rejected by: haproxy -c -q -f",
    );
    expect(fileText(lb1, "/etc/haproxy/haproxy.cfg"), "lb-1 keeps its old file").to.equal(
      lb1Before,
    );

    const fixed = await run(four, "the same edit once lb-1 takes it");
    expect(fixed.errors).to.deep.equal([]);
    for (const host of ["lb-1", "lb-2"] as const) {
      expect(fileText(lab.host(host), "/etc/haproxy/haproxy.cfg")).to.contain(SERVER_4);
    }
  });

  it("an lb-1 that does not answer on 6443 from lb-2 stops the run before lb-2 changes", async function () {
    const lb1 = lab.host("lb-1");
    // lb-1 cannot answer lb-2 from port 6443 (its SYN-ACKs have no route); all else flows.
    const rule = ["rule", "add", "to", LB2, "ipproto", "tcp", "sport", "6443", "prohibit"];
    await sh("nsenter", ["-t", String(lb1.pid1), "-n", "ip", ...rule]);
    const before = lb2State(lab);
    let unanswered: Evaluation;
    try {
      unanswered = await run(three, "remove server-4 while lb-1 does not answer lb-2 on 6443");
    } finally {
      rule[1] = "del";
      await sh("nsenter", ["-t", String(lb1.pid1), "-n", "ip", ...rule]);
    }
    expectStoppedBeforeLb2(unanswered, "lb-lb-2-haproxy", before);
    expect(ran(unanswered)).to.include("lb-lb-1-haproxy");
    expect(unanswered.errors.join("\n")).to.match(
      new RegExp(
        `lb-1 \\(${LB1.replace(/\./g, "\\.")}:6443\\) does not answer on its own address: curl: \\(28\\)`,
      ),
    );
    expect(before.haproxyCfg, "lb-2 still has the old backend list").to.contain(SERVER_4);

    const fixed = await run(three, "the same edit once lb-1 answers");
    expect(fixed.errors).to.deep.equal([]);
    expect(fileText(lab.host("lb-2"), "/etc/haproxy/haproxy.cfg")).to.not.contain(SERVER_4);
  });

  it("an lb-1 whose HAProxy reloaded but passes nothing stops the run; the VIP keeps answering from lb-2", async function () {
    const lb1 = lab.host("lb-1");
    const before = lb2State(lab);
    const hung = lb1.pids("haproxy");
    expect(hung, "HAProxy runs on lb-1").to.have.length.greaterThan(0);
    for (const pid of hung) process.kill(pid, "SIGSTOP");
    let stalled: Evaluation;
    try {
      stalled = await run(four, "add server-4 while lb-1's HAProxy is hung");
      // lb-1's check failed, so KeepAlived moved the VIP to lb-2, which still serves.
      expect(await hostAddresses(lab.host("lb-2")), "the VIP is on lb-2").to.include(VIP);
      expect(await curlFrom(lab.host("agent-1"), `https://${VIP}:6443/ping`)).to.equal("pong");
    } finally {
      for (const pid of hung) process.kill(pid, "SIGCONT");
    }
    expectStoppedBeforeLb2(stalled, "lb-lb-2-haproxy", before);
    const errors = stalled.errors.join("\n");
    expect(errors).to.contain(`gave up after 10s waiting for /ping through lb-1 (${LB1}:6443)`);
    expect(errors).to.contain(
      `lb-1 (${LB1}:6443) accepts connections but passes no /ping to a K3s server`,
    );

    const fixed = await run(four, "the same edit once lb-1's HAProxy runs again");
    expect(fixed.errors).to.deep.equal([]);
    expect(fileText(lab.host("lb-2"), "/etc/haproxy/haproxy.cfg")).to.contain(SERVER_4);
  });
});
