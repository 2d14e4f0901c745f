/**
 * The day-2 lab's infrastructure, without the program: every host (server-4 and agent-4 too)
 * answers SSH with both client keys, as root and as the sudo user; the mirror serves a stand-in
 * per version; a K3s server STAND-IN installed by hand upgrades, rotates its token, refuses a
 * restart with the old token, keeps its history across an uninstall; and the load client runs
 * against it directly. Needs root; tears the lab down after, on failure and on Ctrl-C.
 */
import { expect } from "chai";
import * as fs from "fs";
import {
  BASE_VERSION,
  DAY2_VERSIONS,
  HOSTS,
  HOST_ADDRESSES,
  INSTALL_SCRIPT_URL,
  MIRROR_URL,
  ROTATE_VERSION,
  SUDO_USER,
} from "../../harness/e2e/constants";
import {
  datastoreOf,
  exists,
  failedStartsOf,
  runningVersion,
  startsOf,
  tokenDigest,
  uninstallsOf,
} from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { E2eLoad } from "../../harness/e2e/load";
import { sha256 } from "../../harness/e2e/mirror";
import { sshExec } from "../../harness/e2e/ssh";

const TOKEN_1 = "day2-infra-token-one-5b1c";
const TOKEN_2 = "day2-infra-token-two-93e0";

describe("e2e: day-2 lab infrastructure (stand-ins, keys, mirror, load)", function () {
  this.timeout(300_000);
  const lab = new E2eLab();
  let removeSignalHandlers: () => void = () => undefined;

  keepJournalsOfFailures(lab);

  before(async function () {
    removeSignalHandlers = lab.teardownOnSignals();
    await lab.up(DAY2_VERSIONS);
  });

  after(async function () {
    try {
      await lab.down();
    } finally {
      removeSignalHandlers();
    }
  });

  it("every host answers SSH with both client keys, as root and as the sudo user", async function () {
    const keys = [lab.clientKeyPath, lab.secondClientKeyPath].map((p) =>
      fs.readFileSync(p, "utf8"),
    );
    expect(keys[0]).to.not.equal(keys[1]);
    const logins = HOSTS.flatMap((name) =>
      keys.flatMap((privateKey, k) =>
        (["root", SUDO_USER] as const).map(async (user) => {
          const r = await sshExec(
            {
              host: HOST_ADDRESSES[name],
              user,
              privateKey,
              hostKey: lab.host(name).hostKey,
              dialErrorLimit: 1,
            },
            user === "root" ? "hostname" : "sudo -n hostname",
            { timeoutMs: 20_000 },
          );
          return `${name} key${k + 1} ${user}: ${r.code} ${r.stdout.trim()}`;
        }),
      ),
    );
    const answers = await Promise.all(logins);
    const expected = HOSTS.flatMap((name) =>
      [1, 2].flatMap((k) => ["root", SUDO_USER].map((u) => `${name} key${k} ${u}: 0 ${name}`)),
    );
    expect(answers).to.deep.equal(expected);
  });

  it("server-4 and agent-4 are booted with the others", function () {
    for (const name of ["server-4", "agent-4"] as const) {
      expect(lab.host(name).address).to.equal(HOST_ADDRESSES[name]);
      expect(lab.host(name).hostKey).to.match(/^ssh-ed25519 /);
    }
  });

  it("the mirror serves a stand-in per version, each reporting its own version", async function () {
    const agent = lab.host("agent-4");
    for (const version of DAY2_VERSIONS) {
      const base = `${MIRROR_URL}/k3s/${version}`;
      const out = await agent.exec("sh", [
        "-c",
        `set -e; d=$(mktemp -d); curl -sf -o "$d/k3s" '${base}/k3s'; curl -sf '${base}/sha256sum-amd64.txt'; ` +
          `sha256sum "$d/k3s"; chmod +x "$d/k3s"; "$d/k3s" --version; "$d/k3s" token --help; rm -rf "$d"`,
      ]);
      const [listed, actual] = [/^([0-9a-f]{64})\s+k3s$/m, /^([0-9a-f]{64})\s+\S*\/k3s$/m].map(
        (re) => re.exec(out)?.[1],
      );
      expect(listed, `${version}: the sha256 list`).to.match(/^[0-9a-f]{64}$/);
      expect(actual, `${version}: the binary matches its list`).to.equal(listed);
      expect(out).to.include(`k3s version ${version} (stand-in)`);
      expect(/^ {3}rotate /m.test(out), `${version}: token rotate`).to.equal(
        version === ROTATE_VERSION,
      );
    }
  });

  it("a stand-in server upgrades, rotates its token, refuses the old one, answers load, keeps its history", async function () {
    const host = lab.host("server-1");
    const since = Date.now();
    const sh = (script: string, allowFailure = false) =>
      host.exec("sh", ["-c", script], { allowFailure });
    const install = (version: string) =>
      sh(
        `curl -sf ${INSTALL_SCRIPT_URL} -o /tmp/install.sh && ` +
          `INSTALL_K3S_VERSION=${version} INSTALL_K3S_EXEC=server sh /tmp/install.sh >/dev/null 2>&1`,
      );
    fs.mkdirSync(host.hostPath("/etc/rancher/k3s"), { recursive: true });
    const writeToken = (t: string) =>
      fs.writeFileSync(host.hostPath("/etc/rancher/k3s/cluster-token"), `${t}\n`, { mode: 0o600 });
    writeToken(TOKEN_1);
    fs.writeFileSync(
      host.hostPath("/etc/rancher/k3s/config.yaml"),
      [
        "node-name: server-1",
        `node-ip: ${host.address}`,
        "cluster-init: true",
        "token-file: /etc/rancher/k3s/cluster-token",
        "node-label:",
        "  - tier=one",
        "",
      ].join("\n"),
    );

    await install(BASE_VERSION);
    expect(await runningVersion(host)).to.deep.equal({
      binary: BASE_VERSION,
      process: BASE_VERSION,
      service: "k3s",
    });
    await install(ROTATE_VERSION);
    expect(await runningVersion(host), "after the upgrade").to.deep.include({
      binary: ROTATE_VERSION,
      process: ROTATE_VERSION,
    });

    // The load client straight at the stand-in (no LB) for a few seconds.
    const load = await E2eLoad.start(lab, { targets: [{ host: host.address, port: 6443 }] });
    await new Promise((r) => setTimeout(r, 3_000));
    const summary = await load.stop();
    expect(summary.attempted, "connections in 3 s at one per 15 ms").to.be.within(120, 260);
    expect(summary.failed, JSON.stringify(summary.causes)).to.equal(0);
    expect(summary.watches).to.deep.include({ opened: 4, cut: 0 });

    // Rotate as the CLI does, then restart: the old token is refused, the new one works.
    await sh(`k3s token rotate --new-token ${TOKEN_2} >/dev/null 2>&1`);
    expect(datastoreOf(lab).bootstrap?.server).to.equal(tokenDigest(TOKEN_2));
    const restart = await sh("service k3s restart >/dev/null 2>&1 && echo ok", true);
    expect(restart.trim(), "a restart with the old token fails").to.equal("");
    expect(failedStartsOf(host, since).map((e) => e.error)).to.deep.equal([
      "the datastore refused this server (401): bootstrap data already found and encrypted with different token",
    ]);
    writeToken(TOKEN_2);
    await sh("service k3s restart >/dev/null 2>&1");
    const starts = startsOf(host, since);
    expect(starts.map((s) => [s.version, s.tokenSha256])).to.deep.equal([
      [BASE_VERSION, tokenDigest(TOKEN_1)],
      [ROTATE_VERSION, tokenDigest(TOKEN_1)],
      [ROTATE_VERSION, tokenDigest(TOKEN_2)],
    ]);
    const ds = datastoreOf(lab);
    expect(ds.members.map((m) => m.node)).to.deep.equal(["server-1"]);
    expect(ds.nodes.map((n) => [n.metadata.name, n.status.nodeInfo.kubeletVersion])).to.deep.equal([
      ["server-1", ROTATE_VERSION],
    ]);
    expect(ds.nodes[0].metadata.labels.tier).to.equal("one");

    // Uninstall: K3s goes, the history stays (0700 directory, 0600 file, no secret in it).
    expect(uninstallsOf(host, since)).to.deep.equal([]);
    await sh("/usr/local/bin/k3s-uninstall.sh >/dev/null 2>&1");
    expect(exists(host, "/var/lib/rancher/k3s")).to.equal(false);
    expect(uninstallsOf(host, since).map((e) => [e.service, e.wasRunning])).to.deep.equal([
      ["k3s", true],
    ]);
    const log = "/var/lib/k3s-stand-in-log";
    expect((fs.statSync(host.hostPath(log)).mode & 0o777).toString(8)).to.equal("700");
    expect((fs.statSync(host.hostPath(`${log}/events.jsonl`)).mode & 0o777).toString(8)).to.equal(
      "600",
    );
    const history = fs.readFileSync(host.hostPath(`${log}/events.jsonl`), "utf8");
    for (const secret of [TOKEN_1, TOKEN_2]) expect(history).to.not.include(secret);
    expect(history).to.include(sha256(TOKEN_2));
  });
});
