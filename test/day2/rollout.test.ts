/**
 * Under mocks: what a changed k3sVersion, node config or token re-runs, on which hosts, in which
 * order; the pre-upgrade snapshot, the optional drain, and agent batches.
 */
import { expect } from "chai";
import { criticalPath, dependsOn } from "../../harness/program/graph";
import { ProgramRun, isSecretValue, reveal, runProgram } from "../../harness/program/mocks";
import { hostOf, step } from "../../harness/program/queries";
import { unwrapCommandLine } from "../../harness/program/scripts";
import { AGENT_TOKEN, SECRET_KEYS, TOKEN, devHosts, devStack, diffRuns } from "./runs";

const OLD = "v1.27.3+k3s1";
const NEW = "v1.28.5+k3s1";
const SERVERS = ["server-1", "server-2", "server-3"];
const AGENTS = ["agent-1", "agent-2", "agent-3"];
const createScript = (run: ProgramRun, name: string) =>
  unwrapCommandLine(step(run, name).inputs.create as string);

describe("day 2 under mocks: upgrades and restarts", function () {
  this.timeout(180_000);
  let baseline: ProgramRun;
  before(async () => {
    baseline = await runProgram(devStack({ "k3s-ha:k3sVersion": OLD }), SECRET_KEYS, "day2");
  });

  describe("changing k3sVersion", () => {
    let after: ProgramRun;
    before(async () => {
      after = await runProgram(devStack({ "k3s-ha:k3sVersion": NEW }), SECRET_KEYS, "day2");
    });

    it("re-runs only the installs, the snapshot and the membership checks; no file, LB or gate step", () => {
      const diff = diffRuns(baseline, after);
      expect(diff.added).to.deep.equal([]);
      expect(diff.removed).to.deep.equal([]);
      expect(diff.changed).to.deep.equal(
        [
          ...[...SERVERS, ...AGENTS].flatMap((n) => [`${n}-install`, `${n}-membership`]),
          "server-1-etcd-snapshot",
        ].sort(),
      );
    });

    it("snapshots etcd on server-1 before any server, then upgrades servers one by one, then agents", () => {
      expect(hostOf(step(after, "server-1-etcd-snapshot"))).to.equal("10.10.10.50");
      const snapshot = createScript(after, "server-1-etcd-snapshot");
      expect(snapshot).to.contain("\nsnapshot='k3s-ha-pre-v1.28.5-k3s1'\n");
      expect(snapshot).to.contain('k3s etcd-snapshot save --name "$snapshot"');
      for (const s of SERVERS) {
        expect(dependsOn(after, `${s}-install`, "server-1-etcd-snapshot"), s).to.equal(true);
      }
      expect(dependsOn(after, "server-2-install", "server-1-install")).to.equal(true);
      expect(dependsOn(after, "server-3-install", "server-2-install")).to.equal(true);
      for (const a of AGENTS) {
        expect(dependsOn(after, `${a}-install`, "server-3-install"), a).to.equal(true);
      }
      expect(dependsOn(after, "server-1-etcd-snapshot", "server-1-install")).to.equal(false);
    });

    it("exports the snapshot step's output as preUpgradeSnapshot", () => {
      // The mocked step prints nothing; on a host it prints the snapshot's name (see the script tests).
      expect(after.outputs).to.have.property("preUpgradeSnapshot", "");
    });

    it("makes every install wait for etcd health and refuse downgrades", () => {
      for (const n of [...SERVERS, ...AGENTS]) {
        const text = createScript(after, `${n}-install`);
        expect(text, n).to.contain(`refuse_downgrade "$node" "$installed" "$version"`);
        expect(text, n).to.contain(`node='${n}'`);
      }
      for (const s of SERVERS) {
        const text = createScript(after, `${s}-install`);
        expect(text).to.contain("kube get --raw=/readyz/etcd");
        expect(text).to.contain(`etcd_others_ready "$node"`);
        expect(text).to.contain("\ndrain_timeout=''\n");
      }
    });
  });

  it("restarts only the server whose config changed, through its install step", async () => {
    const servers = devHosts("servers");
    servers[1] = { ...servers[1], labels: { "topology.kubernetes.io/zone": "b" } } as never;
    const after = await runProgram(devStack({ "k3s-ha:servers": servers }), SECRET_KEYS, "day2");
    expect(diffRuns(baseline, after).changed).to.deep.equal([
      "server-2-config",
      "server-2-install",
    ]);
  });

  describe("changing the server token", () => {
    let after: ProgramRun;
    before(async () => {
      after = await runProgram(
        devStack({ "k3s-ha:token": `${TOKEN}-rotated` }),
        SECRET_KEYS,
        "day2",
      );
    });

    it("rotates it on server-1 first, then rewrites every server's token file and restarts them in turn", () => {
      const diff = diffRuns(baseline, after);
      expect(diff.changed).to.deep.equal(
        [
          "server-1-token-rotation",
          ...SERVERS.flatMap((s) => [`${s}-token`, `${s}-install`]),
        ].sort(),
      );
      expect(hostOf(step(after, "server-1-token-rotation"))).to.equal("10.10.10.50");
      for (const s of SERVERS) {
        expect(dependsOn(after, `${s}-token`, "server-1-token-rotation"), s).to.equal(true);
      }
      for (const a of AGENTS) {
        expect(dependsOn(after, `${a}-token`, "server-1-token-rotation"), a).to.equal(true);
      }
    });

    it("holds every other host's steps until the rotation's check on server-1 passed", () => {
      const others = after.resources.filter(
        (r) =>
          r.type === "command:remote:Command" &&
          r.name !== "server-1-token-rotation" &&
          // A check that changes nothing, before the rotation's.
          r.name !== "server-removal-check" &&
          !r.name.startsWith("server-1-"),
      );
      expect(others.length).to.be.greaterThan(20);
      for (const r of [...others.map((o) => o.name), "server-1-config"]) {
        expect(dependsOn(after, r, "server-1-token-rotation"), r).to.equal(true);
      }
    });

    it("hands the token to the rotation on stdin only, as a secret, with logging off", () => {
      const rotation = step(after, "server-1-token-rotation");
      expect(isSecretValue(rotation.inputs.stdin)).to.equal(true);
      expect(reveal(rotation.inputs.stdin)).to.equal(`${TOKEN}-rotated\n`);
      expect(rotation.inputs.logging).to.equal("none");
      expect(rotation.inputs.create).to.not.contain(TOKEN);
    });

    it("carries the tokens' hashes to each install step on stdin, as a secret, never in triggers", () => {
      for (const s of SERVERS) {
        const install = step(after, `${s}-install`);
        expect(install.inputs.triggers, s).to.equal(undefined);
        expect(isSecretValue(install.inputs.stdin), s).to.equal(true);
        const reasons = reveal(install.inputs.stdin) as string;
        expect(reasons, s).to.match(/token sha256:[0-9a-f]{16}, agent-token sha256:[0-9a-f]{16}/);
        expect(reasons + String(install.inputs.create), s).to.not.contain(TOKEN);
        // The script reads no stdin: the reasons only make a changed token an update.
        expect(String(install.inputs.create), s).to.contain("exec </dev/null");
        expect(String(install.inputs.create), s).to.match(/config\.yaml sha256:[0-9a-f]{16}/);
      }
    });

    it("rewrites the joining servers' full tokens and restarts no agent, even without agentToken", async () => {
      // Agents join with the agent token (server-1 generates one when the stack has none), so a
      // new server token reaches the servers only.
      const noAgentToken = devStack({ "k3s-ha:agentToken": undefined });
      delete noAgentToken["k3s-ha:agentToken"];
      const a = await runProgram(noAgentToken, SECRET_KEYS, "day2");
      const b = await runProgram(
        { ...noAgentToken, "k3s-ha:token": `${TOKEN}-rotated` },
        SECRET_KEYS,
        "day2",
      );
      const changed = diffRuns(a, b).changed;
      expect(changed).to.include.members(["server-2-token", "server-3-token"]);
      expect(reveal(b.resources.find((r) => r.name === "server-2-token")!.inputs.stdin)).to.match(
        new RegExp(`^K10[0-9a-f]{64}::server:${TOKEN}-rotated\\n$`),
      );
      expect(changed.filter((c) => c.startsWith("agent-") || c.startsWith("lb-"))).to.deep.equal(
        [],
      );
    });
  });

  it("rolls a changed agent token through the servers before any agent restarts", async () => {
    const after = await runProgram(
      devStack({ "k3s-ha:agentToken": `${AGENT_TOKEN}-2` }),
      SECRET_KEYS,
      "day2",
    );
    expect(diffRuns(baseline, after).changed).to.deep.equal(
      [
        ...SERVERS.flatMap((s) => [`${s}-agent-token`, `${s}-install`]),
        ...AGENTS.flatMap((a) => [`${a}-token`, `${a}-install`]),
      ].sort(),
    );
    for (const a of AGENTS)
      expect(dependsOn(after, `${a}-install`, "server-3-install")).to.equal(true);
  });
});

describe("day 2 under mocks: drain and agent batches", function () {
  this.timeout(180_000);

  it("drains servers in their install step and agents from server-1, after every server", async () => {
    const run = await runProgram(
      devStack({ "k3s-ha:drainBeforeUpgrade": true, "k3s-ha:drainTimeoutSeconds": 240 }),
      SECRET_KEYS,
      "drain",
    );
    for (const s of SERVERS) {
      const install = createScript(run, `${s}-install`);
      expect(install).to.contain("\ndrain_timeout='240'\n");
      expect(install).to.contain('drain_for_upgrade "$node" "$version" "$drain_timeout"');
    }
    for (const a of AGENTS) {
      const drain = step(run, `${a}-drain`);
      expect(hostOf(drain)).to.equal("10.10.10.50");
      expect(createScript(run, `${a}-drain`)).to.contain('--timeout="$3s"');
      expect(createScript(run, `${a}-drain`)).to.contain("\ntimeout_seconds='240'\n");
      expect(createScript(run, `${a}-drain`)).to.contain(
        'drain_for_upgrade "$node" "$version" "$timeout_seconds"',
      );
      expect(dependsOn(run, `${a}-drain`, "registration-gate")).to.equal(true);
      expect(dependsOn(run, `${a}-install`, `${a}-drain`)).to.equal(true);
      // The membership step uncordons the agent once it is back.
      expect(dependsOn(run, `${a}-membership`, `${a}-install`)).to.equal(true);
    }
  });

  it("adds no drain step and no drain call by default", async () => {
    const run = await runProgram(devStack(), SECRET_KEYS, "nodrain");
    expect(run.resources.filter((r) => r.name.endsWith("-drain"))).to.deep.equal([]);
    expect(createScript(run, "server-1-install")).to.contain("\ndrain_timeout=''\n");
  });

  it("with agentBatchSize, starts each batch once the previous batch's nodes are Ready", async () => {
    const agents = Array.from({ length: 5 }, (_, i) => ({
      name: `agent-${i + 1}`,
      address: `10.10.10.${101 + i}`,
    }));
    const batched = await runProgram(
      devStack({ "k3s-ha:agents": agents, "k3s-ha:agentBatchSize": 2 }),
      SECRET_KEYS,
      "batches",
    );
    const after = (a: number, b: number) =>
      dependsOn(batched, `agent-${a}-install`, `agent-${b}-membership`);
    expect([after(3, 1), after(3, 2), after(5, 3), after(5, 4), after(5, 1)]).to.deep.equal([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect([after(2, 1), after(4, 3), after(1, 2)]).to.deep.equal([false, false, false]);

    const parallel = await runProgram(
      devStack({ "k3s-ha:agents": agents }),
      SECRET_KEYS,
      "batches",
    );
    for (let a = 1; a <= 5; a++) {
      for (let b = 1; b <= 5; b++) {
        if (a !== b) {
          expect(dependsOn(parallel, `agent-${a}-install`, `agent-${b}-membership`)).to.equal(
            false,
          );
        }
      }
    }
    // Three batches: two more install + membership pairs on the critical path.
    expect(criticalPath(batched).length - criticalPath(parallel).length).to.equal(4);
    // Batches are dependencies only: the same inputs, so turning them on or off changes nothing.
    expect(diffRuns(parallel, batched).changed).to.deep.equal([]);
  });
});
