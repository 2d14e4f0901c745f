import { expect } from "chai";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

// Runs scripts/up.sh and scripts/pulumi.sh for real, from a throw-away copy of the repository's
// scripts (its stack file, package files, node_modules linked), with a throw-away HOME and
// stand-ins for `npm`, `npx` and (when a test says) `pulumi` first on PATH: the stand-ins record
// their arguments and the passphrase variables Pulumi would see, and exit. No Pulumi CLI, no
// network, no state outside the temporary directory.

const REPO = path.join(__dirname, "..", "..");
const CLI = "--yes pulumi@3.265.0";

const STUB = `#!/usr/bin/env bash
printf '%s|%s|%s|%s|%s\\n' "$(basename "$0")" "$*" \\
  "\${PULUMI_CONFIG_PASSPHRASE_FILE-<unset>}" "\${PULUMI_CONFIG_PASSPHRASE-<unset>}" \\
  "\${PULUMI_BACKEND_URL-<unset>}" >>"$STUB_LOG"
case "$*" in
  *hostkeys*) exit "\${HOSTKEYS_STATUS:-0}" ;;
  version | *" version")
    case "$(basename "$0"):\${NPX_FAILS:-}" in
      npx:npm) echo "npm error code ENOTFOUND" >&2; echo "npm error network request to https://registry.npmjs.org/pulumi failed" >&2; exit 1 ;;
      npx:release) echo "Downloading pulumi v3.265.0..." >&2; echo "pulumi: fetch failed" >&2; exit 1 ;;
    esac
    echo "\${PULUMI_STUB_VERSION:-v3.265.0}" ;;
esac
`;

interface Call {
  tool: string;
  args: string;
  passphraseFile: string;
  passphrase: string;
  backend: string;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: Call[];
}

class Sandbox {
  readonly dir = mkdtempSync(path.join(tmpdir(), "up-script-"));
  readonly repo = path.join(this.dir, "repo");
  readonly home = path.join(this.dir, "home");
  readonly bin = path.join(this.dir, "bin");
  readonly log = path.join(this.dir, "calls.log");
  readonly passphraseFile = path.join(this.home, ".k3s-ha", "passphrase");
  readonly stateUrl = `file://${path.join(this.home, ".k3s-ha", "state")}`;

  constructor() {
    mkdirSync(this.home);
    mkdirSync(this.bin);
    mkdirSync(this.repo);
    cpSync(path.join(REPO, "scripts"), path.join(this.repo, "scripts"), { recursive: true });
    for (const file of ["Pulumi.dev.yaml", "package.json", "package-lock.json"]) {
      cpSync(path.join(REPO, file), path.join(this.repo, file));
    }
    // Read only (the `yaml` package, the installed versions): `npm` is a stand-in here.
    symlinkSync(path.join(REPO, "node_modules"), path.join(this.repo, "node_modules"));
    this.stub("npm", STUB);
    this.stub("npx", STUB);
  }

  stub(name: string, text: string): void {
    writeFileSync(path.join(this.bin, name), text, { mode: 0o755 });
  }

  /** A script with `args`, under umask 000 so a file's mode comes from the script alone. */
  script(name: string, args: string[], env: Record<string, string> = {}, tty = false): Run {
    writeFileSync(this.log, "");
    const command = ["umask 000", `exec bash ${[name, ...args].map(q).join(" ")}`].join(" && ");
    const argv = tty
      ? ["script", "-qec", `bash -c ${q(command)}`, "/dev/null"]
      : ["bash", "-c", command];
    const result = spawnSync(argv[0], argv.slice(1), {
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
        const [tool, args, passphraseFile, passphrase, backend] = line.split("|");
        return { tool, args, passphraseFile, passphrase, backend };
      });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
  }

  up(env: Record<string, string> = {}, stack = "dev"): Run {
    return this.script(path.join(this.repo, "scripts", "up.sh"), [stack], env);
  }

  pulumi(args: string[], env: Record<string, string> = {}): Run {
    return this.script(path.join(this.repo, "scripts", "pulumi.sh"), args, env);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

const argsOf = (run: Run) => run.calls.map((c) => [c.tool, c.args]);

describe("scripts/up.sh", () => {
  let box: Sandbox;

  beforeEach(() => {
    box = new Sandbox();
  });

  afterEach(() => box.remove());

  it("creates ~/.k3s-ha/passphrase (0600) on first use and hands Pulumi only the file", () => {
    const run = box.up();
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
    expect(mode(path.join(box.home, ".k3s-ha", "state"))).to.equal(0o700);

    expect(run.stderr).to.include(`created ${box.passphraseFile} (mode 0600)`);
    expect(run.stderr).to.match(/losing it\nup\.sh: {3}loses those secrets/);
    expect(run.stderr).to.include(
      "up.sh:   scripts/pulumi.sh stack output apiEndpoint --stack <stack>",
    );
    expect(run.stdout + run.stderr).to.not.include(passphrase);
    expect(run.stderr).to.match(
      /up\.sh: next: npm run kubeconfig -- --stack dev --merge {3}\(context dev in ~\/\.kube\/config\)\nup\.sh: {3}and for any later Pulumi command: scripts\/pulumi\.sh <command> --stack dev\n$/,
    );

    expect(argsOf(run)).to.deep.equal([
      ["npm", "run --silent hostkeys -- --stack dev"],
      ["npx", `${CLI} version`],
      ["npx", `${CLI} stack select --create dev`],
      ["npx", `${CLI} up --yes --stack dev`],
    ]);
    for (const call of run.calls) {
      expect(call.passphraseFile, call.args).to.equal(box.passphraseFile);
      expect(call.passphrase, call.args).to.equal("<unset>");
      expect(call.args).to.not.include(passphrase);
    }
    for (const call of run.calls.slice(1)) expect(call.backend).to.equal(box.stateUrl);
  });

  it("reuses the passphrase on the next run, silently", () => {
    expect(box.up().status).to.equal(0);
    const first = readFileSync(box.passphraseFile, "utf8");

    const run = box.up();
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
    const run = box.up({ PULUMI_CONFIG_PASSPHRASE_FILE: own });
    expect(run.status, run.stderr).to.equal(0);
    expect(existsSync(box.passphraseFile)).to.equal(false);
    expect(run.calls.map((c) => c.passphraseFile)).to.deep.equal(Array(4).fill(own));
  });

  it("leaves a passphrase in PULUMI_CONFIG_PASSPHRASE to Pulumi and makes no file", () => {
    const run = box.up({ PULUMI_CONFIG_PASSPHRASE: "from-the-environment" });
    expect(run.status, run.stderr).to.equal(0);
    expect(existsSync(box.passphraseFile)).to.equal(false);
    expect(run.calls.map((c) => [c.passphraseFile, c.passphrase])).to.deep.equal(
      Array(4).fill(["<unset>", "from-the-environment"]),
    );
    expect(run.stdout + run.stderr).to.not.include("from-the-environment");
  });

  it("treats an empty PULUMI_CONFIG_PASSPHRASE as unset (Pulumi would use it as the passphrase)", () => {
    const run = box.up({ PULUMI_CONFIG_PASSPHRASE: "" });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.calls.map((c) => [c.passphraseFile, c.passphrase])).to.deep.equal(
      Array(4).fill([box.passphraseFile, "<unset>"]),
    );
  });

  it("keeps a PULUMI_BACKEND_URL it is given, else K3S_HA_STATE_DIR's directory", () => {
    const given = box.up({ PULUMI_BACKEND_URL: "s3://bucket/k3s" });
    expect(given.calls.at(-1)?.backend).to.equal("s3://bucket/k3s");
    const dir = path.join(box.dir, "elsewhere");
    const chosen = box.up({ K3S_HA_STATE_DIR: dir });
    expect(chosen.calls.at(-1)?.backend).to.equal(`file://${dir}`);
    expect(existsSync(dir)).to.equal(true);
  });

  it("a refused host key stops it before any pulumi command", () => {
    const run = box.up({ HOSTKEYS_STATUS: "1" });
    expect(run.status).to.equal(1);
    expect(argsOf(run)).to.deep.equal([["npm", "run --silent hostkeys -- --stack dev"]]);
    expect(run.stderr).to.include(
      "up.sh: stopped before pulumi up: npm run hostkeys -- --stack dev refused (above); nothing was deployed",
    );
  });

  it("an unpinned host stops it before any pulumi command, saying how to pin", () => {
    const run = box.up({ HOSTKEYS_STATUS: "2" });
    expect(run.status).to.equal(2);
    expect(argsOf(run)).to.deep.equal([["npm", "run --silent hostkeys -- --stack dev"]]);
    const message = [
      "up.sh: stopped before pulumi up: the hosts listed above as not pinned have no hostKey in",
      "up.sh:   Pulumi.dev.yaml, and the program refuses to connect to them. Pin their keys, then run",
      "up.sh:   scripts/up.sh dev again:",
      "up.sh:     npm run hostkeys -- --stack dev              (on a terminal: shows each fingerprint, asks)",
      "up.sh:     npm run hostkeys -- --stack dev --expect SHA256:...   (fingerprints read on each host's console)",
      "up.sh:     npm run hostkeys -- --stack dev --known-hosts ~/.ssh/known_hosts",
      "up.sh:   A host that did not answer: check that it is up and that this machine reaches its SSH port.",
      "up.sh:   Or accept any host key knowingly: k3s-ha:sshTrustAnyHostKey: true in Pulumi.dev.yaml.",
    ].join("\n");
    expect(run.stderr.endsWith(`${message}\n`), run.stderr).to.equal(true);
  });

  it("an unpinned host goes on to pulumi up when the stack sets sshTrustAnyHostKey: true", () => {
    const file = path.join(box.repo, "Pulumi.dev.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "config:\n",
        "config:\n  k3s-ha:sshTrustAnyHostKey: true\n",
      ),
    );
    const run = box.up({ HOSTKEYS_STATUS: "2" });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.include(
      "up.sh: continuing with hosts unpinned: Pulumi.dev.yaml sets sshTrustAnyHostKey: true",
    );
    expect(argsOf(run).at(-1)).to.deep.equal(["npx", `${CLI} up --yes --stack dev`]);
  });

  it("uses a pulumi v3.200 or later on PATH, and says so", () => {
    box.stub("pulumi", STUB);
    const run = box.up({ PULUMI_STUB_VERSION: "v3.250.1" });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.include(`up.sh: using pulumi v3.250.1 from PATH (${box.bin}/pulumi)`);
    expect(argsOf(run)).to.deep.equal([
      ["npm", "run --silent hostkeys -- --stack dev"],
      ["pulumi", "version"],
      ["pulumi", "stack select --create dev"],
      ["pulumi", "up --yes --stack dev"],
    ]);
  });

  it("passes over an older pulumi on PATH, naming its version, and uses the pinned one", () => {
    box.stub("pulumi", STUB);
    const run = box.up({ PULUMI_STUB_VERSION: "v3.199.0" });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.include(
      `up.sh: the pulumi on PATH (${box.bin}/pulumi) is v3.199.0, older than v3.200.0 which this ` +
        "program needs: using npx --yes pulumi@3.265.0 instead",
    );
    expect(argsOf(run).slice(1)).to.deep.equal([
      ["pulumi", "version"],
      ["npx", `${CLI} version`],
      ["npx", `${CLI} stack select --create dev`],
      ["npx", `${CLI} up --yes --stack dev`],
    ]);
  });

  it("when the npm package cannot be fetched, says so and what else to do", () => {
    const run = box.up({ NPX_FAILS: "npm" });
    expect(run.status).to.equal(3);
    expect(argsOf(run).at(-1)).to.deep.equal(["npx", `${CLI} version`]);
    expect(run.stderr).to.include(
      [
        "up.sh: no pulumi on PATH: using npx --yes pulumi@3.265.0",
        "up.sh: could not get the Pulumi CLI: npx could not fetch the package pulumi@3.265.0",
        "up.sh:   from the npm registry (npm config get registry names it). npm said:",
        "    npm error code ENOTFOUND",
        "    npm error network request to https://registry.npmjs.org/pulumi failed",
        ...ALTERNATIVES,
      ].join("\n"),
    );
  });

  it("when the package's download of the Pulumi release fails, says so and what else to do", () => {
    const run = box.up({ NPX_FAILS: "release" });
    expect(run.status).to.equal(3);
    expect(run.stderr).to.include(
      [
        "up.sh: could not get the Pulumi CLI: the npm package pulumi@3.265.0 ran, but its",
        "up.sh:   first-run download of the Pulumi v3.265.0 release failed (it fetches",
        "up.sh:   https://get.pulumi.com/install.sh, which downloads the release from get.pulumi.com into",
        `up.sh:   ${box.home}/.pulumi/versions/3.265.0). It said:`,
        "    Downloading pulumi v3.265.0...",
        "    pulumi: fetch failed",
        ...ALTERNATIVES,
      ].join("\n"),
    );
  });

  it("skips the download check once the pinned CLI is in ~/.pulumi/versions", () => {
    const binDir = path.join(box.home, ".pulumi", "versions", "3.265.0", "bin");
    mkdirSync(binDir, { recursive: true });
    writeFileSync(path.join(binDir, "pulumi"), "#!/bin/sh\n", { mode: 0o755 });
    const run = box.up({ NPX_FAILS: "npm" });
    expect(run.status, run.stderr).to.equal(0);
    expect(argsOf(run).map((c) => c[1])).to.not.include(`${CLI} version`);
  });

  it("on a terminal, leaves the confirmation to pulumi up (no --yes)", () => {
    const run = box.script(path.join(box.repo, "scripts", "up.sh"), ["dev"], {}, true);
    expect(run.status, run.stdout).to.equal(0);
    expect(argsOf(run).at(-1)).to.deep.equal(["npx", `${CLI} up --stack dev`]);
  });

  it("runs npm ci only when node_modules does not match package-lock.json", () => {
    const lockFile = path.join(box.repo, "package-lock.json");
    const lock = JSON.parse(readFileSync(lockFile, "utf8")) as {
      packages: Record<string, { version?: string }>;
    };
    lock.packages["node_modules/yaml"].version = "0.0.1";
    writeFileSync(lockFile, JSON.stringify(lock));
    const run = box.up();
    expect(run.status, run.stderr).to.equal(0);
    expect(argsOf(run)[0]).to.deep.equal(["npm", "ci --no-audit --no-fund"]);

    cpSync(path.join(REPO, "package-lock.json"), lockFile);
    const current = box.up();
    expect(current.stderr).to.include("up.sh: node_modules matches package-lock.json: no npm ci");
    expect(argsOf(current)[0]).to.deep.equal(["npm", "run --silent hostkeys -- --stack dev"]);
  });

  it("refuses a missing stack file, naming the copy to make", () => {
    const run = box.up({}, "mine");
    expect(run.status).to.equal(2);
    expect(run.stderr).to.equal(
      "up.sh: no Pulumi.mine.yaml: copy Pulumi.dev.yaml to Pulumi.mine.yaml and describe your hosts (see README.md)\n",
    );
    expect(run.calls).to.deep.equal([]);
  });

  it("refuses a passphrase file other users can read, before running anything", () => {
    expect(box.up().status).to.equal(0);
    chmodSync(box.passphraseFile, 0o644);
    const run = box.up();
    expect(run.status).to.equal(2);
    expect(run.stderr).to.include(
      `up.sh: ${box.passphraseFile} is accessible to other users; run: chmod 600 ${box.passphraseFile}`,
    );
    expect(run.calls).to.deep.equal([]);
  });

  it("refuses an empty passphrase file", () => {
    mkdirSync(path.dirname(box.passphraseFile), { mode: 0o700 });
    writeFileSync(box.passphraseFile, "", { mode: 0o600 });
    const run = box.up();
    expect(run.status).to.equal(2);
    expect(run.stderr).to.include("is empty");
    expect(run.calls).to.deep.equal([]);
  });

  it("leaves no passphrase file behind when openssl fails", () => {
    box.stub("openssl", "#!/usr/bin/env bash\nexit 1\n");
    const run = box.up();
    expect(run.status).to.not.equal(0);
    expect(run.calls).to.deep.equal([]);
    expect(readdirSync(path.dirname(box.passphraseFile))).to.deep.equal([]);
  });
});

describe("scripts/pulumi.sh", () => {
  let box: Sandbox;

  beforeEach(() => {
    box = new Sandbox();
  });

  afterEach(() => box.remove());

  it("runs the CLI with up.sh's backend and passphrase file, from the repository", () => {
    expect(box.up().status).to.equal(0);
    const run = box.pulumi(["stack", "output", "kubeconfig", "--show-secrets", "--stack", "dev"]);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.equal("");
    expect(run.calls.map((c) => c.args)).to.deep.equal([
      `${CLI} version`,
      `${CLI} stack output kubeconfig --show-secrets --stack dev`,
    ]);
    expect(run.calls.at(-1)).to.deep.equal({
      tool: "npx",
      args: `${CLI} stack output kubeconfig --show-secrets --stack dev`,
      passphraseFile: box.passphraseFile,
      passphrase: "<unset>",
      backend: box.stateUrl,
    });
  });

  it("makes no passphrase, and says where it would be", () => {
    const run = box.pulumi(["stack", "ls"]);
    expect(run.status, run.stderr).to.equal(0);
    expect(existsSync(box.passphraseFile)).to.equal(false);
    expect(run.stderr).to.include(
      `pulumi.sh: no passphrase file ${box.passphraseFile} (scripts/up.sh makes it on its first run): commands`,
    );
    expect(run.calls.at(-1)?.passphraseFile).to.equal("<unset>");
  });

  it("says when it passes over the pulumi on PATH, and stops on a failed download as up.sh does", () => {
    box.stub("pulumi", STUB);
    const run = box.pulumi(["stack", "ls"], {
      PULUMI_STUB_VERSION: "v2.25.0",
      NPX_FAILS: "release",
    });
    expect(run.status).to.equal(3);
    expect(run.stderr).to.include(
      `pulumi.sh: the pulumi on PATH (${box.bin}/pulumi) did not print a v3 version for \`pulumi version\` (got 'v2.25.0'): using npx --yes pulumi@3.265.0 instead`,
    );
    expect(run.stderr).to.include("pulumi.sh: could not get the Pulumi CLI: the npm package");
    expect(argsOf(run).at(-1)).to.deep.equal(["npx", `${CLI} version`]);
  });

  it("asks for arguments", () => {
    const run = box.pulumi([]);
    expect(run.status).to.equal(2);
    expect(run.stderr).to.include("usage: scripts/pulumi.sh <pulumi arguments>");
  });
});

describe("scripts/*.sh pass shellcheck", () => {
  it("up.sh, pulumi.sh and lib/pulumi-env.sh", () => {
    const scripts = ["up.sh", "pulumi.sh", "lib/pulumi-env.sh"].map((s) =>
      path.join(REPO, "scripts", s),
    );
    const result = spawnSync("shellcheck", ["-x", ...scripts], { encoding: "utf8" });
    if (result.error) throw new Error(`shellcheck: ${result.error.message} (install shellcheck)`);
    expect(result.status, result.stdout + result.stderr).to.equal(0);
  });
});

const ALTERNATIVES = [
  "up.sh: Either install the CLI with the official installer, then run this again (a pulumi",
  "up.sh:   v3.200 or later on PATH is used):",
  "up.sh:     curl -fsSL https://get.pulumi.com | sh   (into ~/.pulumi/bin, on PATH in a new shell)",
  "up.sh:   or, on a machine without internet access, take the release tarball",
  "up.sh:   pulumi-v3.265.0-linux-x64.tar.gz (https://github.com/pulumi/pulumi/releases) from a",
  "up.sh:   machine that has it, unpack it and put its pulumi/ directory on PATH.",
];
