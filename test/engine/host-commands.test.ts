/**
 * The e2e stand-in for the command provider (e2e/host-commands.ts), the parts that need no SSH:
 * what runs nothing and never dials (pulumi-command v1.2.1 commandController.go).
 */
import { expect } from "chai";
import { HostCommands, NotCoveredError } from "../../e2e/host-commands";

// TEST-NET-1: nothing answers there, so a dial would fail (or hang) the test.
const unreachable = { secret: { host: "192.0.2.1", port: 22, user: "root", dialErrorLimit: 1 } };
const base = {
  urn: "urn:pulumi:s::p::command:remote:Command::c",
  type: "command:remote:Command",
  name: "c",
};

describe("e2e command provider stand-in: steps that run nothing", function () {
  it("a Command with no create is created without dialling: inputs plus empty stdout/stderr", async function () {
    const commands = new HostCommands();
    const inputs = { connection: unreachable, addPreviousOutputInEnv: false };
    const { outputs } = await commands.create({ ...base, inputs, preview: false });
    expect(outputs).to.deep.equal({ ...inputs, stdout: "", stderr: "" });
    expect(commands.records).to.deep.equal([]);
  });

  it("an update with neither update nor create keeps the old stdout/stderr", async function () {
    const commands = new HostCommands();
    const newInputs = { connection: unreachable, stdin: "x", addPreviousOutputInEnv: false };
    const { outputs } = await commands.update({
      ...base,
      id: "c1",
      oldInputs: {},
      oldOutputs: { stdout: "old out", stderr: { secret: "old err" } },
      newInputs,
      ignoreChanges: [],
      preview: false,
    });
    expect(outputs).to.deep.equal({ ...newInputs, stdout: "old out", stderr: "old err" });
    expect(commands.records).to.deep.equal([]);
  });

  it("a delete with no delete in the OLD state runs nothing", async function () {
    const commands = new HostCommands();
    await commands.delete({
      ...base,
      id: "c1",
      inputs: { delete: "rm -rf /x" },
      outputs: { connection: unreachable },
    });
    expect(commands.records).to.deep.equal([]);
  });

  it("a local Command is covered only without commands; other types are not covered", async function () {
    const commands = new HostCommands();
    const local = { ...base, type: "command:local:Command", preview: false };
    const { outputs } = await commands.create({ ...local, inputs: { stdin: "server 10.0.0.1" } });
    expect(outputs.stdin).to.equal("server 10.0.0.1");
    const withCommand = commands.create({ ...local, inputs: { create: "echo hi" } });
    await withCommand.then(
      () => expect.fail("a local command must not run"),
      (err: Error) => expect(err).to.be.instanceOf(NotCoveredError),
    );
    const docker = commands.create({
      ...base,
      type: "docker:index/container:Container",
      inputs: {},
      preview: false,
    });
    await docker.then(
      () => expect.fail("docker is not covered"),
      (err: Error) =>
        expect(err.message).to.match(
          /does not run docker:index\/container:Container \(c\): not covered/,
        ),
    );
  });

  it("a step that sets environment or leaves addPreviousOutputInEnv on is refused before dialling", async function () {
    const commands = new HostCommands();
    const run = commands.create({
      ...base,
      inputs: { connection: unreachable, create: "true" },
      preview: false,
    });
    await run.then(
      () => expect.fail("refused"),
      (err: Error) => expect(err.message).to.contain("sets environment or addPreviousOutputInEnv"),
    );
    expect(commands.records.map((r) => r.error)).to.have.length(1);
  });
});
