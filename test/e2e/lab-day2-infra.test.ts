/**
 * The day-2 lab's infrastructure, without the program: every host (server-4 and agent-4 too)
 * answers SSH with both client keys, as root and as the sudo user; the mirror serves a stand-in
 * per version; a K3s server STAND-IN installed by hand upgrades, rotates its token, refuses a
 * restart with the old token, is gone after its uninstall; and the load client runs against it
 * directly. What it checks is what the host and the cluster's API show. Needs root; tears the lab
 * down after, on failure and on Ctrl-C.
 */
import { expect } from "chai";
import * as fs from "fs";
import {
  BASE_VERSION,
  DAY2_VERSIONS,
  HOSTS,
  HOST_ADDRESSES,
  INSTALL_SCRIPT_URL,
  OPTIONAL_HOSTS,
  RELEASES_URL,
  ROTATE_VERSION,
  SUDO_USER,
} from "../../harness/e2e/constants";
import { expectK3sUninstalled } from "../../harness/e2e/checks";
import {
  clusterNodes,
  etcdMemberNodes,
  k3sFailures,
  k3sStarts,
  runningVersion,
  serverPasswordAccepted,
  unitJournal,
} from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { E2eLoad } from "../../harness/e2e/load";
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
    // Every host, the optional ones (server-5/6) too: each must boot and answer.
    await lab.up(DAY2_VERSIONS, OPTIONAL_HOSTS);
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

  it("the mirror serves a stand-in per version over https (a certificate the hosts trust), each reporting its own version", async function () {
    const agent = lab.host("agent-4");
    for (const version of DAY2_VERSIONS) {
      const base = `${RELEASES_URL}/download/${version}`;
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

  it("a stand-in server upgrades, rotates its token, refuses the old one, answers load, is gone after its uninstall", async function () {
    const host = lab.host("server-1");
    const since = Date.now();
    const sh = (script: string, allowFailure = false) =>
      host.exec("sh", ["-c", script], { allowFailure });
    const install = (version: string) =>
      sh(
        `curl -sf ${INSTALL_SCRIPT_URL} -o /tmp/install.sh && ` +
          `GITHUB_URL='${RELEASES_URL}' INSTALL_K3S_VERSION=${version} INSTALL_K3S_EXEC=server sh /tmp/install.sh >/dev/null 2>&1`,
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
    expect(await serverPasswordAccepted(host, TOKEN_2), "the new token").to.equal(true);
    expect(await serverPasswordAccepted(host, TOKEN_1), "the old token").to.equal(false);
    const restart = await sh("service k3s restart >/dev/null 2>&1 && echo ok", true);
    expect(restart.trim(), "a restart with the old token fails").to.equal("");
    // systemd recorded the failure; K3s said why in its log.
    expect(await k3sFailures(host, since)).to.have.length.greaterThan(0);
    const said = (await unitJournal(host, "k3s", since)).filter((r) => r.kind === "log");
    expect(said.map((r) => r.message).join("\n")).to.include(
      "bootstrap data already found and encrypted with different token",
    );
    writeToken(TOKEN_2);
    await sh("service k3s restart >/dev/null 2>&1");
    // Started: the install, the upgrade, the restart with the new token (none with the old one).
    expect((await k3sStarts(host, since)).map((s) => s.unit)).to.deep.equal(["k3s", "k3s", "k3s"]);
    expect(await runningVersion(host)).to.deep.equal({
      binary: ROTATE_VERSION,
      process: ROTATE_VERSION,
      service: "k3s",
    });
    expect(await etcdMemberNodes(lab)).to.deep.equal(["server-1"]);
    const nodes = await clusterNodes(lab);
    expect(nodes.map((n) => [n.name, n.kubeletVersion, n.ready])).to.deep.equal([
      ["server-1", ROTATE_VERSION, "True"],
    ]);
    expect(nodes[0].labels.tier).to.equal("one");

    // Uninstall: K3s goes, with everything the installer and K3s wrote.
    await sh("/usr/local/bin/k3s-uninstall.sh >/dev/null 2>&1");
    await expectK3sUninstalled(lab, "server-1");
  });
});
