import { expect } from "chai";
import { criticalPath } from "../harness/program/graph";
import { runProgram } from "../harness/program/mocks";
import { commands } from "../harness/program/queries";
import { devStackWithAgents } from "../bench/topology";

describe("the program's size as agents are added", function () {
  this.timeout(120_000);
  it("adds a fixed number of steps per agent and never lengthens the critical path", async () => {
    const small = await runProgram(devStackWithAgents(3), [], "scale3");
    const large = await runProgram(devStackWithAgents(30), [], "scale30");
    // Per agent: token, config, install on the agent, and its membership step on server-1.
    expect(commands(large).length - commands(small).length).to.equal(27 * 4);
    expect(criticalPath(large)).to.have.length(criticalPath(small).length);
    expect(criticalPath(small)).to.deep.equal([
      // The check of server removals, before any other host step.
      "server-removal-check",
      // server-1 generates the agent token before its install (as long a chain as its config).
      "server-1-agent-token",
      "server-1-install",
      "server-1-read-token",
      "server-2-token",
      "server-2-install",
      "server-3-install",
      "registration-gate",
      criticalPath(small)[8],
      criticalPath(small)[9],
    ]);
    expect(criticalPath(small)[8]).to.match(/^agent-\d+-install$/);
    expect(criticalPath(small)[9]).to.equal(
      criticalPath(small)[8].replace("install", "membership"),
    );
  });
});
