import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackFileError, parseStackFile, readStackFile } from "../../tools/stack-file";

function errorOf(run: () => unknown): StackFileError {
  try {
    run();
  } catch (e) {
    if (e instanceof StackFileError) return e;
    throw e;
  }
  throw new Error("expected a StackFileError");
}

describe("stack files as the offline tools read them", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-stack-file-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("names a missing stack file and the stacks that exist, in one line", () => {
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config: {}\n");
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: k3s-ha\n");
    const file = path.join(dir, "Pulumi.prod.yaml");
    expect(errorOf(() => readStackFile(file)).message).to.equal(
      `${file}: no such stack file; stacks here: dev (create one by copying Pulumi.dev.yaml)`,
    );
  });

  it("gives a YAML error the file name, line and column", () => {
    const text = "config:\n  k3s-ha:sshUser: ubuntu\n  k3s-ha:sshUser: root\n";
    expect(errorOf(() => parseStackFile(text, "Pulumi.dev.yaml")).message).to.equal(
      "Pulumi.dev.yaml:3:3: not valid YAML: Map keys must be unique",
    );
    expect(
      errorOf(() => parseStackFile("config:\n  k3s-ha:vip: [10.0.0.1\n", "Pulumi.x.yaml")).message,
    ).to.match(/^Pulumi\.x\.yaml:\d+:\d+: not valid YAML: \S/);
    expect(errorOf(() => parseStackFile("config: [a, b]\n", "Pulumi.x.yaml")).message).to.equal(
      'Pulumi.x.yaml: "config" must be a map of keys to values (e.g. "k3s-ha:sshUser: ubuntu")',
    );
  });

  it("namespaces keys as the Pulumi CLI does: none is the project's, <ns>:config:<name> is <ns>:<name>", () => {
    const text =
      "config:\n  sshUser: ubuntu\n  k3s-ha:config:sshPort: 2222\n  aws:region: eu-central-1\n";
    expect(parseStackFile(text, "Pulumi.dev.yaml")).to.deep.equal({
      "k3s-ha:sshUser": "ubuntu",
      "k3s-ha:sshPort": 2222,
      "aws:region": "eu-central-1",
    });
    expect(
      errorOf(() => parseStackFile("config:\n  a:b:c: 1\n", "Pulumi.dev.yaml")).message,
    ).to.equal(
      "Pulumi.dev.yaml: config key a:b:c: could not parse a:b:c as a configuration key (configuration keys should be of the form `<namespace>:<name>`)",
    );
  });

  it("refuses one key written both with and without the namespace (the CLI keeps either)", () => {
    const text = "config:\n  k3s-ha:sshUser: root\n  sshUser: ubuntu\n";
    expect(errorOf(() => parseStackFile(text, "Pulumi.dev.yaml")).message).to.equal(
      "Pulumi.dev.yaml: config keys k3s-ha:sshUser and sshUser are the same key k3s-ha:sshUser (a key without a namespace is the project's); keep one",
    );
  });
});
