/**
 * npm run kubeconfig, run as a user runs it: a throw-away HOME, scripts/pulumi.sh for real, and a
 * `pulumi` stand-in first on PATH that answers `pulumi version` and `pulumi stack output` from a
 * stack record in the wrapper's default state directory (~/.k3s-ha/state). The stand-in is as
 * strict as the real CLI on what the tool relies on (see PULUMI below). Every run asserts that
 * neither the client key nor the client certificate appears in anything printed.
 */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { rewriteKubeconfigServer } from "../../components/cluster/kubeconfig";
import { EXIT_FAILED, EXIT_OK, REPO_ROOT, runKubeconfig } from "../../tools/kubeconfig";
import { readStackKubeconfig } from "../../tools/kubeconfig-entries";

/**
 * The real CLI's behaviour, in pulumi/pulumi pkg/cmd/pulumi/stack/stack_output.go
 * (stackOutputCmd.Run, consoleStackOutputWriter.WriteOne): a named output is printed as its string
 * and a newline; a secret one as [secret] unless --show-secrets; a missing one is "current stack
 * does not have output property"; RequireStack (pkg/cmd/pulumi/stack/stack_load.go) fails with
 * "no stack named '<s>' found". Stacks of a file:// backend are per project (Pulumi.yaml found
 * upwards from the working directory), and their secrets need the passphrase
 * (pkg/secrets/passphrase: PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, and the
 * right one). Errors go to stderr as "error: ..." with exit status 255.
 */
const PULUMI = `#!/usr/bin/env node
"use strict";
const fs = require("fs");
const path = require("path");
const fail = (m) => { process.stderr.write("error: " + m + "\\n"); process.exit(255); };
const args = process.argv.slice(2);
if (args[0] === "version" && args.length === 1) { process.stdout.write("v3.265.0\\n"); process.exit(0); }
if (args[0] !== "stack" || args[1] !== "output") fail("the stand-in knows pulumi version and pulumi stack output only: " + args.join(" "));
let name, stack, show = false;
for (let i = 2; i < args.length; i++) {
  const a = args[i];
  if (a === "--show-secrets") show = true;
  else if (a === "--stack" || a === "-s") stack = args[++i];
  else if (a.startsWith("-")) fail("unknown flag: " + a);
  else if (name === undefined) name = a;
  else fail("accepts at most 1 arg(s), received " + (args.length - 2));
}
let dir = process.cwd();
while (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
  if (path.dirname(dir) === dir) fail("no Pulumi.yaml project file found (searching upwards from " + process.cwd() + ")");
  dir = path.dirname(dir);
}
const project = /^name:\\s*(\\S+)/m.exec(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"))[1];
const backend = process.env.PULUMI_BACKEND_URL || "";
if (!backend.startsWith("file://")) fail("the stand-in has file:// backends only, PULUMI_BACKEND_URL is '" + backend + "'");
if (stack === undefined) fail("no stack selected; the stand-in needs --stack");
const record = path.join(backend.slice(7), ".pulumi", "stacks", project, stack + ".json");
if (!fs.existsSync(record)) fail("no stack named '" + stack + "' found");
const saved = JSON.parse(fs.readFileSync(record, "utf8"));
let passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
if (passphrase === undefined && process.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
  passphrase = fs.readFileSync(process.env.PULUMI_CONFIG_PASSPHRASE_FILE, "utf8").replace(/\\n$/, "");
}
if (passphrase === undefined) fail("constructing secrets manager of type \\"passphrase\\": passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables");
if (passphrase !== saved.passphrase) fail("constructing secrets manager of type \\"passphrase\\": incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the correct passphrase or set PULUMI_CONFIG_PASSPHRASE_FILE to a file containing the passphrase");
if (name === undefined) fail("the stand-in prints one named output only");
const output = saved.outputs[name];
if (output === undefined) fail("current stack does not have output property '" + name + "'");
const value = output.secret && !show ? "[secret]" : output.value;
process.stdout.write((typeof value === "string" ? value : JSON.stringify(value)) + "\\n");
`;

/** Base64 text as K3s writes it (a long single line). */
function b64(label: string): string {
  return Buffer.from(`${label}-${crypto.randomBytes(600).toString("hex")}`).toString("base64");
}

/** The admin kubeconfig as K3s writes /etc/rancher/k3s/k3s.yaml. */
function k3sKubeconfig(ca: string, cert: string, key: string): string {
  return [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${ca}`,
    "    server: https://127.0.0.1:6443",
    "  name: default",
    "contexts:",
    "- context:",
    "    cluster: default",
    "    user: default",
    "  name: default",
    "current-context: default",
    "kind: Config",
    "preferences: {}",
    "users:",
    "- name: default",
    "  user:",
    `    client-certificate-data: ${cert}`,
    `    client-key-data: ${key}`,
    "",
  ].join("\n");
}

/** Another cluster's kubeconfig as `kubectl config set-*` wrote it (v1.32), with comments added. */
const OTHER = [
  "# kept by hand: the prod cluster",
  "apiVersion: v1",
  "clusters:",
  "- cluster:",
  "    certificate-authority-data: UFJPRC1DQQ==",
  "    server: https://prod.example.com:6443 # the prod LB",
  "  name: prod",
  "contexts:",
  "- context:",
  "    cluster: prod",
  "    namespace: web",
  "    user: prod-admin",
  "  name: prod",
  "current-context: prod",
  "kind: Config",
  "preferences: {}",
  "users:",
  "# a token from the vault",
  "- name: prod-admin",
  "  user:",
  "    token: prod-token-1234",
  "",
].join("\n");

const API = "https://10.10.10.100:6443";

interface Run {
  code: number;
  out: string;
  err: string;
}

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  contexts: { name: string; context: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
  "current-context"?: string;
}

class Sandbox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeconfig-tool-"));
  readonly home = path.join(this.dir, "home");
  readonly bin = path.join(this.dir, "bin");
  readonly kube = path.join(this.home, ".kube");
  readonly passphrase = "test-passphrase-" + crypto.randomBytes(8).toString("hex");
  /** Text that must never be printed: each stack's client key and certificate. */
  readonly secrets: string[] = [];

  constructor() {
    fs.mkdirSync(path.join(this.home, ".k3s-ha"), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(this.home, ".k3s-ha", "passphrase"), `${this.passphrase}\n`, {
      mode: 0o600,
    });
    fs.mkdirSync(this.bin);
    fs.writeFileSync(path.join(this.bin, "pulumi"), PULUMI, { mode: 0o755 });
  }

  /** Records a deployed stack whose kubeconfig output is what the program outputs. */
  deploy(
    stack: string,
    outputs?: Record<string, { value: string; secret: boolean }>,
  ): { ca: string; cert: string; key: string } {
    const ca = b64("CA");
    const key = b64("CLIENT-KEY");
    const cert = b64("CLIENT-CERT");
    this.secrets.push(key, cert);
    const kubeconfig = rewriteKubeconfigServer(k3sKubeconfig(ca, cert, key), API, "k3s-ha");
    const record = path.join(this.home, ".k3s-ha", "state", ".pulumi", "stacks", "k3s-ha");
    fs.mkdirSync(record, { recursive: true });
    fs.writeFileSync(
      path.join(record, `${stack}.json`),
      JSON.stringify({
        passphrase: this.passphrase,
        outputs: outputs ?? {
          kubeconfig: { value: kubeconfig, secret: true },
          apiEndpoint: { value: API, secret: false },
        },
      }),
    );
    return { ca, cert, key };
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: `${this.bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: this.home,
      ...extra,
    };
  }

  check(run: Run): Run {
    for (const secret of this.secrets) {
      expect(run.out + run.err).not.to.include(secret.slice(0, 40));
    }
    return run;
  }

  async run(args: string[], env: Record<string, string> = {}): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runKubeconfig(args, {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      env: this.env(env),
    });
    return this.check({ code, out: out.join("\n"), err: err.join("\n") });
  }

  read(file: string): Kubeconfig {
    return parse(fs.readFileSync(file, "utf8")) as Kubeconfig;
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe("npm run kubeconfig: the stack's kubeconfig for kubectl", function () {
  this.timeout(60_000);
  let box: Sandbox;

  beforeEach(() => {
    box = new Sandbox();
  });
  afterEach(() => box.remove());

  it("writes ~/.kube/<stack>.yaml (0600, ~/.kube 0700) named after the stack; a second run changes nothing", async () => {
    const { key } = box.deploy("dev");
    const first = await box.run(["--stack", "dev"]);
    expect(first.code, first.err).to.equal(EXIT_OK);
    const file = path.join(box.kube, "dev.yaml");
    expect(mode(file).toString(8)).to.equal("600");
    expect(mode(box.kube).toString(8)).to.equal("700");
    const config = box.read(file);
    expect(config.clusters.map((c) => c.name)).to.deep.equal(["dev"]);
    expect(config.users.map((u) => u.name)).to.deep.equal(["dev"]);
    expect(config.contexts).to.deep.equal([
      { name: "dev", context: { cluster: "dev", user: "dev" } },
    ]);
    expect(config["current-context"]).to.equal("dev");
    expect(config.clusters[0].cluster.server).to.equal(API);
    expect(config.users[0].user["client-key-data"]).to.equal(key);
    expect(first.out).to.include("added the cluster, user and context dev");
    expect(first.out.split("\n").at(-1)).to.equal("KUBECONFIG=~/.kube/dev.yaml kubectl get nodes");
    expect(fs.readdirSync(box.kube)).to.deep.equal(["dev.yaml"]);

    const before = fs.readFileSync(file, "utf8");
    const second = await box.run(["--stack", "dev"]);
    expect(second.code).to.equal(EXIT_OK);
    expect(fs.readFileSync(file, "utf8")).to.equal(before);
    expect(second.out).to.include("~/.kube/dev.yaml already holds");
  });

  it("--merge keeps another cluster's entries and comments byte for byte, and its current context", async () => {
    const stack = box.deploy("dev");
    fs.mkdirSync(box.kube, { mode: 0o700 });
    const config = path.join(box.kube, "config");
    fs.writeFileSync(config, OTHER, { mode: 0o600 });

    const run = await box.run(["--stack", "dev", "--merge"]);
    expect(run.code, run.err).to.equal(EXIT_OK);
    const merged = fs.readFileSync(config, "utf8");
    // The old file with our three entries appended to their lists, in kubectl's layout.
    const expected = OTHER.replace(
      "  name: prod\ncontexts:",
      [
        "  name: prod",
        "- cluster:",
        `    certificate-authority-data: ${stack.ca}`,
        `    server: ${API}`,
        "  name: dev",
        "contexts:",
      ].join("\n"),
    )
      .replace(
        "  name: prod\ncurrent-context:",
        "  name: prod\n- context:\n    cluster: dev\n    user: dev\n  name: dev\ncurrent-context:",
      )
      .replace(
        "    token: prod-token-1234\n",
        [
          "    token: prod-token-1234",
          "- name: dev",
          "  user:",
          `    client-certificate-data: ${stack.cert}`,
          `    client-key-data: ${stack.key}`,
          "",
        ].join("\n"),
      );
    expect(merged).to.equal(expected);
    const ours = box.read(config);
    const dev = (list: { name: string }[]) => list.filter((e) => e.name === "dev");
    expect(dev(ours.clusters)).to.have.length(1);
    expect(ours["current-context"]).to.equal("prod");
    expect(mode(config).toString(8)).to.equal("600");
    expect(run.out).to.include("added the cluster, user and context dev");
    expect(run.out).to.include(
      "current context left at prod; to switch: kubectl config use-context dev",
    );
    expect(run.out.split("\n").at(-1)).to.equal("kubectl --context dev get nodes");

    const again = await box.run(["--stack", "dev", "--merge"]);
    expect(again.code).to.equal(EXIT_OK);
    expect(fs.readFileSync(config, "utf8")).to.equal(merged);

    // The same file with Windows line ends: ours get them too.
    fs.writeFileSync(config, OTHER.replace(/\n/g, "\r\n"));
    expect((await box.run(["--stack", "dev", "--merge"])).code).to.equal(EXIT_OK);
    expect(fs.readFileSync(config, "utf8")).to.equal(expected.replace(/\n/g, "\r\n"));
  });

  it("--merge into a hand-written file (indented lists, flow maps, comments, quotes) changes no byte outside its own entries", async () => {
    const hand = [
      "# hand-written",
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "  - name: prod",
      "    cluster:",
      "      server: https://prod.example.com:6443   # three spaces",
      "      certificate-authority-data: 'UFJPRC1DQQ=='",
      "users:",
      "  - name: prod-admin",
      "    user:",
      "      exec:",
      "        apiVersion: client.authentication.k8s.io/v1beta1",
      '        args: ["eks", "get-token", "--cluster-name", "prod"]',
      "        command: aws",
      "contexts:",
      "  - name: prod",
      "    context: {cluster: prod, user: prod-admin}",
      "current-context: prod",
      "",
    ].join("\n");
    const stack = box.deploy("dev");
    fs.mkdirSync(box.kube, { mode: 0o700 });
    const config = path.join(box.kube, "config");
    fs.writeFileSync(config, hand, { mode: 0o600 });
    const run = await box.run(["--stack", "dev", "--merge", "--use-context"]);
    expect(run.code, run.err).to.equal(EXIT_OK);
    const expected = hand
      .replace(
        "'UFJPRC1DQQ=='\n",
        [
          "'UFJPRC1DQQ=='",
          "  - cluster:",
          `      certificate-authority-data: ${stack.ca}`,
          `      server: ${API}`,
          "    name: dev",
          "",
        ].join("\n"),
      )
      .replace(
        "        command: aws\n",
        [
          "        command: aws",
          "  - name: dev",
          "    user:",
          `      client-certificate-data: ${stack.cert}`,
          `      client-key-data: ${stack.key}`,
          "",
        ].join("\n"),
      )
      .replace(
        "user: prod-admin}\ncurrent-context: prod",
        "user: prod-admin}\n  - context:\n      cluster: dev\n      user: dev\n    name: dev\ncurrent-context: dev",
      );
    expect(fs.readFileSync(config, "utf8")).to.equal(expected);

    // A redeploy: new credentials, replaced where they are.
    const next = box.deploy("dev");
    expect((await box.run(["--stack", "dev", "--merge"])).code).to.equal(EXIT_OK);
    expect(fs.readFileSync(config, "utf8")).to.equal(
      expected
        .replace(stack.ca, next.ca)
        .replace(stack.cert, next.cert)
        .replace(stack.key, next.key),
    );
  });

  it("--merge into a file with empty lists adds ours and keeps the rest", async () => {
    box.deploy("dev");
    fs.mkdirSync(box.kube, { mode: 0o700 });
    const config = path.join(box.kube, "config");
    const text = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n# end\n";
    fs.writeFileSync(config, text, { mode: 0o600 });
    const run = await box.run(["--stack", "dev", "--merge"]);
    expect(run.code, run.err).to.equal(EXIT_OK);
    const after = box.read(config);
    expect(after.clusters.map((c) => c.name)).to.deep.equal(["dev"]);
    expect(after.contexts.map((c) => c.name)).to.deep.equal(["dev"]);
    expect(after.users.map((c) => c.name)).to.deep.equal(["dev"]);
    expect(after["current-context"]).to.equal("dev");
    expect(fs.readFileSync(config, "utf8")).to.include("# end");
  });

  it("--merge after a redeploy replaces only its own entries, where they are, keeping their namespace", async () => {
    box.deploy("dev");
    fs.mkdirSync(box.kube, { mode: 0o700 });
    const config = path.join(box.kube, "config");
    fs.writeFileSync(config, OTHER, { mode: 0o600 });
    expect((await box.run(["--stack", "dev", "--merge"])).code).to.equal(EXIT_OK);
    // kubectl config set-context dev --namespace=apps, as a user would.
    fs.writeFileSync(
      config,
      fs
        .readFileSync(config, "utf8")
        .replace("    cluster: dev\n", "    cluster: dev\n    namespace: apps\n"),
    );
    const { key } = box.deploy("dev");
    const run = await box.run(["--stack", "dev", "--merge"]);
    expect(run.code, run.err).to.equal(EXIT_OK);
    expect(run.out).to.include("replaced the cluster, user and context dev");
    expect(run.out).not.to.include("note: the cluster dev it replaced");
    const after = box.read(config);
    expect(after.clusters.map((c) => c.name)).to.deep.equal(["prod", "dev"]);
    expect(after.users.map((u) => u.name)).to.deep.equal(["prod-admin", "dev"]);
    expect(after.users[1].user["client-key-data"]).to.equal(key);
    expect(after.contexts[1]).to.deep.equal({
      name: "dev",
      context: { cluster: "dev", namespace: "apps", user: "dev" },
    });
    expect(fs.readFileSync(config, "utf8").startsWith(OTHER.split("\ncontexts:")[0])).to.equal(
      true,
    );
  });

  it("--merge over someone else's entries of the same name replaces them and names the server they had", async () => {
    box.deploy("dev");
    fs.mkdirSync(box.kube, { mode: 0o700 });
    const config = path.join(box.kube, "config");
    fs.writeFileSync(config, OTHER.replace(/name: prod$/gm, "name: dev"), { mode: 0o600 });
    const run = await box.run(["--stack", "dev", "--merge"]);
    expect(run.code, run.err).to.equal(EXIT_OK);
    expect(run.out).to.include("replaced the cluster, user and context dev");
    expect(run.out).to.include(
      "note: the cluster dev it replaced had the server https://prod.example.com:6443",
    );
    const after = box.read(config);
    expect(after.clusters.map((c) => c.cluster.server)).to.deep.equal([API]);
    expect(after.users.map((u) => u.name)).to.deep.equal(["prod-admin", "dev"]);
  });

  it("--merge writes the first file of $KUBECONFIG and keeps its mode; a new ~/.kube/config is 0600 with our context current", async () => {
    box.deploy("dev");
    const first = path.join(box.dir, "first.yaml");
    const second = path.join(box.dir, "second.yaml");
    fs.writeFileSync(first, OTHER, { mode: 0o640 });
    fs.chmodSync(first, 0o640);
    fs.writeFileSync(second, OTHER, { mode: 0o600 });
    const run = await box.run(["--stack", "dev", "--merge"], {
      KUBECONFIG: `${first}${path.delimiter}${second}`,
    });
    expect(run.code, run.err).to.equal(EXIT_OK);
    expect(box.read(first).contexts.map((c) => c.name)).to.deep.equal(["prod", "dev"]);
    expect(mode(first).toString(8)).to.equal("640");
    expect(run.out).to.include(`note: ${first} can be read by other users`);
    expect(fs.readFileSync(second, "utf8")).to.equal(OTHER);
    expect(fs.existsSync(box.kube)).to.equal(false);

    // A relative entry is relative to where npm was started.
    const relative = await box.run(["--stack", "dev", "--merge"], {
      KUBECONFIG: "relative.yaml",
      INIT_CWD: box.dir,
    });
    expect(relative.code, relative.err).to.equal(EXIT_OK);
    expect(box.read(path.join(box.dir, "relative.yaml"))["current-context"]).to.equal("dev");

    const fresh = await box.run(["--stack", "dev", "--merge"]);
    expect(fresh.code, fresh.err).to.equal(EXIT_OK);
    const config = path.join(box.kube, "config");
    expect(mode(config).toString(8)).to.equal("600");
    expect(mode(box.kube).toString(8)).to.equal("700");
    expect(box.read(config)["current-context"]).to.equal("dev");
    expect(fresh.out).not.to.include("current context left");
  });

  it("--merge into an empty ~/.kube/config, or one of comments only, adds the entries and makes ours current", async () => {
    box.deploy("dev");
    fs.mkdirSync(box.kube, { mode: 0o700 });
    const config = path.join(box.kube, "config");
    for (const text of ["", "# my clusters\n\n"]) {
      fs.writeFileSync(config, text, { mode: 0o600 });
      const run = await box.run(["--stack", "dev", "--merge"]);
      expect(run.code, run.err).to.equal(EXIT_OK);
      const merged = fs.readFileSync(config, "utf8");
      expect(
        merged.startsWith(
          `${text.trimEnd()}${text ? "\n" : ""}apiVersion: v1\nclusters:\n- cluster:`,
        ),
      ).to.equal(true);
      expect(box.read(config)["current-context"]).to.equal("dev");
      expect(box.read(config).contexts.map((c) => c.name)).to.deep.equal(["dev"]);
    }
  });

  it("--use-context switches the current context; --context names the entries", async () => {
    box.deploy("dev");
    fs.mkdirSync(box.kube, { mode: 0o700 });
    const config = path.join(box.kube, "config");
    fs.writeFileSync(config, OTHER, { mode: 0o600 });
    const run = await box.run([
      "--stack",
      "dev",
      "--merge",
      "--use-context",
      "--context",
      "lab-eu",
    ]);
    expect(run.code, run.err).to.equal(EXIT_OK);
    const after = box.read(config);
    expect(after["current-context"]).to.equal("lab-eu");
    expect(after.contexts[1]).to.deep.equal({
      name: "lab-eu",
      context: { cluster: "lab-eu", user: "lab-eu" },
    });
    expect(run.out.split("\n").at(-1)).to.equal("kubectl --context lab-eu get nodes");
    expect(run.out).not.to.include("current context left");

    const own = await box.run(["--stack", "dev", "--context", "lab-eu"]);
    expect(own.code, own.err).to.equal(EXIT_OK);
    expect(box.read(path.join(box.kube, "dev.yaml"))["current-context"]).to.equal("lab-eu");
  });

  it("--merge writes through a symlinked kubeconfig to the file it points at", async () => {
    box.deploy("dev");
    fs.mkdirSync(box.kube, { mode: 0o700 });
    const real = path.join(box.dir, "dotfiles-kubeconfig");
    fs.writeFileSync(real, OTHER, { mode: 0o600 });
    fs.symlinkSync(real, path.join(box.kube, "config"));
    const run = await box.run(["--stack", "dev", "--merge"]);
    expect(run.code, run.err).to.equal(EXIT_OK);
    expect(fs.lstatSync(path.join(box.kube, "config")).isSymbolicLink()).to.equal(true);
    expect(box.read(real).clusters.map((c) => c.name)).to.deep.equal(["prod", "dev"]);
  });

  for (const [what, text, message] of [
    [
      "a file that is not YAML",
      "apiVersion: v1\nusers:\n- name: x\n  user:\n    token: SECRET-IN-FILE\n   bad: [\n",
      "is not valid YAML (line",
    ],
    ["a YAML file that is not a kubeconfig", "name: my-app\nreplicas: 3\n", "is not a kubeconfig"],
    ["a list", "- SECRET-IN-FILE\n", "is not a kubeconfig (its top level is not a mapping)"],
    [
      "another kind",
      "apiVersion: v1\nkind: Pod\nmetadata: {}\n",
      "is not a kubeconfig (kind Pod, not Config)",
    ],
    [
      "two entries of one name",
      OTHER.replace("contexts:", "- cluster:\n    server: https://x\n  name: prod\ncontexts:"),
      "has two clusters named prod, which kubectl refuses",
    ],
  ]) {
    it(`refuses ${what}, leaving it untouched`, async () => {
      box.deploy("dev");
      fs.mkdirSync(box.kube, { mode: 0o700 });
      const config = path.join(box.kube, "config");
      fs.writeFileSync(config, text, { mode: 0o600 });
      const before = fs.statSync(config);
      const run = await box.run(["--stack", "dev", "--merge"]);
      expect(run.code).to.equal(EXIT_FAILED);
      expect(run.err).to.include(`kubeconfig: ~/.kube/config ${message}`);
      expect(run.err).to.include("refused, nothing was written");
      expect(run.err + run.out).not.to.include("SECRET-IN-FILE");
      expect(fs.readFileSync(config, "utf8")).to.equal(text);
      expect(fs.statSync(config).mtimeMs).to.equal(before.mtimeMs);
      expect(fs.readdirSync(box.kube)).to.deep.equal(["config"]);
    });
  }

  for (const [args, message] of [
    [[], "--stack is required"],
    [["--stack", "my dev"], '--stack "my dev": not a stack name'],
    [["--stack", "org/proj/dev"], '--stack "org/proj/dev": not a stack name'],
    [
      ["--stack", "dev", "--context", "my ctx"],
      '--context "my ctx": not usable as a kubeconfig name',
    ],
    [["--stack", "dev", "--context", ""], '--context "": not usable'],
    [["--stack", "dev", "--use-context"], "--use-context: only with --merge"],
    [["--stack", "dev", "--merg"], "Unknown option '--merg'"],
  ] as [string[], string][]) {
    it(`bad flags: ${args.join(" ") || "(none)"}`, async () => {
      box.deploy("dev");
      const run = await box.run(args);
      expect(run.code).to.equal(EXIT_FAILED);
      expect(run.err).to.include(message);
      expect(run.err).to.include("usage: npm run kubeconfig -- --stack <stack>");
      expect(fs.existsSync(box.kube)).to.equal(false);
    });
  }

  it("a stack that does not exist, or has no kubeconfig output yet, says to run scripts/up.sh first", async () => {
    const missing = await box.run(["--stack", "dev"]);
    expect(missing.code).to.equal(EXIT_FAILED);
    expect(missing.err).to.include("error: no stack named 'dev' found");
    expect(missing.err).to.include(
      "kubeconfig: stack dev does not exist in this Pulumi backend: deploy it first: scripts/up.sh dev",
    );

    box.deploy("dev", { apiEndpoint: { value: API, secret: false } });
    const notYet = await box.run(["--stack", "dev", "--merge"]);
    expect(notYet.code).to.equal(EXIT_FAILED);
    expect(notYet.err).to.include(
      "kubeconfig: stack dev has no kubeconfig output yet (never deployed, or its last up " +
        "stopped before the cluster was ready): deploy it first: scripts/up.sh dev",
    );
    expect(fs.existsSync(box.kube)).to.equal(false);
  });

  it("a failing pulumi's messages are shown, never its output; an output that is not a kubeconfig is not quoted", async () => {
    box.deploy("dev");
    const wrong = await box.run(["--stack", "dev"], { PULUMI_CONFIG_PASSPHRASE: "not-it" });
    expect(wrong.code).to.equal(EXIT_FAILED);
    expect(wrong.err).to.include("incorrect passphrase");
    expect(wrong.err).to.include(
      "kubeconfig: scripts/pulumi.sh stack output kubeconfig --show-secrets --stack dev failed (exit 255)",
    );

    box.deploy("dev", {
      kubeconfig: { value: "users: [ {name: x, token: SECRET-IN-OUTPUT", secret: true },
    });
    const broken = await box.run(["--stack", "dev"]);
    expect(broken.code).to.equal(EXIT_FAILED);
    expect(broken.err).to.match(
      /kubeconfig: the stack's kubeconfig output is not valid YAML \(line \d/,
    );
    expect(broken.err + broken.out).not.to.include("SECRET-IN-OUTPUT");
    expect(fs.existsSync(box.kube)).to.equal(false);
  });

  it("npm run kubeconfig -- --stack dev --merge, as the README says", () => {
    box.deploy("dev");
    fs.mkdirSync(box.kube, { mode: 0o700 });
    fs.writeFileSync(path.join(box.kube, "config"), OTHER, { mode: 0o600 });
    const result = spawnSync(
      "npm",
      ["run", "--silent", "kubeconfig", "--", "--stack", "dev", "--merge"],
      {
        cwd: REPO_ROOT,
        env: box.env(),
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    const run = box.check({ code: result.status ?? -1, out: result.stdout, err: result.stderr });
    expect(run.code, run.err).to.equal(0);
    expect(run.out.trim().split("\n").at(-1)).to.equal("kubectl --context dev get nodes");
    expect(box.read(path.join(box.kube, "config")).contexts.map((c) => c.name)).to.deep.equal([
      "prod",
      "dev",
    ]);
  });
});

describe("readStackKubeconfig: what the tool takes from the output", () => {
  it("takes the current context's cluster and user, as K3s names them or as the program does", () => {
    const raw = k3sKubeconfig("Q0E=", "Q0VSVA==", "S0VZ");
    expect(readStackKubeconfig(raw)).to.deep.equal({
      cluster: { "certificate-authority-data": "Q0E=", server: "https://127.0.0.1:6443" },
      user: { "client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ" },
    });
    const program = rewriteKubeconfigServer(raw, API, "lab");
    expect(readStackKubeconfig(program).cluster.server).to.equal(API);
    const two = rewriteKubeconfigServer(
      raw.replace(
        "contexts:\n",
        "contexts:\n- context:\n    cluster: x\n    user: x\n  name: other\n",
      ),
      API,
      "lab",
    );
    expect(readStackKubeconfig(two).user["client-key-data"]).to.equal("S0VZ");
  });

  for (const [what, text, message] of [
    ["empty", "\n", "is empty"],
    ["comments only", "# nothing\n", "holds no YAML document"],
    ["read without --show-secrets", "[secret]\n", "came back as [secret]"],
    ["a list", "- S0VZ\n", "is not a kubeconfig (one YAML mapping)"],
    [
      "a context naming a missing user",
      k3sKubeconfig("Q0E=", "Q0VSVA==", "S0VZ").replace(
        "- name: default\n  user:",
        "- name: x\n  user:",
      ),
      "has no user named default",
    ],
  ]) {
    it(`refuses an output that is ${what}, quoting nothing of it`, () => {
      expect(() => readStackKubeconfig(text))
        .to.throw(message)
        .with.property("message")
        .that.does.not.include("S0VZ");
    });
  }
});
