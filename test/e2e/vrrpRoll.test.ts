/**
 * End to end, a VRRP settings change on a live pair (lb-1 boots systemd, lb-2 has no init) under
 * the program's real steps: a version change, which the two hosts cannot hear across, is rolled
 * with lb-1 held stopped until lb-2 has changed (apply-keepalived-conf.sh); an interval change
 * under VRRPv3 is a plain reload of each host in turn. The pair starts as the previous release
 * left it (VRRPv2, advert_int 1): the rendered file with those two lines, loaded on both hosts.
 * The VIP's holders are sampled from outside the hosts every 50 ms throughout.
 */
import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { HOST_IF, LB_HOSTS, VIP, nsName } from "../../harness/e2e/constants";
import { expectConfiguredCluster, stepNamed } from "../../harness/e2e/checks";
import { Evaluation, formatTimings, up } from "../../harness/e2e/executor";
import { fileText } from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { LabStack, labStack, stackVersion } from "../../harness/e2e/stack";
import { KEEPALIVED_CONF_PATH } from "../../components/lb/haproxy-pair/scripts";
import { run as sh, sleep, waitFor } from "../../harness/shared/sh";

const STACK = "vrrp-roll";
type LbHostName = (typeof LB_HOSTS)[number];
const LBS: LbHostName[] = [...LB_HOSTS];

/** Holders of the VIP over time: [ms since epoch, holders]. */
type Sample = [number, LbHostName[]];

/** Read from outside the hosts (`ip -n`), which is quicker than a command inside them. */
async function vipHolders(): Promise<LbHostName[]> {
  const held = await Promise.all(
    LBS.map(async (h) =>
      (await sh("ip", ["-n", nsName(h), "-o", "-4", "addr", "show", "dev", HOST_IF])).includes(
        ` ${VIP}/`,
      ),
    ),
  );
  return LBS.filter((_, i) => held[i]);
}

/**
 * Samples from a shell loop of its own, every 50 ms: the executor keeps this process's event loop
 * busy during a run, which spaced in-process samples 0.4 s apart. Bounded by a sample count.
 */
class VipSampler {
  private readonly child: ChildProcess;
  private output = "";
  private readonly exited: Promise<void>;

  constructor(maxMs: number) {
    const held = (h: LbHostName) =>
      `$(ip -n ${nsName(h)} -o -4 addr show dev ${HOST_IF} | grep -c ' ${VIP}/')`;
    const loop = `i=0; while [ "$i" -lt ${Math.ceil(maxMs / 50)} ]; do echo "$(date +%s%3N) ${held("lb-1")} ${held("lb-2")}"; sleep 0.05; i=$((i + 1)); done`;
    this.child = spawn("sh", ["-c", loop], { stdio: ["ignore", "pipe", "inherit"] });
    this.child.stdout!.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
  }

  async stop(): Promise<Sample[]> {
    this.child.kill("SIGTERM");
    await this.exited;
    return this.output
      .split("\n")
      .map((line) => line.trim().split(" "))
      .filter((f) => f.length === 3)
      .map(([t, one, two]): Sample => [Number(t), LBS.filter((_, i) => [one, two][i] !== "0")]);
  }
}

/** The sampling must be fine enough to see a stretch of one old advert interval (1 s). */
function expectDenseSampling(samples: Sample[]): void {
  const gaps = samples.slice(1).map(([t], i) => t - samples[i][0]);
  expect(samples.length, "VIP samples").to.be.greaterThan(20);
  expect(Math.max(...gaps), "longest gap between VIP samples (ms)").to.be.at.most(400);
}

/** Longest stretch (ms, first to last sample) in which `matches` held for every sample. */
function longestStretch(samples: Sample[], matches: (holders: LbHostName[]) => boolean): number {
  let longest = 0;
  let start: number | undefined;
  let last: number | undefined;
  for (const [t, holders] of samples) {
    if (matches(holders)) {
      start ??= t;
      last = t;
      longest = Math.max(longest, last - start);
    } else {
      start = undefined;
    }
  }
  return longest;
}

describe("e2e: VRRP settings change on a live pair (the program's roll)", function () {
  this.timeout(900_000);
  const lab = new E2eLab();
  let base: LabStack;
  keepJournalsOfFailures(lab);

  const stackWith = (advertIntervalMs: number) =>
    labStack(lab, {
      variant: "haproxy",
      servers: ["server-1", "server-2", "server-3"],
      extra: { vrrpAdvertIntervalMs: advertIntervalMs },
    });

  async function run(stack: LabStack, label: string): Promise<Evaluation> {
    const started = Date.now();
    const evaluation = await up(stack.config, { stack: STACK, secretKeys: stack.secretKeys });
    console.log(
      `    ${label} (${((Date.now() - started) / 1000).toFixed(1)} s): ${formatTimings(evaluation).split("\n").join("\n    ")}`,
    );
    return evaluation;
  }

  async function reloadKeepalived(host: LbHostName): Promise<void> {
    const h = lab.host(host);
    if (h.kind === "systemd") await h.exec("systemctl", ["reload", "keepalived"]);
    else await h.exec("service", ["keepalived", "reload"]);
  }

  /** Rewrites a host's keepalived.conf as VRRPv2 with whole-second adverts, as 0.2.0 rendered it. */
  function asPreviousRelease(host: LbHostName): void {
    const file = lab.host(host).hostPath(KEEPALIVED_CONF_PATH);
    const text = fs.readFileSync(file, "utf8");
    fs.writeFileSync(
      file,
      text.replace(/\n {2}vrrp_version 3\n/, "\n").replace(/advert_int [0-9.]+/, "advert_int 1"),
    );
  }

  /** Waits until one host has held the VIP alone for 3 s; returns it. */
  async function settled(): Promise<LbHostName> {
    let holder: LbHostName | undefined;
    await waitFor(
      "the VIP to settle on one LB host",
      async () => {
        const first = await vipHolders();
        if (first.length !== 1) return false;
        for (let i = 0; i < 15; i++) {
          await sleep(200);
          if ((await vipHolders()).join() !== first.join()) return false;
        }
        holder = first[0];
        return true;
      },
      60_000,
      500,
    );
    return holder!;
  }

  /** Both hosts running VRRPv2 / 1 s, settled on one holder. */
  async function previousReleasePair(): Promise<LbHostName> {
    for (const host of LBS) {
      asPreviousRelease(host);
      await reloadKeepalived(host);
    }
    return settled();
  }

  before(async function () {
    await lab.up([stackVersion("haproxy")]);
    base = stackWith(250);
    const fresh = await run(base, "fresh up");
    await expectConfiguredCluster(lab, fresh, "haproxy");
  });

  after(async function () {
    await lab.down();
  });

  it("reloading one host into VRRPv3 while its peer speaks v2 gives two holders (why the roll holds)", async function () {
    const holder = await previousReleasePair();
    const other = holder === "lb-1" ? "lb-2" : "lb-1";
    const sampler = new VipSampler(30_000);
    // The previous program's order: the first host takes the new file and reloads, then (after
    // its steps and lb-2's peer check) the second; here the second waits 6 s.
    fs.writeFileSync(
      lab.host(other).hostPath(KEEPALIVED_CONF_PATH),
      fileText(lab.host(other), KEEPALIVED_CONF_PATH)
        .replace("global_defs {\n", "global_defs {\n  vrrp_version 3\n")
        .replace("advert_int 1", "advert_int 0.25"),
    );
    await reloadKeepalived(other);
    await sleep(6_000);
    const samples = await sampler.stop();
    const both = longestStretch(samples, (h) => h.length === 2);
    console.log(`    v3 on ${other}, v2 on ${holder}: two holders for ${both} ms of 6 s`);
    // Longer than the roll's bound (one advertisement interval of the old settings).
    expect(both, "two holders while the pair speaks two versions").to.be.greaterThan(1_000);
  });

  it("a version change (v2 / 1 s -> v3 / 500 ms) holds lb-1 until lb-2 has changed: never two holders past one old interval", async function () {
    const holderBefore = await previousReleasePair();
    const sampler = new VipSampler(600_000);
    const rolled = await run(stackWith(500), "v2 -> v3, 500 ms");
    const samples = await sampler.stop();
    expect(rolled.errors).to.deep.equal([]);
    const lb1 = stepNamed(rolled, "lb-lb-1-keepalived");
    expect(lb1.stderr).to.include("keepalived: stopped for the VRRP change v2/1 -> v3");
    expect(lb1.stderr).to.include("keepalived: held stopped until the other LB host");
    expect(stepNamed(rolled, "lb-lb-2-keepalived").stderr).to.include("keepalived: reloaded");
    const resume = stepNamed(rolled, "lb-lb-1-keepalived-resume");
    expect(resume.stderr).to.include(
      "keepalived: started: the other LB host runs the new VRRP settings",
    );
    expect(resume.startedAt).to.be.at.least(stepNamed(rolled, "lb-lb-2-keepalived").endedAt);
    for (const host of LBS) {
      const conf = fileText(lab.host(host), KEEPALIVED_CONF_PATH);
      expect(conf, host).to.include("\n  vrrp_version 3\n");
      expect(conf, host).to.include("advert_int 0.5\n");
      expect(lab.host(host).pids("keepalived"), `keepalived runs on ${host}`).to.not.be.empty;
    }
    expectDenseSampling(samples);
    const both = longestStretch(samples, (h) => h.length === 2);
    const none = longestStretch(samples, (h) => h.length === 0);
    console.log(
      `    holder before ${holderBefore}; ${samples.length} samples: two holders at most ${both} ms, no holder at most ${none} ms`,
    );
    expect(both, "longest two-holder stretch (ms)").to.be.at.most(1_000);
    expect(none, "longest stretch without a holder (ms)").to.be.at.most(3_000);
    expect(await settled()).to.be.oneOf(LBS);

    // The next run has nothing to hold or start.
    const again = await run(stackWith(500), "no change");
    expect(again.steps.map((s) => s.name)).to.not.include("lb-lb-1-keepalived-resume");
  });

  it("an interval change under VRRPv3 (500 ms -> 250 ms) reloads each host in turn, holding nothing", async function () {
    await settled();
    const sampler = new VipSampler(600_000);
    const changed = await run(base, "v3 500 ms -> 250 ms");
    const samples = await sampler.stop();
    expect(changed.errors).to.deep.equal([]);
    for (const host of LBS) {
      expect(stepNamed(changed, `lb-${host}-keepalived`).stderr, host).to.include(
        "keepalived: reloaded",
      );
      expect(fileText(lab.host(host), KEEPALIVED_CONF_PATH), host).to.include("advert_int 0.25\n");
    }
    expect(stepNamed(changed, "lb-lb-1-keepalived").stderr).to.not.include("stopped for");
    expect(stepNamed(changed, "lb-lb-1-keepalived-resume").stderr).to.include("not held");
    expectDenseSampling(samples);
    const both = longestStretch(samples, (h) => h.length === 2);
    const none = longestStretch(samples, (h) => h.length === 0);
    console.log(`    two holders at most ${both} ms, no holder at most ${none} ms`);
    expect(both, "longest two-holder stretch (ms)").to.be.at.most(500);
    expect(none, "longest stretch without a holder (ms)").to.equal(0);
  });
});
