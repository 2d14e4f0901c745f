/**
 * The restore drill, end to end on the lab's systemd hosts: a converged dev cluster (as the sudo
 * user); a marker written (an annotation on agent-1's node object, in the datastore); an etcd
 * snapshot taken on server-1 (`k3s etcd-snapshot save`); the marker changed; K3s stopped on every
 * server and every server's etcd data deleted; then `npm run restore` run as a user runs it, from
 * the lab's controller namespace. Afterwards: the marker is as it was at the snapshot, etcd lists
 * exactly the three servers, every node is Ready, server-1's reset-flag is gone, and the next `up`
 * runs no step and deletes nothing. Before that, the tool off a terminal without --yes lists the
 * snapshots and refuses, touching nothing.
 *
 * K3s is the stand-in (harness/e2e/stand-in/k3s.ts): its --cluster-reset and rejoin follow
 * pkg/cluster/managed.go and pkg/etcd/etcd.go; real K3s has not run this drill.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { AGENTS, BASE_VERSION, HostName, SERVERS, SUDO_USER } from "../../harness/e2e/constants";
import { runInController, showRun as show } from "../../harness/e2e/controller-command";
import { up } from "../../harness/e2e/executor";
import { clusterNodes, etcdMemberNodes, exists } from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { LabStack, labStack } from "../../harness/e2e/stack";

const REPO = path.resolve(__dirname, "..", "..");
const STACK = "restore";
const MARKER = "k3s-ha.test/marker";
const DB = "/var/lib/rancher/k3s/server/db";

describe("e2e: restore from an etcd snapshot (npm run restore)", function () {
  this.timeout(900_000);
  const lab = new E2eLab();
  let stack: LabStack;
  let dir: string;
  let stackFile: string;
  keepJournalsOfFailures(lab);

  /** `npm run restore` in the controller netns, from the checkout, stdin not a terminal. */
  const restore = (args: string[], timeoutMs?: number) =>
    runInController(["npm", "run", "--silent", "restore", "--", ...args], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        LANG: "C.UTF-8",
        npm_config_update_notifier: "false",
      },
      timeoutMs,
    });

  const onServer1 = (args: string[]) =>
    lab.host("server-1").exec("k3s", ["kubectl", ...args], { timeoutMs: 30_000 });
  const marker = async () =>
    (await clusterNodes(lab)).find((n) => n.name === "agent-1")?.annotations[MARKER];
  const k3sActive = async (name: HostName) =>
    (
      await lab
        .host(name)
        .exec("systemctl", ["is-active", "k3s"], { allowFailure: true, timeoutMs: 30_000 })
    ).trim();

  before(async function () {
    await lab.up([BASE_VERSION]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-restore-"));
    stack = labStack(lab, { variant: "haproxy", user: SUDO_USER });
    // The stack file a user has: the same keys, no secret (the restore needs none).
    stackFile = path.join(dir, `Pulumi.${STACK}.yaml`);
    const config = Object.fromEntries(
      Object.entries(stack.config).filter(([k]) => !stack.secretKeys.includes(k)),
    );
    fs.writeFileSync(stackFile, stringify({ config }));
    const first = await up(stack.config, {
      stack: STACK,
      secretKeys: stack.secretKeys,
      printPlan: false,
    });
    expect(first.errors, "the first up").to.deep.equal([]);
  });

  after(async function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await lab.down();
  });

  let snapshotName: string;

  it("a marker written, a snapshot taken, the marker changed", async function () {
    await onServer1(["annotate", "--overwrite", "node", "agent-1", `${MARKER}=at-snapshot`]);
    await lab
      .host("server-1")
      .exec("k3s", ["etcd-snapshot", "save", "--name", "drill"], { timeoutMs: 60_000 });
    const listed = await lab.host("server-1").exec("ls", [`${DB}/snapshots`]);
    const names = listed.split("\n").filter((n) => /^drill-server-1-\d+$/.test(n));
    expect(names, listed).to.have.length(1);
    snapshotName = names[0];
    await onServer1(["annotate", "--overwrite", "node", "agent-1", `${MARKER}=after-snapshot`]);
    expect(await marker()).to.equal("after-snapshot");
  });

  it("off a terminal without --yes it lists the snapshots, prints the plan and refuses, touching nothing", async function () {
    const r = await restore(["--file", stackFile, "--snapshot", "latest"]);
    expect(r.status, show(r)).to.equal(2);
    expect(r.stdout).to.include(`  ${snapshotName}  on server-1`);
    expect(r.stdout).to.include(`restore ${snapshotName} (taken `);
    expect(r.stderr).to.include("not a terminal");
    for (const s of SERVERS) expect(await k3sActive(s), s).to.equal("active");
    expect(await marker()).to.equal("after-snapshot");
  });

  it("every server's datastore lost, npm run restore brings back the snapshot's state, and the next up runs nothing", async function () {
    for (const s of [...SERVERS].reverse()) {
      await lab.host(s).exec("systemctl", ["stop", "k3s"], { timeoutMs: 120_000 });
      await lab.host(s).exec("rm", ["-rf", `${DB}/etcd`]);
      expect(exists(lab.host(s), `${DB}/etcd`), s).to.equal(false);
    }
    const t0 = Date.now();
    const r = await restore(["--file", stackFile, "--snapshot", snapshotName, "--yes"]);
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(`    npm run restore took ${seconds} s; it said:`);
    console.log(r.stdout.replace(/^/gm, "      | "));
    expect(r.status, show(r)).to.equal(0);
    for (let i = 1; i <= 7; i++) expect(r.stdout, show(r)).to.include(`==> ${i}/7 `);
    expect(r.stdout).to.include("Managed etcd cluster membership has been reset");
    expect(r.stdout).to.include(`restored ${snapshotName} in `);

    expect(await marker(), "the marker, as at the snapshot").to.equal("at-snapshot");
    expect(await etcdMemberNodes(lab)).to.deep.equal([...SERVERS]);
    const nodes = await clusterNodes(lab);
    for (const name of [...SERVERS, ...AGENTS]) {
      expect(nodes.find((n) => n.name === name)?.ready, `${name} Ready`).to.equal("True");
    }
    expect(exists(lab.host("server-1"), `${DB}/reset-flag`), "reset-flag after the start").to.equal(
      false,
    );
    for (const s of ["server-2", "server-3"] as const) {
      const kept = await lab.host(s).exec("ls", ["/var/lib/rancher/k3s/server"]);
      expect(kept, `${s} keeps its earlier server/db aside`).to.match(/^db-before-restore-\d+$/m);
    }

    const again = await up(stack.config, {
      stack: STACK,
      secretKeys: stack.secretKeys,
      printPlan: false,
    });
    expect(again.errors).to.deep.equal([]);
    expect(
      [...again.steps, ...again.deletes].map((s) => s.name),
      "host steps",
    ).to.deep.equal([]);
    expect([...new Set(again.changes.map((c) => c.op))]).to.deep.equal(["same"]);
  });
});
