import { expect } from "chai";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

// Runs scripts/up.sh for real, with a throw-away HOME and stand-ins for `npm` and `npx` first on
// PATH: the stand-ins record their arguments and the passphrase variables Pulumi would see, and
// exit. No Pulumi CLI, no network, no state outside the temporary directory.

const SCRIPT = path.join(__dirname, "..", "..", "scripts", "up.sh");

const STUB = `#!/usr/bin/env bash
printf '%s|%s|%s|%s\\n' "$(basename "$0")" "$*" \\
  "\${PULUMI_CONFIG_PASSPHRASE_FILE-<unset>}" "\${PULUMI_CONFIG_PASSPHRASE-<unset>}" >>"$STUB_LOG"
case "$*" in *hostkeys*) exit "\${HOSTKEYS_STATUS:-0}" ;; esac
`;

interface Call {
  tool: string;
  args: string;
  passphraseFile: string;
  passphrase: string;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: Call[];
}

class Sandbox {
  readonly dir = mkdtempSync(path.join(tmpdir(), "up-script-"));
  readonly home = path.join(this.dir, "home");
  readonly bin = path.join(this.dir, "bin");
  readonly log = path.join(this.dir, "calls.log");
  readonly passphraseFile = path.join(this.home, ".k3s-ha", "passphrase");

  constructor() {
    mkdirSync(this.home);
    mkdirSync(this.bin);
    this.stub("npm", STUB);
    this.stub("npx", STUB);
  }

  stub(name: string, text: string): void {
    writeFileSync(path.join(this.bin, name), text, { mode: 0o755 });
  }

  /** up.sh dev under umask 000, so the file's mode comes from the script alone. */
  run(env: Record<string, string> = {}): Run {
    writeFileSync(this.log, "");
    const result = spawnSync("bash", ["-c", 'umask 000 && exec bash "$0" dev', SCRIPT], {
      encoding: "utf8",
      timeout: 30_000,
      env: {
        PATH: `${this.bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
        HOME: this.home,
        STUB_LOG: this.log,
        ...env,
      },
    });
    if (result.error) throw result.error;
    const calls = readFileSync(this.log, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => {
        const [tool, args, passphraseFile, passphrase] = line.split("|");
        return { tool, args, passphraseFile, passphrase };
      });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

describe("scripts/up.sh passphrase", () => {
  let box: Sandbox;

  beforeEach(() => {
    box = new Sandbox();
  });

  afterEach(() => box.remove());

  it("creates ~/.k3s-ha/passphrase (0600) on first use and hands Pulumi only the file", () => {
    const run = box.run();
    expect(run.status, run.stderr).to.equal(0);

    const passphrase = readFileSync(box.passphraseFile, "utf8").trim();
    expect(passphrase).to.match(/^[0-9a-f]{64}$/);
    expect(mode(box.passphraseFile)).to.equal(0o600);
    expect(mode(path.dirname(box.passphraseFile))).to.equal(0o700);
    // Only the passphrase and the state directory: no temporary file left behind.
    expect(readdirSync(path.dirname(box.passphraseFile)).sort()).to.deep.equal([
      "passphrase",
      "state",
    ]);

    expect(run.stderr).to.include(`created ${box.passphraseFile} (mode 0600)`);
    expect(run.stderr).to.match(/losing it\s+loses those secrets/);
    expect(run.stdout + run.stderr).to.not.include(passphrase);

    const stateUrl = `file://${path.join(box.home, ".k3s-ha", "state")}`;
    expect(run.calls.map((c) => [c.tool, c.args])).to.deep.equal([
      ["npm", "ci --no-audit --no-fund"],
      ["npm", "run --silent hostkeys -- --stack dev"],
      ["npx", `--yes pulumi@3.265.0 login ${stateUrl}`],
      ["npx", "--yes pulumi@3.265.0 stack select --create dev"],
      ["npx", "--yes pulumi@3.265.0 up --stack dev"],
    ]);
    for (const call of run.calls) {
      expect(call.passphraseFile, call.args).to.equal(box.passphraseFile);
      expect(call.passphrase, call.args).to.equal("<unset>");
      expect(call.args).to.not.include(passphrase);
    }
  });

  it("reuses the passphrase on the next run, silently", () => {
    expect(box.run().status).to.equal(0);
    const first = readFileSync(box.passphraseFile, "utf8");

    const run = box.run();
    expect(run.status, run.stderr).to.equal(0);
    expect(readFileSync(box.passphraseFile, "utf8")).to.equal(first);
    expect(mode(box.passphraseFile)).to.equal(0o600);
    expect(run.stderr).to.not.include("created");
    expect(run.stdout + run.stderr).to.not.include(first.trim());
    expect(run.calls.every((c) => c.passphraseFile === box.passphraseFile)).to.equal(true);
  });

  it("leaves a passphrase file named in PULUMI_CONFIG_PASSPHRASE_FILE to Pulumi", () => {
    const own = path.join(box.dir, "own-passphrase");
    writeFileSync(own, "mine\n", { mode: 0o600 });
    const run = box.run({ PULUMI_CONFIG_PASSPHRASE_FILE: own });
    expect(run.status, run.stderr).to.equal(0);
    expect(existsSync(box.passphraseFile)).to.equal(false);
    expect(run.calls.map((c) => c.passphraseFile)).to.deep.equal(Array(5).fill(own));
  });

  it("leaves a passphrase in PULUMI_CONFIG_PASSPHRASE to Pulumi and makes no file", () => {
    const run = box.run({ PULUMI_CONFIG_PASSPHRASE: "from-the-environment" });
    expect(run.status, run.stderr).to.equal(0);
    expect(existsSync(box.passphraseFile)).to.equal(false);
    expect(run.calls.map((c) => [c.passphraseFile, c.passphrase])).to.deep.equal(
      Array(5).fill(["<unset>", "from-the-environment"]),
    );
    expect(run.stdout + run.stderr).to.not.include("from-the-environment");
  });

  it("treats an empty PULUMI_CONFIG_PASSPHRASE as unset (Pulumi would use it as the passphrase)", () => {
    const run = box.run({ PULUMI_CONFIG_PASSPHRASE: "" });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.calls.map((c) => [c.passphraseFile, c.passphrase])).to.deep.equal(
      Array(5).fill([box.passphraseFile, "<unset>"]),
    );
  });

  it("pins host keys before pulumi up; a refused key stops it, an unpinned host is left to the program", () => {
    const refused = box.run({ HOSTKEYS_STATUS: "1" });
    expect(refused.status).to.equal(1);
    expect(refused.calls.map((c) => c.args).at(-1)).to.equal(
      "run --silent hostkeys -- --stack dev",
    );
    const unpinned = box.run({ HOSTKEYS_STATUS: "2" });
    expect(unpinned.status, unpinned.stderr).to.equal(0);
    expect(unpinned.calls.map((c) => c.args).at(-1)).to.equal(
      "--yes pulumi@3.265.0 up --stack dev",
    );
  });

  it("refuses a passphrase file other users can read, before running anything", () => {
    expect(box.run().status).to.equal(0);
    chmodSync(box.passphraseFile, 0o644);
    const run = box.run();
    expect(run.status).to.equal(2);
    expect(run.stderr).to.include(`run: chmod 600 ${box.passphraseFile}`);
    expect(run.calls).to.deep.equal([]);
  });

  it("refuses an empty passphrase file", () => {
    mkdirSync(path.dirname(box.passphraseFile), { mode: 0o700 });
    writeFileSync(box.passphraseFile, "", { mode: 0o600 });
    const run = box.run();
    expect(run.status).to.equal(2);
    expect(run.stderr).to.include("is empty");
    expect(run.calls).to.deep.equal([]);
  });

  it("leaves no passphrase file behind when openssl fails", () => {
    box.stub("openssl", "#!/usr/bin/env bash\nexit 1\n");
    const run = box.run();
    expect(run.status).to.not.equal(0);
    expect(run.calls).to.deep.equal([]);
    expect(readdirSync(path.dirname(box.passphraseFile))).to.deep.equal([]);
  });
});
