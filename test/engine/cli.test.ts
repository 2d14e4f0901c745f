/**
 * The `pulumi` stand-in (harness/cli/pulumi) run as a user runs the CLI, in a throw-away project
 * whose program registers no resource (so no lab is needed): what the scripts rely on is as strict
 * as the real CLI (pulumi/pulumi sources named in harness/cli/main.ts and passphrase.ts).
 */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { Crypter, INCORRECT_PASSPHRASE, PASSPHRASE_UNSET } from "../../harness/cli/passphrase";

const REPO = path.join(__dirname, "..", "..");
const CLI = path.join(REPO, "harness", "cli", "pulumi");

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
const config = new pulumi.Config();
export const greeting = config.require("greeting");
export const fromSecret = config.getSecret("token");
export const token = pulumi.secret("s3cret");
export const nested = { a: 1, b: [true] };
`;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe("the pulumi CLI stand-in", function () {
  this.timeout(180_000);
  let dir: string;
  let env: Record<string, string>;

  const pulumi = (args: string[], extra: Record<string, string | undefined> = {}): Result => {
    const merged: Record<string, string> = { ...env };
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined) delete merged[k];
      else merged[k] = v;
    }
    const r = spawnSync(CLI, args, { cwd: dir, env: merged, encoding: "utf8", timeout: 60_000 });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const stackFile = (stack: string) => path.join(dir, `Pulumi.${stack}.yaml`);

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-cli-"));
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      "name: k3s-ha\nruntime: nodejs\nmain: program.ts\nconfig:\n  greeting:\n    type: string\n    default: hello\n",
    );
    fs.writeFileSync(path.join(dir, "program.ts"), PROGRAM);
    fs.mkdirSync(path.join(dir, "state"));
    fs.writeFileSync(path.join(dir, "passphrase"), "right horse\n", { mode: 0o600 });
    env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
      PULUMI_CONFIG_PASSPHRASE_FILE: path.join(dir, "passphrase"),
    };
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("prints its version as the pinned CLI does", () => {
    const r = pulumi(["version"]);
    expect([r.status, r.stdout]).to.deep.equal([0, "v3.265.0\n"]);
  });

  it("refuses to create a stack without a passphrase, writing nothing", () => {
    fs.writeFileSync(stackFile("dev"), "# mine\nconfig:\n  k3s-ha:greeting: hi\n");
    const r = pulumi(["stack", "select", "--create", "dev"], {
      PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
    });
    expect(r.status).to.equal(255);
    expect(r.stderr).to.equal(`error: ${PASSPHRASE_UNSET}\n`);
    expect(fs.readFileSync(stackFile("dev"), "utf8")).to.not.include("encryptionsalt");
    expect(pulumi(["stack", "output", "--stack", "dev"]).stderr).to.equal(
      "error: no stack named 'dev' found\n",
    );
  });

  it("stack select --create writes the passphrase's encryptionsalt into Pulumi.<stack>.yaml, keeping the rest", () => {
    const r = pulumi(["stack", "select", "--create", "dev"]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal("Created stack 'dev'\n");
    const text = fs.readFileSync(stackFile("dev"), "utf8");
    expect(text).to.include("# mine");
    const doc = parse(text) as { encryptionsalt: string; config: Record<string, string> };
    expect(doc.config).to.deep.equal({ "k3s-ha:greeting": "hi" });
    // v1:<8-byte salt>:v1:<12-byte nonce>:<"pulumi" + 16-byte tag>
    const [v, salt, v2, nonce, sealed] = doc.encryptionsalt.split(":");
    expect([v, v2]).to.deep.equal(["v1", "v1"]);
    expect(Buffer.from(salt, "base64")).to.have.length(8);
    expect(Buffer.from(nonce, "base64")).to.have.length(12);
    expect(Buffer.from(sealed, "base64")).to.have.length(6 + 16);
    const crypter = Crypter.fromPassphrase("right horse", Buffer.from(salt, "base64"));
    expect(crypter.decrypt(`v1:${nonce}:${sealed}`)).to.equal("pulumi");

    const again = pulumi(["stack", "select", "--create", "dev"]);
    expect([again.status, again.stdout]).to.deep.equal([0, ""]);
    expect(fs.readFileSync(stackFile("dev"), "utf8")).to.equal(text);
  });

  it("up without --yes off a terminal fails as the real CLI does, running nothing", () => {
    const r = pulumi(["up", "--stack", "dev"]);
    expect(r.status).to.equal(255);
    expect(r.stderr).to.equal(
      "error: --yes or --skip-preview must be passed in to proceed when running in non-interactive mode\n",
    );
    expect(r.stdout).to.equal("");
  });

  it("on a terminal, up asks first and does nothing unless the answer is yes", () => {
    const command = `printf 'no\\n' | script -qec '${CLI} up --stack dev' /dev/null`;
    const r = spawnSync("bash", ["-c", command], {
      cwd: dir,
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stdout + r.stderr).to.equal(255);
    expect(r.stdout).to.include("Do you want to perform this update? [yes/no]");
    expect(r.stdout).to.include("confirmation declined, not proceeding with the update");
    expect(r.stdout).to.not.include("Resources:\r\n");
  });

  it("a wrong passphrase fails up and stack output with the real message", () => {
    fs.writeFileSync(path.join(dir, "wrong"), "wrong horse\n");
    for (const args of [
      ["up", "--yes", "-s", "dev"],
      ["stack", "output", "-s", "dev"],
    ]) {
      const r = pulumi(args, { PULUMI_CONFIG_PASSPHRASE_FILE: path.join(dir, "wrong") });
      expect(r.status, args.join(" ")).to.equal(255);
      expect(r.stderr, args.join(" ")).to.equal(`error: ${INCORRECT_PASSPHRASE}\n`);
    }
  });

  it("up --yes runs the program with the stack's config (secure values decrypted, project defaults) and keeps its outputs", () => {
    const salt = (parse(fs.readFileSync(stackFile("dev"), "utf8")) as { encryptionsalt: string })
      .encryptionsalt;
    const crypter = Crypter.fromPassphrase(
      "right horse",
      Buffer.from(salt.split(":")[1], "base64"),
    );
    fs.writeFileSync(
      stackFile("dev"),
      `encryptionsalt: ${salt}\nconfig:\n  k3s-ha:token:\n    secure: ${crypter.encrypt("tok-123")}\n`,
    );
    const r = pulumi(["up", "--yes", "--stack", "dev"]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout + r.stderr).to.not.include("tok-123");

    const all = pulumi(["stack", "output", "--stack", "dev"]);
    expect(all.stdout).to.equal(
      [
        "Current stack outputs (4):",
        "    OUTPUT      VALUE",
        "    fromSecret  [secret]",
        "    greeting    hello",
        '    nested      {"a":1,"b":[true]}',
        "    token       [secret]",
        "",
      ].join("\n"),
    );
    expect(pulumi(["stack", "output", "token", "-s", "dev"]).stdout).to.equal("[secret]\n");
    expect(
      pulumi(["stack", "output", "fromSecret", "--show-secrets", "-s", "dev"]).stdout,
    ).to.equal("tok-123\n");
    const missing = pulumi(["stack", "output", "nope", "-s", "dev"]);
    expect([missing.status, missing.stderr]).to.deep.equal([
      255,
      "error: current stack does not have output property 'nope'\n",
    ]);
  });

  it("fails loudly on what it does not serve", () => {
    expect(pulumi(["refresh", "--yes"]).stderr).to.equal(
      'error: unknown command "refresh" for "pulumi" (not in this stand-in)\n',
    );
    expect(pulumi(["up", "--frobnicate"]).stderr).to.equal("error: unknown flag: --frobnicate\n");
  });

  it("reads a key without a namespace as the project's; refuses one written both ways", () => {
    const original = fs.readFileSync(stackFile("dev"), "utf8");
    const withConfig = (lines: string) =>
      fs.writeFileSync(stackFile("dev"), original.replace("config:\n", `config:\n${lines}`));
    withConfig("  greeting: hey\n  k3s-ha:greeting: hi\n");
    const twice = pulumi(["preview", "-s", "dev"]);
    expect([twice.status, twice.stderr]).to.deep.equal([
      255,
      "error: k3s-ha:greeting is set twice in the stack file (once without its namespace)\n",
    ]);
    withConfig("  greeting: hey\n");
    const bare = pulumi(["up", "--yes", "-s", "dev"]);
    expect(bare.status, bare.stderr).to.equal(0);
    expect(pulumi(["stack", "output", "greeting", "-s", "dev"]).stdout).to.equal("hey\n");
    fs.writeFileSync(stackFile("dev"), original);
  });

  it("destroy --yes empties the stack and its outputs", () => {
    const r = pulumi(["destroy", "--yes", "-s", "dev"]);
    expect(r.status, r.stderr).to.equal(0);
    expect(pulumi(["stack", "output", "--json", "-s", "dev"]).stdout).to.equal("{}\n");
  });
});
