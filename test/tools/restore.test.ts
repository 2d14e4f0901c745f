import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  DEFAULT_SNAPSHOT_DIR,
  RestoreUsageError,
  confirmationMode,
  listingText,
  parseListing,
  pickSnapshot,
  planText,
  readRestoreOptions,
  readRestoreTargets,
} from "../../tools/restore-plan";
import { EXIT_USAGE, RestoreIo, runRestore } from "../../tools/restore";
import { fakeHostKey } from "../../harness/program/stacks";

const ROOT = "/repo";

function stackText(opts: { pin?: boolean; extra?: string } = {}): string {
  const key = (name: string) => (opts.pin === false ? "" : `\n      hostKey: ${fakeHostKey(name)}`);
  return `config:
  k3s-ha:k3sVersion: v1.27.3+k3s1
  k3s-ha:sshUser: ubuntu
  k3s-ha:servers:
    - name: server-1
      address: 10.10.10.50${key("server-1")}
    - name: server-2
      address: 10.10.10.51${key("server-2")}
    - name: server-3
      address: 10.10.10.52${key("server-3")}
  k3s-ha:agents:
    - name: agent-1
      address: 10.10.10.101${key("agent-1")}
  k3s-ha:lbHosts:
    - name: lb-1
      address: 10.10.10.98
${opts.extra ?? ""}`;
}

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(RestoreUsageError);
    return (err as Error).message;
  }
  throw new Error("expected a RestoreUsageError");
}

describe("restore: arguments", () => {
  it("reads the stack, the snapshot and --yes", () => {
    expect(
      readRestoreOptions(["--stack", "dev", "--snapshot", "latest", "--yes"], ROOT),
    ).to.deep.equal({
      file: "/repo/Pulumi.dev.yaml",
      shown: "Pulumi.dev.yaml",
      snapshot: "latest",
      yes: true,
    });
    expect(
      readRestoreOptions(
        ["--file", "/tmp/x.yaml", "--snapshot", "on-demand-server-1-1700000000"],
        ROOT,
      ),
    ).to.include({ file: "/tmp/x.yaml", yes: false });
  });

  it("refuses missing or malformed arguments, naming the option", () => {
    expect(usageError(() => readRestoreOptions(["--snapshot", "latest"], ROOT))).to.equal(
      "--stack is required (e.g. --stack dev)",
    );
    expect(usageError(() => readRestoreOptions(["--stack", "dev"], ROOT))).to.match(
      /^--snapshot is required/,
    );
    expect(
      usageError(() => readRestoreOptions(["--stack", "dev", "--snapshot", "../etc/passwd"], ROOT)),
    ).to.equal(
      "--snapshot \"../etc/passwd\": not a snapshot file name (letters, digits, '.', '_', '-', no path), or latest",
    );
    expect(
      usageError(() => readRestoreOptions(["--stack", "a b", "--snapshot", "latest"], ROOT)),
    ).to.match(/^--stack "a b": not a stack name/);
    expect(
      usageError(() =>
        readRestoreOptions(["--stack", "dev", "--file", "x", "--snapshot", "latest"], ROOT),
      ),
    ).to.equal("--stack and --file name the same thing: give one");
    expect(usageError(() => readRestoreOptions(["--stack", "dev", "--force"], ROOT))).to.match(
      /Unknown option '--force'/,
    );
  });
});

describe("restore: the stack's hosts", () => {
  it("takes the servers and agents with their pinned keys, not the LB hosts", () => {
    const t = readRestoreTargets(stackText(), "Pulumi.dev.yaml");
    expect(t.servers.map((s) => s.name)).to.deep.equal(["server-1", "server-2", "server-3"]);
    expect(t.agents.map((s) => [s.name, s.address, s.port])).to.deep.equal([
      ["agent-1", "10.10.10.101", 22],
    ]);
    expect(t.servers[0].hostKey).to.equal(fakeHostKey("server-1"));
    expect(t.user).to.equal("ubuntu");
    expect(t.snapshotDir).to.equal(DEFAULT_SNAPSHOT_DIR);
  });

  it("uses --etcd-snapshot-dir from extraServerArgs", () => {
    const t = readRestoreTargets(
      stackText({ extra: "  k3s-ha:extraServerArgs: [--etcd-snapshot-dir=/srv/snaps]\n" }),
      "s",
    );
    expect(t.snapshotDir).to.equal("/srv/snaps");
  });

  it("refuses unpinned hosts and a bastion, naming each, before any host is touched", () => {
    const message = usageError(() =>
      readRestoreTargets(
        stackText({ pin: false, extra: "  k3s-ha:sshBastion: {host: 10.0.0.1}\n" }),
        "Pulumi.dev.yaml",
      ),
    );
    expect(message).to.match(/^Pulumi\.dev\.yaml:\n/);
    for (const field of ["servers[0]", "servers[1]", "servers[2]", "agents[0]"]) {
      expect(message).to.include(`${field}.hostKey: `);
    }
    expect(message).to.include("sshBastion: npm run restore does not go through a bastion yet");
  });
});

describe("restore: snapshots", () => {
  const listing = [
    "1000 1700000100 etcd-snapshot-server-1-1700000000",
    "2000 1700000500 on-demand-server-1-1700000400.zip",
    "3000 1700000900 manual",
    "garbage line",
    "12 1700000000 ../escape",
  ].join("\n");

  it("parses a listing: the time from K3s's name, else the file's mtime; odd lines skipped", () => {
    expect(parseListing("server-1", listing)).to.deep.equal([
      {
        name: "etcd-snapshot-server-1-1700000000",
        server: "server-1",
        size: 1000,
        takenAt: 1700000000,
      },
      {
        name: "on-demand-server-1-1700000400.zip",
        server: "server-1",
        size: 2000,
        takenAt: 1700000400,
      },
      { name: "manual", server: "server-1", size: 3000, takenAt: 1700000900 },
    ]);
  });

  it("picks the newest for latest, preferring the first server's copy, or the one named", () => {
    const all = [
      ...parseListing("server-2", "5 1700000600 etcd-snapshot-server-2-1700000600"),
      ...parseListing("server-1", listing),
      ...parseListing("server-2", "5 1700000900 manual"),
    ];
    expect(pickSnapshot(all, "latest", "server-1")).to.include({
      name: "manual",
      server: "server-1",
    });
    expect(pickSnapshot(all, "etcd-snapshot-server-2-1700000600", "server-1")).to.include({
      server: "server-2",
    });
    expect(usageError(() => pickSnapshot(all, "nope", "server-1"))).to.equal(
      "--snapshot nope: no server holds it; snapshots found: etcd-snapshot-server-1-1700000000, etcd-snapshot-server-2-1700000600, manual, on-demand-server-1-1700000400.zip",
    );
    expect(usageError(() => pickSnapshot([], "latest", "server-1"))).to.match(
      /^no etcd snapshot on any server/,
    );
  });

  it("lists newest first and says when S3 is configured that it lists local files only", () => {
    const text = listingText(parseListing("server-1", listing), ["server-1"]);
    expect(text.split("\n").slice(1, 4)).to.deep.equal([
      "  manual  on server-1  3000 bytes  taken 2023-11-14T22:28:20Z",
      "  on-demand-server-1-1700000400.zip  on server-1  2000 bytes  taken 2023-11-14T22:20:00Z",
      "  etcd-snapshot-server-1-1700000000  on server-1  1000 bytes  taken 2023-11-14T22:13:20Z",
    ]);
    expect(text).to.include("S3 snapshots are configured on server-1");
    expect(listingText([], [])).to.include("(none)");
  });
});

describe("restore: the plan", () => {
  const targets = readRestoreTargets(stackText(), "s");

  it("says every step of K3s's procedure, in order, with the file and the hosts", () => {
    const [snapshot] = parseListing("server-1", "10 1 etcd-snapshot-server-1-1700000000");
    const text = planText({ targets, snapshot, s3: false, stamp: 1700000999 });
    expect(text.split("\n")).to.deep.equal([
      "restore etcd-snapshot-server-1-1700000000 (taken 2023-11-14T22:13:20Z, on server-1):",
      "  1. stop K3s on every server (server-3, server-2, server-1): systemctl stop k3s",
      `  2. on server-1: k3s server --cluster-reset --cluster-reset-restore-path=${DEFAULT_SNAPSHOT_DIR}/etcd-snapshot-server-1-1700000000 (its etcd data moves to /var/lib/rancher/k3s/server/db/etcd-old-<time>; etcd restarts as a cluster of server-1 alone)`,
      "  3. on server-1: systemctl start k3s, then wait for /readyz",
      "  4. on server-2: move /var/lib/rancher/k3s/server/db to /var/lib/rancher/k3s/server/db-before-restore-1700000999 (its etcd data and local snapshots), systemctl start k3s, wait until its node is Ready",
      "  5. on server-3: move /var/lib/rancher/k3s/server/db to /var/lib/rancher/k3s/server/db-before-restore-1700000999 (its etcd data and local snapshots), systemctl start k3s, wait until its node is Ready",
      "  6. wait until every server is Ready and etcd lists exactly server-1, server-2, server-3",
      "  7. wait until every agent is Ready (agent-1); restart k3s-agent on one that is not after 60 s",
      "The cluster's API is down from step 1 until the first server is back; everything written since the snapshot is lost.",
      "The snapshot restores only with the server token that was in use when it was taken.",
    ]);
  });

  it("copies a snapshot another server holds to the first, and restores a local file when S3 is on", () => {
    const [snapshot] = parseListing("server-2", "10 1 etcd-snapshot-server-2-1700000000");
    const text = planText({ targets, snapshot, s3: true, stamp: 1 });
    expect(text).to.include(
      `  2. copy etcd-snapshot-server-2-1700000000 from server-2 to server-1:${DEFAULT_SNAPSHOT_DIR}/`,
    );
    expect(text).to.include("server-2-1700000000 --etcd-s3=false (its etcd data");
  });

  it("asks on a terminal, goes on with --yes, and refuses to go on off a terminal without it", () => {
    expect(confirmationMode(false, true)).to.equal("ask");
    expect(confirmationMode(true, false)).to.equal("go");
    expect(usageError(() => confirmationMode(false, false))).to.match(
      /^not a terminal: .* run again with --yes to restore$/,
    );
  });
});

describe("restore: refusals before any host is touched", () => {
  let dir: string;
  let out: string;
  let err: string;
  const io = (env: NodeJS.ProcessEnv = {}): RestoreIo => ({
    out: (t) => (out += t),
    err: (t) => (err += t),
    env,
    interactive: false,
    ask: () => Promise.reject(new Error("asked")),
    now: Date.now,
  });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "restore-test-"));
    out = "";
    err = "";
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a missing stack file, an unpinned host, no SSH key: exit 2, said, nothing connected", async () => {
    const file = path.join(dir, "Pulumi.x.yaml");
    expect(await runRestore(["--file", file, "--snapshot", "latest"], io())).to.equal(EXIT_USAGE);
    expect(err).to.match(/no such stack file/);
    fs.writeFileSync(file, stackText({ pin: false }));
    err = "";
    expect(await runRestore(["--file", file, "--snapshot", "latest"], io())).to.equal(EXIT_USAGE);
    expect(err).to.include("servers[0].hostKey: server-1 pins no host key");
    fs.writeFileSync(file, stackText());
    err = "";
    expect(await runRestore(["--file", file, "--snapshot", "latest", "--yes"], io())).to.equal(
      EXIT_USAGE,
    );
    expect(err).to.include("no SSH key: set sshPrivateKeyPath");
    expect(out).to.equal("");
  });

  it("prints the usage for --help and for a bad option", async () => {
    expect(await runRestore(["--help"], io())).to.equal(0);
    expect(err).to.match(/^usage: npm run restore -- --stack <stack> --snapshot <name\|latest>/);
    err = "";
    expect(await runRestore(["--stack", "dev", "--snapshot", "a/b"], io())).to.equal(EXIT_USAGE);
    expect(err).to.include("usage: npm run restore");
  });
});
