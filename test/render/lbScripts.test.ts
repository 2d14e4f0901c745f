/**
 * The LB steps' scripts run for real where they can be: lb-2's check that lb-1 serves before
 * lb-2 changes (against listeners in a network namespace), and the check step's script user
 * (in a private mount namespace with copies of /etc/passwd and /etc/group).
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
  LbPeerFirst,
  applyHaproxyCfgScript,
  installCheckScriptScript,
  removeCheckScriptScript,
} from "../../components/lb/haproxy-pair/scripts";
import { shQuote, withLibrary } from "../../components/host/script";
import { hostPort } from "../../components/k3s/configYaml";
import { CheckResult, checkShell, run, withTempDir, writeText } from "./checkers";
import { createNetns, deleteNetns } from "./netns";
import { ProcessGroup } from "./processes";
import { makeSelfSignedCert, startPingServer } from "./standIns";

const PEER = "127.0.0.2";
const SERVER = "127.0.0.3";

describe("lb-2's check that lb-1 serves first (lb-lib.sh peer_serves_first)", function () {
  this.timeout(120_000);
  let netns: string;
  let certDir: string;
  let processes: ProcessGroup;
  before(async function () {
    netns = await createNetns("lbp");
    // An address on a segment where nothing answers: connects to it time out.
    await run(["ip", "-n", netns, "addr", "add", "10.98.0.1/24", "dev", "eth1"]);
    certDir = fs.mkdtempSync("/tmp/k3sha-lbp-cert-");
    await makeSelfSignedCert(certDir);
  });
  after(async function () {
    if (netns) await deleteNetns(netns);
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });
  beforeEach(() => (processes = new ProcessGroup()));
  afterEach(async () => processes.stopAll());

  const peer = (address = PEER): LbPeerFirst => ({
    name: "lb-1",
    address,
    servers: [SERVER],
  });

  /**
   * The check as lb-2's scripts start with it, run in the namespace; `sleep` returns at once so
   * the bounded waits end in moments (their bound is the number of tries).
   */
  function probe(p: LbPeerFirst): Promise<CheckResult & { ms: number }> {
    return withTempDir(async (dir) => {
      fs.mkdirSync(path.join(dir, "bin"));
      await writeText(dir, "bin/sleep", "#!/bin/sh\nexit 0\n", 0o755);
      const servers = (p.servers ?? []).map((a) => shQuote(hostPort(a))).join(" ");
      const call = `peer_serves_first ${shQuote(p.name)} ${shQuote(hostPort(p.address))} ${servers}`;
      const text = `PATH=${dir}/bin:$PATH\n${withLibrary(call)}\necho changed-this-host`;
      const started = Date.now();
      const result = await run(["ip", "netns", "exec", netns, "sh", "-c", text], 60_000);
      return { ...result, ms: Date.now() - started };
    });
  }

  it("passes when /ping through lb-1 answers, and the script goes on", async function () {
    await startPingServer(processes, netns, certDir, PEER);
    await startPingServer(processes, netns, certDir, SERVER);
    const r = await probe(peer());
    expect(r.code, r.output).to.equal(0);
    expect(r.output).to.include("lb-1 (127.0.0.2:6443) serves: /ping through it answers");
    expect(r.output).to.include("changed-this-host");
  });

  it("passes on a listening lb-1 while no K3s server answers /ping yet (a fresh cluster)", async function () {
    await startPingServer(processes, netns, certDir, PEER, "no backend");
    const r = await probe(peer());
    expect(r.code, r.output).to.equal(0);
    expect(r.output).to.include(
      "lb-1 (127.0.0.2:6443) accepts connections (no K3s server answers /ping yet)",
    );
    // lb-2's steps that do not change the backends check only that lb-1 answers.
    const { servers: _, ...answersOnly } = peer();
    const plain = await probe(answersOnly);
    expect(plain.code, plain.output).to.equal(0);
    expect(plain.output).to.match(/lb-1 \(127\.0\.0\.2:6443\) accepts connections\n/);
  });

  it("passes on an lb-1 that accepts and closes at once (HAProxy with no server to pass to)", async function () {
    const closeAtOnce = `require("net").createServer((s) => s.destroy())
      .listen(6443, "${PEER}", () => console.log("ready"));`;
    await processes.start(netns, [process.execPath, "-e", closeAtOnce], /ready/);
    const r = await probe(peer());
    expect(r.code, r.output).to.equal(0);
    expect(r.output).to.include(
      "lb-1 (127.0.0.2:6443) accepts connections (no K3s server answers /ping yet)",
    );
  });

  it("stops, naming lb-1's address, when nothing listens there", async function () {
    await startPingServer(processes, netns, certDir, SERVER);
    const r = await probe(peer());
    expect(r.code).to.not.equal(0);
    expect(r.output).to.match(
      /lb-1 \(127\.0\.0\.2:6443\) does not answer on its own address: curl: \(7\) Failed to connect to 127\.0\.0\.2 port 6443 after \d+ ms: Couldn't connect to server; this host/,
    );
    expect(r.output).to.include("this host is left unchanged until lb-1 serves");
    expect(r.output).to.not.include("changed-this-host");
  });

  it("stops within its bound when lb-1's address does not answer at all", async function () {
    const r = await probe(peer("10.98.0.2"));
    expect(r.code).to.not.equal(0);
    expect(r.output).to.match(
      /lb-1 \(10\.98\.0\.2:6443\) does not answer on its own address: curl: \(28\) Failed to connect to 10\.98\.0\.2 port 6443 after \d+ ms: Timeout was reached; this host/,
    );
    expect(r.output).to.not.include("changed-this-host");
    expect(r.ms).to.be.lessThan(10_000);
  });

  it("stops when lb-1 accepts connections but passes no /ping while a server answers directly", async function () {
    await startPingServer(processes, netns, certDir, PEER, "no backend");
    await startPingServer(processes, netns, certDir, SERVER);
    const r = await probe(peer());
    expect(r.code).to.not.equal(0);
    expect(r.output).to.include(
      "gave up after 10s waiting for /ping through lb-1 (127.0.0.2:6443)",
    );
    expect(r.output).to.include(
      "lb-1 (127.0.0.2:6443) accepts connections but passes no /ping to a K3s server, while 127.0.0.3:6443 answers it directly",
    );
    expect(r.output).to.not.include("changed-this-host");
  });

  it("brackets IPv6 addresses in lb-2's haproxy step, and checks no peer on the first host", function () {
    const text = applyHaproxyCfgScript({
      name: "lb-1",
      address: "fd00::98",
      servers: ["fd00::50"],
    });
    expect(text).to.include(
      "peer='lb-1'\npeer_at='[fd00::98]:6443'\npeer_servers='[fd00::50]:6443'\n",
    );
    expect(applyHaproxyCfgScript(undefined)).to.include("peer=''\npeer_at=''\npeer_servers=''\n");
  });

  it("passes shellcheck", async function () {
    const r = await checkShell(`#!/bin/sh\n${applyHaproxyCfgScript(peer())}`);
    expect(r.code, r.output).to.equal(0);
  });
});

describe("the check step's script user", function () {
  this.timeout(60_000);
  const USER = "k3sha_test_script";

  /**
   * Runs `body` in a private mount namespace whose /etc is an overlay over this machine's, so
   * useradd and userdel change only the overlay; returns its passwd and group.
   */
  async function onCopies(body: string, state: string) {
    return withTempDir(async (dir) => {
      // useradd replaces the files by rename, which a bind-mounted file refuses: an overlay on
      // /etc keeps every write in `upper`.
      fs.mkdirSync(path.join(dir, "upper"));
      fs.mkdirSync(path.join(dir, "work"));
      const mount = `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/upper,workdir=${dir}/work /etc`;
      const text = body.replace(/\/var\/lib\/k3s-ha/g, state);
      const result = await run([
        "unshare",
        "--mount",
        "sh",
        "-c",
        `${mount} && sh -c ${shQuote(text)}`,
      ]);
      const read = (f: string) => {
        const p = path.join(dir, "upper", f);
        return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : fs.readFileSync(`/etc/${f}`, "utf8");
      };
      return { result, passwd: read("passwd"), group: read("group") };
    });
  }

  it("creates the user once (system, no home, no login) and its delete removes only a user it created", async function () {
    await withTempDir(async (dir) => {
      const state = path.join(dir, "state");
      const script = path.join(dir, "check.sh");
      const install = `${installCheckScriptScript(script, USER)}\nid -u ${USER}\n${installCheckScriptScript(script, USER)}`;
      const both = `${install}\n${removeCheckScriptScript(script, USER)}\nid -u ${USER} || echo gone`;
      // ensure_packages finds keepalived and curl on this machine (CI installs them).
      const { result } = await onCopies(both, state);
      expect(result.code, result.output).to.equal(0);
      expect(result.output.match(/created the system user/g), result.output).to.have.length(1);
      expect(result.output).to.include("gone");
      expect(fs.readdirSync(state), "the marker goes with the user").to.deep.equal([]);
    });
  });

  it("adds a system user with nologin and /nonexistent, and leaves an existing user on delete", async function () {
    await withTempDir(async (dir) => {
      const state = path.join(dir, "state");
      const script = path.join(dir, "check.sh");
      const created = await onCopies(
        `${installCheckScriptScript(script, USER)}\ngetent passwd ${USER}`,
        state,
      );
      expect(created.result.code, created.result.output).to.equal(0);
      const entry = created.passwd.split("\n").find((l) => l.startsWith(`${USER}:`));
      const [, , uid, gid, , home, shell] = entry!.split(":");
      expect(Number(uid)).to.be.lessThan(1000);
      expect(created.group).to.match(new RegExp(`^${USER}:x:${gid}:`, "m"));
      expect([home, shell]).to.deep.equal(["/nonexistent", "/usr/sbin/nologin"]);
      // A user that was there before (an admin's): no marker, so the delete keeps it.
      const kept = await onCopies(
        [
          `useradd --system --no-log-init --no-create-home ${USER}`,
          installCheckScriptScript(script, USER),
          removeCheckScriptScript(script, USER),
          `id -u ${USER} >/dev/null && echo kept`,
        ].join("\n"),
        path.join(dir, "state-2"),
      );
      expect(kept.result.code, kept.result.output).to.equal(0);
      expect(kept.result.output).to.not.include("created the system user");
      expect(kept.result.output).to.include("kept");
    });
  });
});
