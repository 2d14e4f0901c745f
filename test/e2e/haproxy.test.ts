/**
 * End to end, HAProxy + KeepAlived (the dev stack): the real program over real SSH against lab
 * hosts, K3s replaced by the lab mirror's stand-ins. See e2e/executor.ts for what the executor
 * stands in for and what it does not cover.
 */
import { expect } from "chai";
import * as fs from "fs";
import { LB_HOSTS, SERVERS, SUDO_USER } from "../../e2e/constants";
import {
  expectCleanHosts,
  expectConfiguredCluster,
  expectNoLeakedSecrets,
  expectPrivateSecretFiles,
  secretsOf,
} from "../../e2e/checks";
import { Evaluation, destroy, evaluate, formatTimings } from "../../e2e/executor";
import { daemonPids, exists, treeHashes } from "../../e2e/inspect";
import { E2eLab } from "../../e2e/lab";
import { ProcSampler } from "../../e2e/proc-sampler";
import { LabStack, labStack, stackVersion } from "../../e2e/stack";

const HOSTS_CONFIGURED = [...SERVERS, "agent-1", "agent-2", "agent-3", ...LB_HOSTS] as const;

function snapshot(lab: E2eLab) {
  return Object.fromEntries(
    HOSTS_CONFIGURED.map((name) => {
      const host = lab.host(name);
      return [name, { files: treeHashes(host), pids: daemonPids(host) }];
    }),
  );
}

/** Every resource's inputs and dependencies, in URN order (concurrent steps register in any order). */
function inputsOf(evaluation: Evaluation): string {
  const rows = evaluation.resources.map(
    (r) => [r.urn, [...r.dependencies].sort(), r.inputs] as const,
  );
  return JSON.stringify(rows.sort((a, b) => a[0].localeCompare(b[0])));
}

async function up(stack: LabStack, label: string, opts: Parameters<typeof evaluate>[1] = {}) {
  const evaluation = await evaluate(stack.config, { secretKeys: stack.secretKeys, ...opts });
  console.log(`    ${label}: ${formatTimings(evaluation).split("\n").join("\n    ")}`);
  return evaluation;
}

describe("e2e: dev stack (HAProxy + KeepAlived) over SSH", function () {
  this.timeout(900_000);
  const lab = new E2eLab();
  const sampler = new ProcSampler();
  let stack: LabStack;
  let first: Evaluation;
  let again: Evaluation | undefined;

  before(async function () {
    await lab.up([stackVersion("haproxy")]);
    stack = labStack(lab, { variant: "haproxy" });
    sampler.start();
    first = await up(stack, "fresh up");
    sampler.stop();
  });

  after(async function () {
    sampler.stop();
    await lab.down();
  });

  it("1. a fresh up configures every host; agents join through the VIP", async function () {
    await expectConfiguredCluster(lab, first, "haproxy");
  });

  it("6. no token or key in any process's arguments or environment, or in step output; secret files 0600", function () {
    expectNoLeakedSecrets([first], sampler, secretsOf(lab));
    expectPrivateSecretFiles(lab);
  });

  it("3. running every create again changes no file and restarts no daemon; inputs are identical", async function () {
    const before = snapshot(lab);
    again = await up(stack, "every create again");
    expect(again.errors).to.deep.equal([]);
    expect(snapshot(lab)).to.deep.equal(before);
    expect(inputsOf(again), "a second evaluation registers byte-identical inputs").to.equal(
      inputsOf(first),
    );
    // What the engine would see on a plain `pulumi up`: the state's outputs, no step run.
    const planned = await evaluate(stack.config, {
      secretKeys: stack.secretKeys,
      priorState: first.state,
    });
    expect(planned.errors).to.deep.equal([]);
    expect(inputsOf(planned)).to.equal(inputsOf(first));
  });

  it("3. on the second run each LB step sees its daemon running and reports it unchanged", function () {
    expect(again, "the second run happened").to.not.equal(undefined);
    for (const lb of LB_HOSTS) {
      for (const daemon of ["haproxy", "keepalived"]) {
        const step = again!.steps.find((s) => s.name === `lb-${lb}-${daemon}`);
        // "started" here means svc_running judged a running daemon stopped: a changed config
        // would then never be reloaded on a host without systemd.
        expect(step?.stderr.trim(), `lb-${lb}-${daemon} on the second run`).to.equal(
          `${daemon}: unchanged`,
        );
      }
    }
  });

  it("5. every delete in reverse dependency order leaves the hosts clean", async function () {
    const deletes = await destroy(first);
    expect(deletes.filter((d) => d.error).map((d) => d.error)).to.deep.equal([]);
    const end = (name: string) => deletes.find((d) => d.name === name)!;
    const start = (name: string) => deletes.find((d) => d.name === name)!;
    // Agents leave before the servers; servers leave last-joined first.
    expect(end("agent-1-install").endedAt).to.be.at.most(start("server-1-install").startedAt);
    expect(end("server-3-install").endedAt).to.be.at.most(start("server-2-install").startedAt);
    expect(end("server-2-install").endedAt).to.be.at.most(start("server-1-install").startedAt);
    await expectCleanHosts(lab);
  });

  it("4. an up interrupted during server-2's install converges on the next up", async function () {
    const server2 = lab.host("server-2");
    const interrupted = await up(stack, "interrupted up", {
      interrupt: { step: "server-2-install", when: () => exists(server2, "/usr/local/bin/k3s") },
    });
    const cut = interrupted.steps.find((s) => s.name === "server-2-install");
    expect(cut?.interrupted, "server-2's install was cut midway").to.equal(true);
    expect(interrupted.errors.join("\n")).to.match(/server-2-install on \S+ lost its session/);
    expect(interrupted.steps.map((s) => s.name)).to.not.include("server-3-install");
    const converged = await up(stack, "up after the interruption");
    await expectConfiguredCluster(lab, converged, "haproxy");
    const deletes = await destroy(converged);
    expect(deletes.filter((d) => d.error).map((d) => d.error)).to.deep.equal([]);
    await expectCleanHosts(lab);
  });

  it(`7. the same run passes as the non-root user ${SUDO_USER} with sudo`, async function () {
    const sudoStack = labStack(lab, { variant: "haproxy", user: SUDO_USER });
    const evaluation = await up(sudoStack, `up as ${SUDO_USER}`);
    await expectConfiguredCluster(lab, evaluation, "haproxy");
    const logins = fs.readFileSync(`${lab.host("server-1").dir}/sshd.log`, "utf8");
    expect(logins).to.match(new RegExp(`Accepted publickey for ${SUDO_USER} `));
    for (const r of evaluation.resources.filter((x) => x.type === "command:remote:Command")) {
      expect(String(r.inputs.create), `${r.name} runs through sudo`).to.match(/^sudo -n sh -c /);
    }
    const deletes = await destroy(evaluation);
    expect(deletes.filter((d) => d.error).map((d) => d.error)).to.deep.equal([]);
    await expectCleanHosts(lab);
  });
});
