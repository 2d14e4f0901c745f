/**
 * The e2e stand-in for the command provider (harness/e2e/host-commands.ts), the parts that need no SSH:
 * what runs nothing and never dials (pulumi-command v1.2.1 commandController.go).
 */
import { expect } from "chai";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostCommands, NotCoveredError } from "../../harness/e2e/host-commands";

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

  it("a local Command runs nothing without commands and runs on this machine with one; other types are not covered", async function () {
    const commands = new HostCommands();
    const local = { ...base, type: "command:local:Command", preview: false };
    const { outputs } = await commands.create({ ...local, inputs: { stdin: "server 10.0.0.1" } });
    expect(outputs.stdin).to.equal("server 10.0.0.1");
    expect(outputs.stdout).to.equal("");
    const ran = await commands.create({
      ...local,
      inputs: { create: 'read -r line; echo "got $line"', stdin: "server 10.0.0.1\n" },
    });
    expect(ran.outputs.stdout).to.equal("got server 10.0.0.1");
    const failing = commands.create({ ...local, inputs: { create: "echo no >&2; exit 3" } });
    await failing.then(
      () => expect.fail("a local command that exits 3 must fail its step"),
      (err: Error) =>
        expect(err.message).to.match(/^exit status 3: running "echo no >&2; exit 3":\nno/),
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

  it("a CopyToRemote update copies nothing when the file's content and remotePath are the same; no delete; file assets only", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-copy-"));
    try {
      const file = path.join(dir, "k3s");
      fs.writeFileSync(file, "same content\n");
      const asset = (p: string) => ({ [rpc.specialSigKey]: rpc.specialAssetSig, path: p });
      const copy = { ...base, type: "command:remote:CopyToRemote", id: "c1" };
      const inputs = { connection: unreachable, source: asset(file), remotePath: "/x/k3s" };
      const commands = new HostCommands();
      // The same content under another local path is the same asset (the engine hashes it).
      const moved = path.join(dir, "k3s-copy");
      fs.copyFileSync(file, moved);
      const { outputs } = await commands.update({
        ...copy,
        oldInputs: inputs,
        oldOutputs: inputs,
        newInputs: { ...inputs, source: asset(moved) },
        ignoreChanges: [],
        preview: false,
      });
      expect(outputs.remotePath).to.equal("/x/k3s");
      await commands.delete({ ...copy, inputs, outputs: inputs });
      expect(commands.records).to.deep.equal([]);
      const text = commands.create({
        ...copy,
        inputs: { ...inputs, source: { [rpc.specialSigKey]: rpc.specialAssetSig, text: "x" } },
        preview: false,
      });
      await text.then(
        () => expect.fail("a text asset is not covered"),
        (err: Error) => expect(err).to.be.instanceOf(NotCoveredError),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
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
