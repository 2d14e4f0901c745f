/**
 * End to end, native Nginx (the staging stack) with a configured cluster token and agent token:
 * the real program over real SSH against lab hosts, K3s replaced by the lab mirror's stand-ins.
 */
import { expect } from "chai";
import { AGENTS, HOST_ADDRESSES, SERVERS } from "../../e2e/constants";
import {
  expectCleanHosts,
  expectConfiguredCluster,
  expectNoLeakedSecrets,
  expectPrivateSecretFiles,
  secretsOf,
} from "../../e2e/checks";
import { Evaluation, destroy, evaluate, formatTimings } from "../../e2e/executor";
import { AgentRecord, ServerRecord, joinsOf, standInRecord } from "../../e2e/inspect";
import { E2eLab } from "../../e2e/lab";
import { ProcSampler } from "../../e2e/proc-sampler";
import { sha256 } from "../../e2e/mirror";
import { labStack, stackVersion } from "../../e2e/stack";

const TOKENS = {
  token: "e2e-cluster-token-2f9c41d7a8b3e6f0",
  agentToken: "e2e-agent-token-7c1e5a93d02b4f68",
};

describe("e2e: staging stack (native Nginx) over SSH", function () {
  this.timeout(900_000);
  const lab = new E2eLab();
  const sampler = new ProcSampler();
  let evaluation: Evaluation;

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
    const failed = await evaluate(stack.config, { secretKeys: stack.secretKeys });
    const install = failed.steps.find((s) => s.name === "server-1-install");
    expect(install?.exitCode).to.equal(1);
    expect(failed.errors.join("\n")).to.include(
      "server-1-install on 10.77.0.50 exited 1:\ninstall script from http://10.77.0.200:8080/install.sh does not match installScriptSha256",
    );
    expect(failed.steps.map((s) => s.name)).to.not.include("server-2-install");
  });

  it("2. a fresh up (after the failed one) configures every host; agents join through the Nginx host", async function () {
    const stack = labStack(lab, { variant: "nginx", tokens: TOKENS });
    sampler.start();
    evaluation = await evaluate(stack.config, { secretKeys: stack.secretKeys });
    sampler.stop();
    console.log(`    ${formatTimings(evaluation).split("\n").join("\n    ")}`);
    await expectConfiguredCluster(lab, evaluation, "nginx");
    for (const name of SERVERS) {
      const record = standInRecord<ServerRecord>(lab.host(name));
      expect(record.tlsSans, `${name}: tls-san is the Nginx host, not an unused VIP`).to.deep.equal(
        [HOST_ADDRESSES["lb-1"]],
      );
      expect(record.argv, `${name} got the stack's extraServerArgs`).to.include(
        "--disable=traefik",
      );
      expect(record.tokenFile?.sha256).to.equal(sha256(`${TOKENS.token}\n`));
      expect(record.agentTokenFile?.sha256).to.equal(sha256(`${TOKENS.agentToken}\n`));
    }
    for (const name of AGENTS) {
      const record = standInRecord<AgentRecord>(lab.host(name));
      expect(record.tokenFile?.sha256, `${name} holds the agent token`).to.equal(
        sha256(`${TOKENS.agentToken}\n`),
      );
    }
    const agentJoins = SERVERS.flatMap((s) => joinsOf(lab.host(s))).filter(
      (j) => j.kind === "agent",
    );
    expect(agentJoins.map((j) => j.node).sort()).to.deep.equal([...AGENTS]);
    expect(
      new Set(agentJoins.map((j) => j.credential)),
      "agents joined with the agent token",
    ).to.deep.equal(new Set(["agent-token"]));
  });

  it("6. configured tokens appear in no process's arguments or environment, nor in step output", function () {
    expectNoLeakedSecrets([evaluation], sampler, secretsOf(lab, [TOKENS.token, TOKENS.agentToken]));
    expectPrivateSecretFiles(lab);
  });

  it("5. every delete leaves the hosts clean, nginx.conf restored", async function () {
    const deletes = await destroy(evaluation);
    expect(deletes.filter((d) => d.error).map((d) => d.error)).to.deep.equal([]);
    await expectCleanHosts(lab);
  });
});
