/**
 * The host records under mocks that answer as the engine does for a record already in the state:
 * `ignoreChanges` on stdin keeps the stored value, so the record reports what was first deployed.
 */
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../components/config/errors";
import { RecordedHost, checkHostRecords } from "../components/host/hostRecords";
import { Naming } from "../components/host/naming";
import * as path from "path";
import { StackState } from "../harness/engine/state";
import { mockUp } from "../harness/program/mockDeploy";
import { PROJECT, reveal } from "../harness/program/mocks";
import { REPO_ROOT, testStackConfig } from "../harness/program/stacks";

const PARENT_TYPE = "test:index:Parent";

/** Evaluates the check with `state` holding earlier records (name → stored stdin). */
async function check(hosts: RecordedHost[], state: Record<string, string>): Promise<string[]> {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        if (args.type === PARENT_TYPE) return { id: undefined, state: {} };
        const inputs = args.inputs as { stdin: string };
        expect(args.type).to.equal("command:local:Command");
        expect(Object.keys(inputs), "a record runs nothing").to.deep.equal(["stdin"]);
        return { id: args.name, state: { stdin: state[args.name] ?? inputs.stdin } };
      },
      call: () => ({}),
    },
    PROJECT,
    "records",
  );
  // A refusal rejects the verdict record's input: its registration fails and the program ends on
  // the unhandled rejection (as Node's language host does), so the test listens for that.
  const listeners = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  try {
    const refused = new Promise<string[]>((resolve) =>
      process.on("unhandledRejection", (reason) => {
        if (reason instanceof ConfigError) resolve(reason.problems);
      }),
    );
    const parent = new pulumi.ComponentResource(PARENT_TYPE, "records");
    const checked = checkHostRecords(hosts, new Naming("", false), parent) as unknown as {
      promise(): Promise<void>;
    };
    return await Promise.race([checked.promise().then(() => []), refused]);
  } finally {
    process.removeAllListeners("unhandledRejection");
    for (const l of listeners) process.on("unhandledRejection", l);
  }
}

const agent = (name: string, address: string, i = 0): RecordedHost => ({
  field: `agents[${i}]`,
  role: "agent",
  name,
  address,
});

describe("host records", function () {
  this.timeout(30_000);

  it("accept a new stack and an unchanged one", async () => {
    const hosts = [agent("agent-1", "10.0.0.1"), agent("agent-2", "10.0.0.2", 1)];
    expect(await check(hosts, {})).to.deep.equal([]);
    const deployed = {
      "agent-1-host-record": "agent 10.0.0.1",
      "address-10.0.0.1-host-record": "agent agent-1",
    };
    expect(await check(hosts, deployed)).to.deep.equal([]);
  });

  it("refuse an address changed under the same name, and say how to move a host", async () => {
    const problems = await check([agent("agent-1", "10.0.0.9")], {
      "agent-1-host-record": "agent 10.0.0.1",
    });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.contain("agents[0] (agent-1): this stack deployed agent-1 to 10.0.0.1");
    expect(problems[0]).to.contain("now says 10.0.0.9");
    expect(problems[0]).to.contain("give the new one a new name");
  });

  it("refuse a new name on a host another name holds (its uninstall would follow)", async () => {
    const problems = await check([agent("agent-7", "10.0.0.1")], {
      "address-10.0.0.1-host-record": "agent agent-1",
    });
    expect(problems).to.deep.equal([
      "agents[0] (agent-7): 10.0.0.1 is agent-1's host in this stack's state. A new name on the same host would install agent-7 there and then run agent-1's delete (its uninstall) on it. Remove agent-1 and run pulumi up first, then add agent-7.",
    ]);
  });

  it("refuse a node turned from agent into server on the same host", async () => {
    const server: RecordedHost = {
      field: "servers[3]",
      role: "server",
      name: "n4",
      address: "10.0.0.4",
    };
    const problems = await check([server], {
      "n4-host-record": "agent 10.0.0.4",
      "address-10.0.0.4-host-record": "agent n4",
    });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(
      /^servers\[3\] \(n4\): this stack deployed n4 as an agent, .* as a server/,
    );
  });

  it("name every problem at once, and key IPv6 addresses without URN separators", async () => {
    const lb: RecordedHost = {
      field: "lbHosts[0]",
      role: "load balancer",
      name: "lb-1",
      address: "fd00::98",
    };
    const problems = await check([agent("agent-1", "10.0.0.9"), lb], {
      "agent-1-host-record": "agent 10.0.0.1",
      "address-fd00--98-host-record": "load-balancer lb-old",
    });
    expect(problems).to.have.length(2);
    expect(problems[1]).to.contain("fd00::98 is lb-old's host");
  });
});

describe("host records under the engine model", function () {
  this.timeout(120_000);

  it("stop a run that moves a host before any host step is registered", async () => {
    const dev = testStackConfig("dev");
    const base = await mockUp(undefined, dev, { stack: "records" });
    expect(base.result.errors).to.deep.equal([]);
    const agents = structuredClone(dev["k3s-ha:agents"] as { address: string }[]);
    agents[0].address = "10.10.10.109";
    const moved = await mockUp(base.result.state, { ...dev, "k3s-ha:agents": agents });
    expect(moved.result.ok).to.equal(false);
    expect(moved.result.errors.join("\n")).to.contain(
      "agents[0] (agent-1): this stack deployed agent-1 to 10.10.10.101, and the stack file now says 10.10.10.109",
    );
    const steps = moved.plan.changes.filter((c) => c.type === "command:remote:Command");
    expect(steps.map((c) => c.name)).to.deep.equal([]);
    // Every host step keeps its state: nothing ran, nothing was deleted.
    const stepsOf = (state: typeof base.result.state) =>
      state.resources.filter((r) => r.type === "command:remote:Command");
    expect(stepsOf(moved.result.state)).to.deep.equal(stepsOf(base.result.state));
  });
});

describe("host records of hosts whose address is an output (the address book)", function () {
  this.timeout(120_000);
  const PROGRAM = path.join(REPO_ROOT, "test", "fixtures", "programs", "outputAddresses.ts");
  const host = (name: string, address: string) => ({ name, address });
  const hosts = (agents: { name: string; address: string }[]) => ({
    "k3s-ha:hosts": {
      servers: [host("s1", "10.0.0.11"), host("s2", "10.0.0.12"), host("s3", "10.0.0.13")],
      agents,
      lb: [host("lb", "10.0.0.31")],
    },
  });
  const steps = (state: StackState) =>
    state.resources.filter((r) => r.type === "command:remote:Command");

  it("keeps them in a book, and refuses a new name on an address another name held, before any host step", async () => {
    const base = await mockUp(undefined, hosts([host("a1", "10.0.0.21")]), {
      stack: "book",
      program: PROGRAM,
    });
    expect(base.result.errors).to.deep.equal([]);
    const book = base.result.state.resources.find((r) => r.urn.endsWith("::vms-address-book"));
    expect(reveal(book?.outputs.stdout)).to.contain("10.0.0.21 a1 agents[0]");
    expect(base.result.state.resources.map((r) => r.urn)).to.not.satisfy((urns: string[]) =>
      urns.some((u) => u.includes("-address-10.0.0")),
    );

    const renamed = await mockUp(base.result.state, hosts([host("a7", "10.0.0.21")]), {
      program: PROGRAM,
    });
    expect(renamed.result.ok).to.equal(false);
    expect(renamed.result.errors.join("\n")).to.contain(
      "agents[0] (a7): 10.0.0.21 is a1's host in this stack's state. A new name on the same host would install a7 there and then run a1's delete (its uninstall) on it.",
    );
    expect(
      renamed.plan.changes.filter((c) => c.type === "command:remote:Command" && c.op !== "same"),
    ).to.deep.equal([]);
    expect(steps(renamed.result.state)).to.deep.equal(steps(base.result.state));
  });

  it("refuses a host moved to another address under its name, and accepts a new host", async () => {
    const base = await mockUp(undefined, hosts([host("a1", "10.0.0.21")]), {
      stack: "book2",
      program: PROGRAM,
    });
    const moved = await mockUp(base.result.state, hosts([host("a1", "10.0.0.29")]), {
      program: PROGRAM,
    });
    expect(moved.result.ok).to.equal(false);
    expect(moved.result.errors.join("\n")).to.contain(
      "agents[0] (a1): this stack deployed a1 to 10.0.0.21, and the stack file now says 10.0.0.29",
    );
    const added = await mockUp(
      base.result.state,
      hosts([host("a1", "10.0.0.21"), host("a2", "10.0.0.22")]),
      { program: PROGRAM },
    );
    expect(added.result.errors).to.deep.equal([]);
    const book = added.result.state.resources.find((r) => r.urn.endsWith("::vms-address-book"));
    expect(reveal(book?.outputs.stdout)).to.contain("10.0.0.22 a2 agents[1]");
  });
});
