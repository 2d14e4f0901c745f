/**
 * End to end, native Nginx (the staging stack) with a configured cluster token and agent token:
 * the real program over real SSH against lab hosts, K3s replaced by the lab mirror's stand-ins,
 * each `up` planned and stepped by the engine model against the stack's state file.
 */
import { expect } from "chai";
import * as fs from "fs";
import { AGENTS, HOST_ADDRESSES, HostName, SERVERS, VIP } from "../../harness/e2e/constants";
import {
  expectCleanHosts,
  expectConfiguredCluster,
  expectNoLeakedSecrets,
  expectPrivateSecretFiles,
  secretsOf,
} from "../../harness/e2e/checks";
import { Evaluation, destroy, formatTimings, up } from "../../harness/e2e/executor";
import { expectCaPinnedJoins } from "../../harness/e2e/joinCredentials";
import {
  clusterNodes,
  fileText,
  k3sConfig,
  k3sProcess,
  servedSans,
} from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { ProcSampler } from "../../harness/e2e/proc-sampler";
import { sha256 } from "../../harness/e2e/mirror";
import { readStack } from "../../harness/e2e/state-file";
import { labStack, stackVersion } from "../../harness/e2e/stack";

const STACK = "nginx";

/** Every step's latest record over several runs, with the last run's errors and outputs. */
function history(...runs: Evaluation[]): Evaluation {
  const steps = new Map(runs.flatMap((r) => r.steps).map((s) => [s.name, s]));
  return { ...runs[runs.length - 1], steps: [...steps.values()] };
}

const TOKENS = {
  token: "e2e-cluster-token-2f9c41d7a8b3e6f0",
  agentToken: "e2e-agent-token-7c1e5a93d02b4f68",
};

describe("e2e: staging stack (native Nginx) over SSH", function () {
  this.timeout(900_000);
  const lab = new E2eLab();
  const sampler = new ProcSampler();
  let failed: Evaluation;
  let evaluation: Evaluation;

  keepJournalsOfFailures(lab);

  before(async function () {
    await lab.up([stackVersion("nginx")]);
  });

  after(async function () {
    sampler.stop();
    await lab.down();
  });

  it("a wrong installScriptSha256 fails the install step with the checksum message", async function () {
    const wrong = sha256("not the installer");
    const stack = labStack(lab, { variant: "nginx", installScriptSha256: wrong, tokens: TOKENS });
    sampler.start();
    failed = await up(stack.config, { stack: STACK, secretKeys: stack.secretKeys });
    const install = failed.steps.find((s) => s.name === "server-1-install");
    expect(install?.exitCode).to.equal(1);
    const message = failed.errors.join("\n");
    expect(message).to.match(/^server-1-install on 10\.77\.0\.50 exited 1:\n/);
    expect(message).to.include(
      "install script from http://10.77.0.200:8080/install.sh does not match installScriptSha256",
    );
    expect(failed.steps.map((s) => s.name)).to.not.include("server-2-install");
    // The failed create is not in the state; the steps that succeeded are.
    const inState = new Set(readStack(STACK).resources.map((r) => r.urn.split("::").pop()));
    expect(inState.has("server-1-install")).to.equal(false);
    for (const s of failed.steps.filter((x) => !x.error))
      expect(inState.has(s.name), s.name).to.equal(true);
  });

  it("2. the next up (after the failed one) configures every host; agents join through the Nginx host", async function () {
    const stack = labStack(lab, { variant: "nginx", tokens: TOKENS });
    evaluation = await up(stack.config, { stack: STACK, secretKeys: stack.secretKeys });
    sampler.stop();
    console.log(`    ${formatTimings(evaluation).split("\n").join("\n    ")}`);
    // Only what the failed run did not finish runs now; the rest is the same.
    const ops = Object.fromEntries(evaluation.changes.map((c) => [c.name, c.op]));
    for (const s of failed.steps.filter((x) => !x.error))
      expect(ops[s.name], s.name).to.not.equal("create");
    expect(ops["server-1-install"]).to.equal("create");
    await expectConfiguredCluster(lab, history(failed, evaluation), "nginx");
    // server-1 starts the cluster with the short token; joiners hold the full form pinning its CA.
    const caHash = sha256(
      fs.readFileSync(
        lab.host("server-1").hostPath("/var/lib/rancher/k3s/server/tls/server-ca.crt"),
        "utf8",
      ),
    );
    const tokenIn = (name: HostName, key: string) =>
      fileText(lab.host(name), k3sConfig(lab.host(name))[key] as string);
    for (const name of SERVERS) {
      const host = lab.host(name);
      expect(k3sConfig(host)["tls-san"], `${name}: tls-san is the Nginx host`).to.deep.equal([
        HOST_ADDRESSES["lb-1"],
      ]);
      // What a client sees: the certificate names the Nginx host, not an unused VIP.
      const sans = await servedSans(lab.host("agent-1"), host.address);
      expect(sans, `${name}'s certificate`).to.include(`IP:${HOST_ADDRESSES["lb-1"]}`);
      expect(sans, `${name}'s certificate`).to.not.include(`IP:${VIP}`);
      expect(
        (await k3sProcess(host))?.argv,
        `${name} runs with the stack's extraServerArgs`,
      ).to.include("--disable=traefik");
      const token = name === "server-1" ? TOKENS.token : `K10${caHash}::server:${TOKENS.token}`;
      expect(tokenIn(name, "token-file"), `${name}'s token file`).to.equal(`${token}\n`);
      expect(tokenIn(name, "agent-token-file"), `${name}'s agent token file`).to.equal(
        `${TOKENS.agentToken}\n`,
      );
    }
    // Agents joined holding the agent token alone (6b: no agent host holds the server token).
    const nodes = new Map((await clusterNodes(lab)).map((n) => [n.name, n]));
    for (const name of AGENTS) {
      expect(tokenIn(name, "token-file"), `${name} holds the agent token, CA-pinned`).to.equal(
        `K10${caHash}::node:${TOKENS.agentToken}\n`,
      );
      expect(nodes.get(name)?.ready, `${name} joined with it`).to.equal("True");
    }
  });

  it("6b. joiners' tokens pin server-1's CA; no agent host holds the server token", function () {
    expectCaPinnedJoins(lab);
  });

  it("6. configured tokens appear in no process's arguments or environment, nor in step output", function () {
    expectNoLeakedSecrets(
      [failed, evaluation],
      sampler,
      secretsOf(lab, [TOKENS.token, TOKENS.agentToken]),
    );
    expectPrivateSecretFiles(lab);
  });

  it("5. a destroy deletes every step, leaves the hosts clean, nginx.conf restored", async function () {
    const deletes = await destroy(STACK);
    expect(deletes.filter((d) => d.error).map((d) => d.error)).to.deep.equal([]);
    await expectCleanHosts(lab);
  });
});
