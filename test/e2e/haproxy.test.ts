/**
 * End to end, HAProxy + KeepAlived (the dev stack): the real program over real SSH against lab
 * hosts, K3s replaced by the lab mirror's stand-ins, each `up` planned and stepped by the engine
 * model against the stack's state file. See harness/e2e/executor.ts for what the executor reproduces of
 * the engine and what it does not cover.
 */
import { expect } from "chai";
import * as fs from "fs";
import { LB_HOSTS, SERVERS, SUDO_USER } from "../../harness/e2e/constants";
import {
  expectCleanHosts,
  expectConfiguredCluster,
  expectNoLeakedSecrets,
  expectPrivateSecretFiles,
  secretsOf,
} from "../../harness/e2e/checks";
import { Evaluation, UpOptions, destroy, formatTimings, up } from "../../harness/e2e/executor";
import { daemonPids, exists, treeHashes } from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { ProcSampler } from "../../harness/e2e/proc-sampler";
import { readStack } from "../../harness/e2e/state-file";
import { LabStack, labStack, stackVersion } from "../../harness/e2e/stack";
import { engineUrnsOf } from "../../harness/engine/urns";

const HOSTS_CONFIGURED = [...SERVERS, "agent-1", "agent-2", "agent-3", ...LB_HOSTS] as const;
const STACK = "haproxy";

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

/** Resource-level operations of a run: name → op. */
function opsOf(evaluation: Evaluation): Record<string, string> {
  return Object.fromEntries(evaluation.changes.map((c) => [c.name, c.op]));
}

/**
 * What the hosts saw over several runs: every step's latest record (an up after a failed one
 * runs only what is not in the state yet), with the last run's errors and outputs.
 */
function history(...runs: Evaluation[]): Evaluation {
  const last = runs[runs.length - 1];
  const steps = new Map(runs.flatMap((r) => r.steps).map((s) => [s.name, s]));
  return { ...last, steps: [...steps.values()] };
}

async function run(stack: LabStack, label: string, opts: UpOptions = {}) {
  const evaluation = await up(stack.config, {
    stack: STACK,
    secretKeys: stack.secretKeys,
    ...opts,
  });
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
  keepJournalsOfFailures(lab);

  before(async function () {
    await lab.up([stackVersion("haproxy")]);
    stack = labStack(lab, { variant: "haproxy" });
    sampler.start();
    first = await run(stack, "fresh up");
    sampler.stop();
  });

  after(async function () {
    sampler.stop();
    await lab.down();
  });

  it("1. a fresh up configures every host; agents join through the VIP", async function () {
    await expectConfiguredCluster(lab, first, "haproxy");
    expect(
      new Set(Object.values(opsOf(first))),
      "a new stack: every resource created",
    ).to.deep.equal(new Set(["create"]));
    // The preview planned exactly what ran (registration order differs: steps wait for hosts).
    const planned = (first.plan?.changes ?? []).map((c) => `${c.op} ${c.name}`).sort();
    expect(planned).to.deep.equal(first.changes.map((c) => `${c.op} ${c.name}`).sort());
    expect(first.state.resources.map((r) => r.urn).sort()).to.deep.equal(
      [...engineUrnsOf(first.resources).values()].sort(),
    );
    expect(fs.statSync(first.stateFile).mode & 0o777, "the state file is private").to.equal(0o600);
  });

  it("6. no token or key in any process's arguments or environment, or in step output; secret files 0600", function () {
    expectNoLeakedSecrets([first], sampler, secretsOf(lab));
    expectPrivateSecretFiles(lab);
  });

  it("3. a plain up again: every resource same, no step runs, the hosts unchanged", async function () {
    const before = snapshot(lab);
    const plain = await run(stack, "plain up again");
    expect(plain.errors).to.deep.equal([]);
    expect(plain.steps, "no step ran").to.deep.equal([]);
    expect(plain.deletes).to.deep.equal([]);
    expect(new Set(Object.values(opsOf(plain)))).to.deep.equal(new Set(["same"]));
    expect(inputsOf(plain), "a second evaluation registers byte-identical inputs").to.equal(
      inputsOf(first),
    );
    expect(snapshot(lab)).to.deep.equal(before);
  });

  it("3. running every step again (all inputs changed) changes no file and restarts no daemon", async function () {
    const before = snapshot(lab);
    again = await run(stack, "every step again", { rerunAll: true });
    expect(again.errors).to.deep.equal([]);
    expect(snapshot(lab)).to.deep.equal(before);
    expect(inputsOf(again)).to.equal(inputsOf(first));
    const commands = again.changes.filter((c) => c.type === "command:remote:Command");
    expect(new Set(commands.map((c) => c.op)), "every step updated in place").to.deep.equal(
      new Set(["update"]),
    );
    expect(again.steps.map((s) => s.name).sort()).to.deep.equal(
      commands
        .filter((c) => c.newInputs?.create !== undefined)
        .map((c) => c.name)
        .sort(),
    );
    expect(again.deletes, "an update runs no delete").to.deep.equal([]);
  });

  it("3. on the second run each LB step sees its daemon running and reports it unchanged", function () {
    expect(again, "the second run happened").to.not.equal(undefined);
    for (const lb of LB_HOSTS) {
      for (const daemon of ["haproxy", "keepalived"]) {
        const step = again!.steps.find((s) => s.name === `lb-${lb}-${daemon}`);
        // "started" here means svc_running judged a running daemon stopped: a changed config
        // would then never be reloaded on a host without systemd. lb-2's steps first say that
        // lb-1 serves (haproxyLbPair.ts); the servers are up, so /ping through lb-1 answers.
        const expected = [
          ...(lb === "lb-2"
            ? [
                daemon === "haproxy"
                  ? "lb-1 (10.77.0.98:6443) serves: /ping through it answers"
                  : "lb-1 (10.77.0.98:6443) accepts connections",
              ]
            : []),
          `${daemon}: unchanged`,
        ];
        expect(
          step?.stderr.trim().split("\n"),
          `lb-${lb}-${daemon} on the second run`,
        ).to.deep.equal(expected);
      }
    }
  });

  it("5. a destroy deletes every step in reverse dependency order and leaves the hosts clean", async function () {
    const deletes = await destroy(STACK);
    expect(deletes.filter((d) => d.error).map((d) => d.error)).to.deep.equal([]);
    const end = (name: string) => deletes.find((d) => d.name === name)!;
    const start = (name: string) => deletes.find((d) => d.name === name)!;
    // Agents leave before the servers; servers leave last-joined first.
    expect(end("agent-1-install").endedAt).to.be.at.most(start("server-1-install").startedAt);
    expect(end("server-3-install").endedAt).to.be.at.most(start("server-2-install").startedAt);
    expect(end("server-2-install").endedAt).to.be.at.most(start("server-1-install").startedAt);
    expect(readStack(STACK).resources, "the state is empty").to.deep.equal([]);
    await expectCleanHosts(lab);
  });

  it("4. an up whose SSH session is cut during server-2's install fails it; the next up converges", async function () {
    const server2 = lab.host("server-2");
    const interrupted = await run(stack, "interrupted up", {
      interrupt: { step: "server-2-install", when: () => exists(server2, "/usr/local/bin/k3s") },
    });
    const cut = interrupted.steps.find((s) => s.name === "server-2-install");
    expect(cut?.interrupted, "server-2's install was cut midway").to.equal(true);
    expect(interrupted.errors.join("\n")).to.match(/server-2-install on \S+ lost its session/);
    expect(interrupted.steps.map((s) => s.name)).to.not.include("server-3-install");
    // A failed create leaves nothing in the state; the provider answered: no pending operation.
    const state = readStack(STACK);
    const interruptedUrns = engineUrnsOf(interrupted.resources);
    expect(state.resources.map((r) => r.urn)).to.not.include.members(
      interrupted.resources
        .filter((r) => r.name === "server-2-install")
        .map((r) => interruptedUrns.get(r.urn)!),
    );
    expect(state.pendingOperations).to.deep.equal([]);

    const converged = await run(stack, "up after the interruption");
    expect(opsOf(converged)["server-1-install"]).to.equal("same");
    expect(opsOf(converged)["server-2-install"]).to.equal("create");
    await expectConfiguredCluster(lab, history(interrupted, converged), "haproxy");
    const deletes = await destroy(STACK);
    expect(deletes.filter((d) => d.error).map((d) => d.error)).to.deep.equal([]);
    await expectCleanHosts(lab);
  });

  it("4b. an up stopped (CLI killed) during server-2's install leaves a pending create; the next up warns and creates it", async function () {
    const server2 = lab.host("server-2");
    const killed = await run(stack, "killed up", {
      interrupt: {
        step: "server-2-install",
        when: () => exists(server2, "/usr/local/bin/k3s"),
        mode: "kill-cli",
      },
    });
    expect(killed.interrupted).to.equal(true);
    // Every step in flight when the CLI died (server-2's install and whatever ran beside it)
    // is a pending create, and none of them is in the state.
    const recorded = killed.resources.find((r) => r.name === "server-2-install")!;
    // Steps and the state carry the engine's URNs (harness/engine/urns.ts), not the recorder's.
    const install = { urn: engineUrnsOf(killed.resources).get(recorded.urn)! };
    const inFlight = killed.steps.filter((s) => s.interrupted).map((s) => s.urn);
    expect(inFlight).to.include(install.urn);
    const state = readStack(STACK);
    expect(state.pendingOperations.map((op) => op.type)).to.deep.equal(
      inFlight.map(() => "creating"),
    );
    expect(state.pendingOperations.map((op) => op.resource.urn)).to.have.members(inFlight);
    expect(state.resources.map((r) => r.urn)).to.not.include.members(inFlight);

    const next = await run(stack, "up after the killed one");
    const warning = next.warnings.join("\n");
    expect(warning).to.contain(
      `Attempting to deploy or update resources with ${inFlight.length} pending operations from previous deployment.`,
    );
    expect(warning).to.contain(`* ${install.urn}, interrupted while creating`);
    expect(opsOf(next)["server-2-install"]).to.equal("create");
    await expectConfiguredCluster(lab, history(killed, next), "haproxy");
    // The engine keeps pending CREATEs until an interactive `pulumi refresh` clears them.
    expect(readStack(STACK).pendingOperations).to.have.length(inFlight.length);
    const deletes = await destroy(STACK);
    expect(deletes.filter((d) => d.error).map((d) => d.error)).to.deep.equal([]);
    await expectCleanHosts(lab);
  });

  it(`7. the same run passes as the non-root user ${SUDO_USER} with sudo`, async function () {
    const sudoStack = labStack(lab, { variant: "haproxy", user: SUDO_USER });
    const evaluation = await up(sudoStack.config, {
      stack: "haproxy-sudo",
      secretKeys: sudoStack.secretKeys,
    });
    await expectConfiguredCluster(lab, evaluation, "haproxy");
    const logins = await lab.host("server-1").journal();
    expect(logins).to.match(new RegExp(`Accepted publickey for ${SUDO_USER} `));
    for (const r of evaluation.resources.filter((x) => x.type === "command:remote:Command")) {
      if (typeof r.inputs.create !== "string") continue;
      expect(String(r.inputs.create), `${r.name} runs through sudo`).to.match(/^sudo -n sh -c /);
    }
    const deletes = await destroy("haproxy-sudo");
    expect(deletes.filter((d) => d.error).map((d) => d.error)).to.deep.equal([]);
    await expectCleanHosts(lab);
  });
});
