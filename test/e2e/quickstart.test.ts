/**
 * The README's Quickstart, followed in order as a user runs it, against lab hosts: a stack file
 * copied from Pulumi.dev.yaml and edited (addresses, vip, vrrpInterface, sshUser), host keys
 * pinned, the offline preview, `scripts/up.sh <stack>` (which stops while a host is unpinned;
 * pinned, it deploys; a second run changes nothing) and `npm run kubeconfig -- --stack <stack>
 * --merge` into a HOME that already holds another cluster's kubeconfig.
 *
 * Where it differs from a user's machine, and why:
 * - the checkout is a git worktree of HEAD whose node_modules links this checkout's, so the
 *   README's `npm ci` is not run (up.sh skips it when node_modules matches package-lock.json,
 *   which the test checks first: npm ci would empty the linked directory);
 * - `pulumi` is the stand-in (harness/cli/pulumi) first on PATH: the engine model over real SSH;
 * - the commands run in the lab's controller network namespace (the lab's addresses exist only
 *   there; nothing reaches the machine's own network), with a throw-away HOME and no PULUMI_* set;
 * - the stack also points sshPrivateKeyPath at the lab's key and the installer at the lab's mirror
 *   (the hosts have no internet), as every lab stack does.
 */
import { expect } from "chai";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, parseDocument } from "yaml";
import {
  expectAgentsJoined,
  expectCleanHosts,
  expectK3sRunning,
  expectMembership,
} from "../../harness/e2e/checks";
import {
  AGENTS,
  HOST_ADDRESSES,
  HOST_IF,
  HostName,
  INSTALL_SCRIPT_URL,
  RELEASES_URL,
  LB_HOSTS,
  PREFIX_LENGTH,
  SERVERS,
  SUDO_USER,
  VIP,
} from "../../harness/e2e/constants";
import { runInController, showRun as show } from "../../harness/e2e/controller-command";
import { daemonPids, hostAddresses, treeHashes } from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { installerText, sha256 } from "../../harness/e2e/mirror";
import { stackVersion } from "../../harness/e2e/stack";
import { Worktree, addWorktree } from "../../harness/shared/worktree";

const REPO = path.resolve(__dirname, "..", "..");
const STACK = "quick";
const CONFIGURED: HostName[] = [...SERVERS, ...AGENTS, ...LB_HOSTS];

/** SHA256:<base64, unpadded> of a key's blob, as `ssh-keygen -lf` prints it. */
function fingerprintOf(authorizedKey: string): string {
  const blob = Buffer.from(authorizedKey.trim().split(/\s+/)[1], "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

describe("e2e: the README's Quickstart, as a user runs it", function () {
  this.timeout(1_200_000);
  const lab = new E2eLab();
  let tree: Worktree;
  let home: string;
  let stackFile: string;
  keepJournalsOfFailures(lab);

  /** A command in the controller netns, from the checkout, with the user's environment. */
  const run = (argv: string[], timeoutMs?: number) =>
    runInController(argv, {
      cwd: tree.dir,
      env: {
        PATH: `${path.join(tree.dir, "harness", "cli")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
        HOME: home,
        LANG: "C.UTF-8",
        npm_config_update_notifier: "false",
      },
      timeoutMs,
    });

  const snapshot = () =>
    Object.fromEntries(
      CONFIGURED.map((n) => [n, { files: treeHashes(lab.host(n)), pids: daemonPids(lab.host(n)) }]),
    );
  const passphrase = () => fs.readFileSync(path.join(home, ".k3s-ha", "passphrase"), "utf8").trim();

  before(async function () {
    await lab.up([stackVersion("haproxy")]);
    tree = addWorktree(REPO, "HEAD", "quickstart");
    home = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-quickstart-home-"));
    stackFile = path.join(tree.dir, `Pulumi.${STACK}.yaml`);
  });

  after(async function () {
    tree?.remove();
    if (home) fs.rmSync(home, { recursive: true, force: true });
    await lab.down();
  });

  it("1. describe your hosts: Pulumi.dev.yaml copied and edited", function () {
    fs.copyFileSync(path.join(tree.dir, "Pulumi.dev.yaml"), stackFile);
    const doc = parseDocument(fs.readFileSync(stackFile, "utf8"));
    for (const list of ["servers", "lbHosts", "agents"]) {
      const hosts = doc.getIn(["config", `k3s-ha:${list}`]) as { items: unknown[] };
      hosts.items.forEach((_, i) => {
        const name = doc.getIn(["config", `k3s-ha:${list}`, i, "name"]) as HostName;
        doc.setIn(["config", `k3s-ha:${list}`, i, "address"], HOST_ADDRESSES[name]);
      });
    }
    doc.setIn(["config", "k3s-ha:vip"], `${VIP}/${PREFIX_LENGTH}`);
    doc.setIn(["config", "k3s-ha:vrrpInterface"], HOST_IF);
    doc.setIn(["config", "k3s-ha:sshUser"], SUDO_USER);
    // The lab's: its key, and its mirror in place of get.k3s.io.
    doc.setIn(["config", "k3s-ha:sshPrivateKeyPath"], lab.clientKeyPath);
    doc.setIn(["config", "k3s-ha:installScriptUrl"], INSTALL_SCRIPT_URL);
    doc.setIn(["config", "k3s-ha:installScriptSha256"], sha256(installerText()));
    doc.setIn(["config", "k3s-ha:k3sReleasesUrl"], RELEASES_URL);
    fs.writeFileSync(stackFile, doc.toString());
    expect(fs.readFileSync(stackFile, "utf8")).to.not.match(/10\.10\.10\./);
    // npm ci would empty the linked node_modules: up.sh must find it current and skip it.
    expect(
      fs.existsSync(path.join(tree.dir, "scripts", "lib", "deps-current.cjs")),
      "HEAD has scripts/lib/deps-current.cjs",
    ).to.equal(true);
  });

  it("4 before 2. scripts/up.sh with the hosts unpinned stops before pulumi up; no host touched", async function () {
    const before = snapshot();
    const r = await run(["bash", "scripts/up.sh", STACK]);
    expect(r.status, show(r)).to.equal(2);
    expect(r.stderr).to.include("up.sh: node_modules matches package-lock.json: no npm ci");
    // The passphrase comes first (nothing else needs the stack's hosts).
    expect(r.stderr).to.include(
      `up.sh: created ${path.join(home, ".k3s-ha", "passphrase")} (mode 0600)`,
    );
    expect(r.stdout + r.stderr).to.not.include(passphrase());
    expect(r.stdout, "hostkeys scanned every host").to.include("Nothing was written");
    expect(r.stderr).to.include(
      "up.sh: stopped before pulumi up: the hosts listed above as not pinned have no hostKey in\n" +
        `up.sh:   Pulumi.${STACK}.yaml, and the program refuses to connect to them.`,
    );
    expect(r.stderr).to.include(`npm run hostkeys -- --stack ${STACK} --expect SHA256:...`);
    expect(fs.existsSync(path.join(home, ".k3s-ha", "state")), "no backend made").to.equal(false);
    expect(fs.readFileSync(stackFile, "utf8")).to.not.include("hostKey");
    expect(snapshot(), "the hosts are as they were").to.deep.equal(before);
  });

  it("2. pin the hosts' SSH keys with the fingerprints read on each host", async function () {
    const expects = CONFIGURED.flatMap((n) => ["--expect", fingerprintOf(lab.host(n).hostKey)]);
    const r = await run(["npm", "run", "--silent", "hostkeys", "--", "--stack", STACK, ...expects]);
    expect(r.status, show(r)).to.equal(0);
    expect(r.stdout).to.include(`Every host of Pulumi.${STACK}.yaml has its host key pinned.`);
    const config = (
      parse(fs.readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> }
    ).config;
    for (const list of ["servers", "lbHosts", "agents"]) {
      for (const h of config[`k3s-ha:${list}`] as { name: HostName; hostKey?: string }[]) {
        expect(h.hostKey, h.name).to.equal(lab.host(h.name).hostKey);
      }
    }
  });

  it("3. the offline preview shows every host's steps", async function () {
    const r = await run(["npm", "run", "--silent", "preview:offline", "--", "--stack", STACK]);
    expect(r.status, show(r)).to.equal(0);
    for (const n of CONFIGURED) expect(r.stdout, n).to.include(n);
  });

  it("4. scripts/up.sh deploys: the cluster converges behind the VIP", async function () {
    const since = Date.now();
    const r = await run(["bash", "scripts/up.sh", STACK]);
    expect(r.status, show(r)).to.equal(0);
    expect(r.stderr).to.include(
      `up.sh: using pulumi v3.265.0 from PATH (${path.join(tree.dir, "harness", "cli", "pulumi")})`,
    );
    expect(r.stderr).to.include("up.sh: no terminal to confirm on: running pulumi up --yes");
    expect(r.stdout).to.include(`Created stack '${STACK}'`);
    expect(r.stdout + r.stderr).to.not.include(passphrase());
    expect(parse(fs.readFileSync(stackFile, "utf8"))).to.have.property("encryptionsalt");

    const version = stackVersion("haproxy");
    for (const name of SERVERS) await expectK3sRunning(lab.host(name), "k3s", version);
    for (const name of AGENTS) await expectK3sRunning(lab.host(name), "k3s-agent", version);
    await expectMembership(lab, { servers: SERVERS, agents: AGENTS });
    await expectAgentsJoined(lab, AGENTS, since);
    const holders: string[] = [];
    for (const lb of LB_HOSTS) {
      if ((await hostAddresses(lab.host(lb))).includes(VIP)) holders.push(lb);
    }
    expect(holders, "exactly one LB host holds the VIP").to.have.length(1);

    const endpoint = await run([
      "bash",
      "scripts/pulumi.sh",
      "stack",
      "output",
      "apiEndpoint",
      "--stack",
      STACK,
    ]);
    expect(endpoint.status, show(endpoint)).to.equal(0);
    expect(endpoint.stdout.trim()).to.equal(`https://${VIP}:6443`);
    const secret = await run([
      "bash",
      "scripts/pulumi.sh",
      "stack",
      "output",
      "kubeconfig",
      "--stack",
      STACK,
    ]);
    expect(secret.stdout, "a secret output stays hidden").to.equal("[secret]\n");
  });

  it("4 again. a second scripts/up.sh changes nothing", async function () {
    const before = snapshot();
    const r = await run(["bash", "scripts/up.sh", STACK]);
    expect(r.status, show(r)).to.equal(0);
    expect(r.stderr).to.not.include("created");
    const summary = r.stdout.slice(r.stdout.lastIndexOf("Resources:"));
    expect(summary, show(r)).to.match(/^Resources:\n {4}\d+ same\n$/);
    expect(snapshot(), "no file changed, no daemon restarted").to.deep.equal(before);
  });

  it("5. npm run kubeconfig --merge adds a context named after the stack, keeping the other cluster", async function () {
    const kube = path.join(home, ".kube");
    fs.mkdirSync(kube, { mode: 0o700 });
    const other = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "  - name: other",
      "    cluster: { server: https://192.0.2.10:6443, certificate-authority-data: b3RoZXI= }",
      "users:",
      "  - name: other",
      "    user: { token: other-token }",
      "contexts:",
      "  - name: other",
      "    context: { cluster: other, user: other }",
      "current-context: other",
      "",
    ].join("\n");
    fs.writeFileSync(path.join(kube, "config"), other, { mode: 0o600 });

    const r = await run([
      "npm",
      "run",
      "--silent",
      "kubeconfig",
      "--",
      "--stack",
      STACK,
      "--merge",
    ]);
    expect(r.status, show(r)).to.equal(0);
    const merged = parse(fs.readFileSync(path.join(kube, "config"), "utf8")) as {
      clusters: { name: string; cluster: { server: string } }[];
      users: { name: string; user: Record<string, string> }[];
      contexts: { name: string; context: { cluster: string; user: string } }[];
      "current-context": string;
    };
    expect(merged.contexts.map((c) => c.name).sort()).to.deep.equal(["other", STACK]);
    expect(merged.contexts.find((c) => c.name === STACK)?.context).to.deep.equal({
      cluster: STACK,
      user: STACK,
    });
    expect(merged.clusters.find((c) => c.name === STACK)?.cluster.server).to.equal(
      `https://${VIP}:6443`,
    );
    expect(merged.clusters.find((c) => c.name === "other")?.cluster.server).to.equal(
      "https://192.0.2.10:6443",
    );
    expect(merged.users.find((u) => u.name === "other")?.user).to.deep.equal({
      token: "other-token",
    });
    expect(merged["current-context"], "the current context is kept").to.equal("other");
    expect(fs.statSync(path.join(kube, "config")).mode & 0o777).to.equal(0o600);
    const user = merged.users.find((u) => u.name === STACK)?.user ?? {};
    for (const secret of Object.values(user)) expect(r.stdout + r.stderr).to.not.include(secret);
  });

  it("later: scripts/pulumi.sh preview shows no change; destroy needs --yes off a terminal, then empties the hosts", async function () {
    const preview = await run(["bash", "scripts/pulumi.sh", "preview", "--stack", STACK]);
    expect(preview.status, show(preview)).to.equal(0);
    expect(preview.stdout).to.match(
      /\+ 0 to create, ~ 0 to update, \+- 0 to replace, - 0 to delete/,
    );

    const refused = await run(["bash", "scripts/pulumi.sh", "destroy", "--stack", STACK]);
    expect(refused.status).to.equal(255);
    expect(refused.stderr).to.equal(
      "error: --yes or --skip-preview must be passed in to proceed when running in non-interactive mode\n",
    );
    const destroyed = await run([
      "bash",
      "scripts/pulumi.sh",
      "destroy",
      "--yes",
      "--stack",
      STACK,
    ]);
    expect(destroyed.status, show(destroyed)).to.equal(0);
    await expectCleanHosts(lab);
    const outputs = await run([
      "bash",
      "scripts/pulumi.sh",
      "stack",
      "output",
      "--json",
      "--stack",
      STACK,
    ]);
    expect(outputs.stdout).to.equal("{}\n");
  });
});
