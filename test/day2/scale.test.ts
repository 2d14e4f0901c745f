/**
 * Under mocks: adding and removing servers and agents. What changes on which host, and the
 * membership steps that make Pulumi drain and delete a node (from a server that stays) before the
 * node's own uninstall runs.
 */
import { expect } from "chai";
import { dependsOn } from "../../harness/program/graph";
import { ProgramRun, runProgram } from "../../harness/program/mocks";
import { hostOf, step, stdinOf } from "../../harness/program/queries";
import { unwrapCommandLine } from "../../harness/program/scripts";
import { testStackConfig } from "../../harness/program/stacks";
import { SECRET_KEYS, devHosts, devStack, diffRuns, hostRecordNames } from "./runs";

const stepsOf = (node: string, steps: string[]) => [node, ...steps.map((s) => `${node}-${s}`)];
const AGENT_STEPS = ["token", "config", "install", "membership"];
const SERVER_STEPS = ["token", "agent-token", "config", "install", "membership"];
/**
 * What a change of the server list changes besides the server's own steps: the LB backends, the
 * gate's probe, and the server list record and removal check, which re-run on any such change.
 */
const SERVER_LIST_CHANGES = [
  "lb-lb-1-haproxy",
  "lb-lb-2-haproxy",
  "registration-gate",
  "server-list-record",
  "server-removal-check",
];
const script = (run: ProgramRun, name: string, kind: "create" | "delete") =>
  unwrapCommandLine(step(run, name).inputs[kind] as string);

describe("day 2 under mocks: scaling out and in", function () {
  this.timeout(180_000);
  let three: ProgramRun;
  before(async () => {
    three = await runProgram(devStack(), SECRET_KEYS, "scale");
  });

  it("adding an agent adds its own steps and changes no other resource's inputs", async () => {
    const agents = [...devHosts("agents"), { name: "agent-4", address: "10.10.10.104" }];
    const four = await runProgram(devStack({ "k3s-ha:agents": agents }), SECRET_KEYS, "scale");
    const diff = diffRuns(three, four);
    expect(diff).to.deep.equal({
      added: [
        ...stepsOf("agent-4", AGENT_STEPS),
        ...hostRecordNames("agent-4", "10.10.10.104"),
      ].sort(),
      removed: [],
      changed: [],
    });
    // Only the read-only membership wait runs elsewhere (on server-1).
    expect(hostOf(step(four, "agent-4-membership"))).to.equal("10.10.10.50");
    for (const s of ["token", "config", "install"]) {
      expect(hostOf(step(four, `agent-4-${s}`))).to.equal("10.10.10.104");
    }
  });

  it("adding a server joins it to server-1 and changes only the LB backends (a reload) and the gate", async () => {
    const servers = [...devHosts("servers"), { name: "server-4", address: "10.10.10.53" }];
    const four = await runProgram(devStack({ "k3s-ha:servers": servers }), SECRET_KEYS, "scale");
    const diff = diffRuns(three, four);
    expect(diff.added).to.deep.equal(
      [...stepsOf("server-4", SERVER_STEPS), ...hostRecordNames("server-4", "10.10.10.53")].sort(),
    );
    expect(diff.removed).to.deep.equal([]);
    expect(diff.changed).to.deep.equal(SERVER_LIST_CHANGES);
    for (const lb of ["lb-lb-1-haproxy", "lb-lb-2-haproxy"]) {
      // The script is the same (write, check with haproxy -c, reload); only the config differs,
      // and on lb-2 the servers its check of lb-1 probes /ping with (haproxyLbPair.ts).
      const withoutServerList = (run: ProgramRun) =>
        script(run, lb, "create").replace(/^peer_servers='[^']*'$/m, "");
      expect(withoutServerList(four)).to.equal(withoutServerList(three));
      expect(script(four, lb, "create")).to.contain('switch_tier haproxy haproxy "$changed"');
      expect(stdinOf(four, lb)).to.contain("10.10.10.53:6443");
    }
    expect(script(four, "lb-lb-2-haproxy", "create")).to.contain(
      "\npeer='lb-1'\npeer_at='10.10.10.98:6443'\npeer_servers='10.10.10.50:6443 10.10.10.51:6443 10.10.10.52:6443 10.10.10.53:6443'\n",
    );
    expect(stdinOf(four, "server-4-config")).to.contain("server: https://10.10.10.50:6443");
    expect(dependsOn(four, "server-4-install", "server-3-install")).to.equal(true);
  });

  describe("removing an agent", () => {
    let two: ProgramRun;
    before(async () => {
      two = await runProgram(
        devStack({ "k3s-ha:agents": devHosts("agents").slice(0, 2) }),
        SECRET_KEYS,
        "scale",
      );
    });

    it("removes only its steps; no other resource changes", () => {
      expect(diffRuns(three, two)).to.deep.equal({
        added: [],
        removed: [
          ...stepsOf("agent-3", AGENT_STEPS),
          ...hostRecordNames("agent-3", "10.10.10.103"),
        ].sort(),
        changed: [],
      });
    });

    it("drains and deletes the node from server-1 before the agent's own uninstall", () => {
      const membership = step(three, "agent-3-membership");
      expect(hostOf(membership)).to.equal("10.10.10.50");
      // Pulumi deletes dependents first: the membership step goes before the install step.
      expect(dependsOn(three, "agent-3-membership", "agent-3-install")).to.equal(true);
      const removal = script(three, "agent-3-membership", "delete");
      // role agent: no etcd member to remove (membership-delete.sh's server branches).
      expect(removal).to.contain("\nrole='agent'\nnode='agent-3'\n");
      expect(removal).to.contain("\ndrain_timeout='180'\n");
      expect(removal).to.contain(
        'kube drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout="${drain_timeout}s"',
      );
      expect(removal).to.contain('kube delete node "$node"');
      expect(script(three, "agent-3-install", "delete")).to.contain("k3s-agent-uninstall.sh");
    });
  });

  describe("removing a server", () => {
    let two: ProgramRun;
    before(async () => {
      two = await runProgram(
        // 2 servers tolerate no failure: refused unless the stack opts in.
        devStack({
          "k3s-ha:servers": devHosts("servers").slice(0, 2),
          "k3s-ha:allowTwoServers": true,
        }),
        SECRET_KEYS,
        "scale",
      );
    });

    it("removes its steps and takes it out of the LB backends; nothing else changes", () => {
      const diff = diffRuns(three, two);
      expect(diff.removed).to.deep.equal(
        [
          ...stepsOf("server-3", SERVER_STEPS),
          ...hostRecordNames("server-3", "10.10.10.52"),
        ].sort(),
      );
      expect(diff.added).to.deep.equal([]);
      expect(diff.changed).to.deep.equal(SERVER_LIST_CHANGES);
      expect(stdinOf(two, "lb-lb-1-haproxy")).to.not.contain("10.10.10.52");
    });

    it("checks quorum and removes the etcd member from server-1 before the server's uninstall", () => {
      expect(hostOf(step(three, "server-3-membership"))).to.equal("10.10.10.50");
      expect(dependsOn(three, "server-3-membership", "server-3-install")).to.equal(true);
      const removal = script(three, "server-3-membership", "delete");
      expect(removal).to.contain("refusing to remove server $node");
      expect(removal).to.contain("etcd.k3s.cattle.io/remove=true");
      expect(removal.indexOf("refusing to remove")).to.be.lessThan(removal.indexOf("kube drain"));
      expect(removal.indexOf("etcd.k3s.cattle.io/remove")).to.be.lessThan(
        removal.indexOf('kube delete node "$node"'),
      );
    });

    it("takes servers out one at a time, last first, each while its acting server and the LB stand", () => {
      expect(dependsOn(three, "server-3-membership", "server-2-membership")).to.equal(true);
      expect(dependsOn(three, "server-2-membership", "server-1-membership")).to.equal(true);
      // server-1's own membership runs on the next server, which therefore stays until it ran.
      expect(hostOf(step(three, "server-1-membership"))).to.equal("10.10.10.51");
      expect(dependsOn(three, "server-1-membership", "server-2-install")).to.equal(true);
      for (const s of ["server-1", "server-2", "server-3"]) {
        expect(dependsOn(three, `${s}-membership`, "lb-lb-1-haproxy"), s).to.equal(true);
        expect(script(three, `${s}-membership`, "delete")).to.contain(
          "\nregistration='10.10.10.100:6443'\n",
        );
      }
    });
  });

  it("keeps server-1's membership step on server-1 itself when it is the only server", async () => {
    const one = await runProgram(
      devStack({ "k3s-ha:servers": devHosts("servers").slice(0, 1) }),
      SECRET_KEYS,
      "scale",
    );
    expect(hostOf(step(one, "server-1-membership"))).to.equal("10.10.10.50");
  });

  it("runs the membership steps through sudo for a non-root SSH user", async () => {
    const staging = await runProgram(testStackConfig("staging"), [], "scale-staging");
    for (const name of ["server-1-membership", "agent-1-membership"]) {
      expect(step(staging, name).inputs.create, name).to.match(/^sudo -n sh -c '/);
      expect(step(staging, name).inputs.delete, name).to.match(/^sudo -n sh -c '/);
    }
    expect(script(staging, "agent-1-membership", "delete")).to.contain(
      "\nregistration='10.10.10.98:6443'\n",
    );
  });
});
