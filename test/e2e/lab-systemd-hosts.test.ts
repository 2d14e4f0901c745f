/**
 * The lab's hosts as users' hosts, without the program: every K3s host and lb-1 boot systemd (sshd
 * a unit), lb-2 has no init; the stand-in installer does what k3s-io/k3s install.sh does on a
 * systemd host (its unit and env file, a restart only when the binary, unit or env file changed,
 * INSTALL_K3S_FORCE_RESTART, _SKIP_START, _SKIP_DOWNLOAD, the killall and uninstall scripts, a host
 * without systemd refused); the K3s stand-in tells systemd READY=1 only when ready (never, with the
 * never-ready fault); a reboot brings back every enabled service; a crashed run's containers are
 * cleaned up. What it checks is what the hosts show: files, systemd's units and journal,
 * processes. Needs root; tears the lab down after, on failure and on Ctrl-C.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  BASE_VERSION,
  DAY2_VERSIONS,
  E2E_DIR,
  HOST_ADDRESSES,
  INSTALL_SCRIPT_URL,
  NETNS_HOSTS,
  OPTIONAL_HOSTS,
  PREFIX,
  RELEASES_URL,
  ROTATE_VERSION,
  SYSTEMD_HOSTS,
} from "../../harness/e2e/constants";
import { E2eHost } from "../../harness/e2e/host";
import {
  exists,
  fileMode,
  fileText,
  k3sPids,
  k3sProcess,
  k3sStarts,
  runningVersion,
  unitJournal,
} from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab, cleanupLeftovers } from "../../harness/e2e/lab";
import { mirrorRequests } from "../../harness/e2e/mirror";
import { e2eNamespaces } from "../../harness/e2e/network";
import { sshExec } from "../../harness/e2e/ssh";
import { CGROUP_PARENT, SystemdHost } from "../../harness/e2e/systemd-host";
import { run, sleep } from "../../harness/shared/sh";

const TOKEN = "systemd-hosts-token-7d21";

/** Runs a shell script on a host; its exit status and combined output, never a rejection. */
async function sh(host: E2eHost, script: string, timeoutMs = 60_000) {
  const out = await host.exec("sh", ["-c", `{ ${script}\n} 2>&1; echo "exit=$?"`], { timeoutMs });
  const m = /exit=(\d+)\n?$/.exec(out);
  return { code: m ? Number(m[1]) : -1, out: out.replace(/exit=\d+\n?$/, "") };
}

/**
 * Fetches the stand-in installer from the mirror and runs it with these variables, and GITHUB_URL
 * at the lab's release mirror unless they say otherwise ("" leaves it unset).
 */
function install(host: E2eHost, env: Record<string, string>, timeoutMs = 60_000) {
  const vars = Object.entries({ GITHUB_URL: RELEASES_URL, ...env })
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k}='${v}'`)
    .join(" ");
  return sh(
    host,
    `curl -sf ${INSTALL_SCRIPT_URL} -o /tmp/install.sh && env ${vars} sh /tmp/install.sh`,
    timeoutMs,
  );
}

async function unit(host: E2eHost, service: string): Promise<Record<string, string>> {
  const props = ["Type", "NotifyAccess", "TimeoutStartUSec", "Restart", "RestartUSec", "KillMode"];
  const out = await host.exec("systemctl", [
    "show",
    ...props.map((p) => `--property=${p}`),
    "--property=ActiveState",
    "--property=UnitFileState",
    "--property=MainPID",
    service,
  ]);
  const entries = out
    .trim()
    .split("\n")
    .map((l) => l.split("=", 2) as [string, string]);
  return Object.fromEntries(entries);
}

/** Pids (inside the host) of the processes listening on 6443. */
async function listeners6443(host: E2eHost): Promise<number[]> {
  const out = await host.exec("ss", ["-Hltnp", "sport = :6443"], { allowFailure: true });
  return [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

function writeServerConfig(host: E2eHost, extra: string[] = []): void {
  fs.mkdirSync(host.hostPath("/etc/rancher/k3s"), { recursive: true });
  fs.writeFileSync(host.hostPath("/etc/rancher/k3s/cluster-token"), `${TOKEN}\n`, { mode: 0o600 });
  fs.writeFileSync(
    host.hostPath("/etc/rancher/k3s/config.yaml"),
    [
      `node-name: ${host.name}`,
      `node-ip: ${host.address}`,
      "cluster-init: true",
      "token-file: /etc/rancher/k3s/cluster-token",
      ...extra,
      "",
    ].join("\n"),
  );
}

describe("e2e: lab hosts boot systemd; the installer and K3s stand-ins behave as K3s's", function () {
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

  it("every K3s host and lb-1 boot systemd with sshd a unit; lb-2 and the mirror have no init", async function () {
    for (const name of SYSTEMD_HOSTS) {
      const host = lab.host(name);
      expect(host.kind, name).to.equal("systemd");
      expect(await (host as SystemdHost).systemState(), `${name}'s boot`).to.equal("running");
      expect(exists(host, "/run/systemd/system"), `${name}: scripts see systemd`).to.equal(true);
      const ssh = await host.exec("systemctl", ["is-enabled", "ssh"]);
      expect(ssh.trim(), `${name}: ssh.service`).to.equal("enabled");
      // Installed as on a prepared host, not running until the program starts them.
      for (const daemon of ["haproxy", "keepalived", "nginx"]) {
        const state = await host.exec("sh", ["-c", `systemctl is-active ${daemon} || true`]);
        expect(state.trim(), `${name}: ${daemon}`).to.equal("inactive");
      }
    }
    for (const name of NETNS_HOSTS) {
      expect(lab.host(name).kind, name).to.equal("netns");
      expect(exists(lab.host(name), "/run/systemd/system"), name).to.equal(false);
    }
    // sshd's logins reach the journal.
    const r = await sshExec(
      {
        host: HOST_ADDRESSES["lb-1"],
        privateKey: fs.readFileSync(lab.clientKeyPath, "utf8"),
        hostKey: lab.host("lb-1").hostKey,
      },
      "systemctl is-active ssh",
    );
    expect(r.stdout.trim()).to.equal("active");
    expect(await lab.host("lb-1").journal()).to.match(/sshd\[\d+\]: Accepted publickey for root /);
  });

  it("the installer refuses a host without systemd (lb-2), as install.sh's verify_system", async function () {
    const r = await install(lab.host("lb-2"), {
      INSTALL_K3S_VERSION: BASE_VERSION,
      INSTALL_K3S_EXEC: "server",
    });
    expect(r.code).to.equal(1);
    expect(r.out).to.include("systemd is not running on this host");
    expect(exists(lab.host("lb-2"), "/usr/local/bin/k3s")).to.equal(false);
  });

  it("downloads from GITHUB_URL over https: one that serves no release fails the download", async function () {
    const host = lab.host("server-3");
    const nowhere = RELEASES_URL.replace(/\/releases$/, "/no-releases");
    const r = await install(host, { INSTALL_K3S_VERSION: BASE_VERSION, GITHUB_URL: nowhere });
    expect(r.code).to.equal(1);
    expect(r.out).to.include(
      `Downloading hash ${nowhere}/download/${BASE_VERSION}/sha256sum-amd64.txt`,
    );
    expect(r.out).to.include("Download failed");
    expect(exists(host, "/usr/local/bin/k3s")).to.equal(false);
  });

  it("writes the unit and env file as install.sh, enables the unit and starts it; READY=1 from the main process", async function () {
    const host = lab.host("server-1");
    writeServerConfig(host);
    const r = await install(host, {
      INSTALL_K3S_VERSION: BASE_VERSION,
      INSTALL_K3S_EXEC: "server --node-label tier=one",
      K3S_STAND_IN_NOTE: "kept",
      OTHER_NOTE: "dropped",
    });
    expect(r.code, r.out).to.equal(0);
    const text = fileText(host, "/etc/systemd/system/k3s.service");
    for (const line of [
      "Type=notify",
      "EnvironmentFile=-/etc/systemd/system/k3s.service.env",
      "KillMode=process",
      "Delegate=yes",
      "TimeoutStartSec=0",
      "Restart=always",
      "RestartSec=5s",
      "WantedBy=multi-user.target",
    ]) {
      expect(text.split("\n"), line).to.include(line);
    }
    expect(text).to.include(
      "ExecStart=/usr/local/bin/k3s \\\n    server \\\n\t'--node-label' \\\n\t'tier=one' \\\n\n",
    );
    expect(fileMode(host, "/etc/systemd/system/k3s.service.env")).to.equal("0600");
    expect(fileText(host, "/etc/systemd/system/k3s.service.env")).to.equal(
      "K3S_STAND_IN_NOTE='kept'\n",
    );
    const props = await unit(host, "k3s");
    expect(props).to.deep.include({
      Type: "notify",
      NotifyAccess: "main",
      TimeoutStartUSec: "infinity",
      Restart: "always",
      RestartUSec: "5s",
      KillMode: "process",
      ActiveState: "active",
      UnitFileState: "enabled",
    });
    // Active is READY=1 from the main process (NotifyAccess=main): the K3s server, serving 6443.
    const running = await k3sProcess(host);
    expect(running?.pid).to.equal(Number(props.MainPID));
    expect(running?.argv).to.deep.equal([
      "/usr/local/bin/k3s",
      "server",
      "--node-label",
      "tier=one",
    ]);
    expect(await listeners6443(host), "the main process serves 6443").to.deep.equal([running?.pid]);
    expect(await runningVersion(host)).to.deep.equal({
      binary: BASE_VERSION,
      process: BASE_VERSION,
      service: "k3s",
    });
    for (const link of ["kubectl", "crictl", "ctr"]) {
      expect(fs.readlinkSync(host.hostPath(`/usr/local/bin/${link}`)), link).to.equal("k3s");
    }
  });

  it("restarts K3s only when the binary, unit or env file changed, or with INSTALL_K3S_FORCE_RESTART", async function () {
    const host = lab.host("server-1");
    const base = { INSTALL_K3S_VERSION: BASE_VERSION, K3S_STAND_IN_NOTE: "kept" };
    const mainPid = async () => (await unit(host, "k3s")).MainPID;
    const since = Date.now();
    const first = await mainPid();

    // INSTALL_K3S_MIRROR is not read by the default (non-China) installer: nothing changes.
    const same = await install(host, {
      ...base,
      INSTALL_K3S_EXEC: "server --node-label tier=one",
      INSTALL_K3S_MIRROR: "cn",
    });
    expect(same.code, same.out).to.equal(0);
    expect(same.out).to.include("No change detected so skipping service start");
    expect(await mainPid(), "nothing changed: no restart").to.equal(first);

    const forced = await install(host, {
      ...base,
      INSTALL_K3S_EXEC: "server --node-label tier=one",
      INSTALL_K3S_FORCE_RESTART: "true",
    });
    expect(forced.code, forced.out).to.equal(0);
    const afterForce = await mainPid();
    expect(afterForce, "INSTALL_K3S_FORCE_RESTART restarts").to.not.equal(first);

    const env = await install(host, {
      ...base,
      K3S_STAND_IN_NOTE: "changed",
      INSTALL_K3S_EXEC: "server --node-label tier=one",
    });
    expect(env.code, env.out).to.equal(0);
    const afterEnv = await mainPid();
    expect(afterEnv, "a changed env file restarts").to.not.equal(afterForce);

    const args = await install(host, { ...base, INSTALL_K3S_EXEC: "server --node-label tier=two" });
    expect(args.code, args.out).to.equal(0);
    const afterArgs = await mainPid();
    expect(afterArgs, "a changed unit restarts").to.not.equal(afterEnv);

    const upgrade = await install(host, {
      ...base,
      INSTALL_K3S_VERSION: ROTATE_VERSION,
      INSTALL_K3S_EXEC: "server --node-label tier=two",
    });
    expect(upgrade.code, upgrade.out).to.equal(0);
    expect(await mainPid(), "a new binary restarts").to.not.equal(afterArgs);
    expect(await runningVersion(host)).to.deep.include({
      binary: ROTATE_VERSION,
      process: ROTATE_VERSION,
    });

    // A stopped K3s whose files did not change stays stopped: the installer starts nothing.
    await host.exec("systemctl", ["stop", "k3s"]);
    const stopped = await install(host, {
      ...base,
      INSTALL_K3S_VERSION: ROTATE_VERSION,
      INSTALL_K3S_EXEC: "server --node-label tier=two",
    });
    expect(stopped.out).to.include("No change detected so skipping service start");
    expect((await unit(host, "k3s")).ActiveState).to.equal("inactive");
    expect(k3sPids(host), "no K3s process is left").to.deep.equal([]);
    await host.exec("systemctl", ["start", "k3s"]);
    expect((await unit(host, "k3s")).ActiveState).to.equal("active");
    // systemd started K3s once per (re)start: forced, env, unit, binary, the start; none for the
    // unchanged runs.
    expect(
      (await k3sStarts(host, since)).map((s) => s.unit),
      "starts since the first install",
    ).to.deep.equal(["k3s", "k3s", "k3s", "k3s", "k3s"]);
    expect(await runningVersion(host)).to.deep.include({ process: ROTATE_VERSION });
  });

  it("INSTALL_K3S_SKIP_START enables without starting; INSTALL_K3S_SKIP_DOWNLOAD needs the binary present", async function () {
    const host = lab.host("server-2");
    writeServerConfig(host);
    const missing = await install(host, {
      INSTALL_K3S_SKIP_DOWNLOAD: "true",
      INSTALL_K3S_EXEC: "server",
    });
    expect(missing.code).to.equal(1);
    expect(missing.out).to.include("Executable k3s binary not found at /usr/local/bin/k3s");

    const before = mirrorRequests().length;
    const staged = await sh(
      host,
      `curl -sf -o /usr/local/bin/k3s '${RELEASES_URL}/download/${BASE_VERSION}/k3s' && chmod 755 /usr/local/bin/k3s`,
    );
    expect(staged.code, staged.out).to.equal(0);
    const skipped = await install(host, {
      INSTALL_K3S_SKIP_DOWNLOAD: "true",
      INSTALL_K3S_SKIP_START: "true",
      INSTALL_K3S_EXEC: "server",
    });
    expect(skipped.code, skipped.out).to.equal(0);
    const fetched = mirrorRequests()
      .slice(before)
      .filter((r) => r.from === host.address)
      .map((r) => r.path);
    expect(fetched, "only the binary staged by hand and the installer").to.deep.equal([
      `${new URL(RELEASES_URL).pathname}/download/${BASE_VERSION}/k3s`,
      "/install.sh",
    ]);
    expect(await unit(host, "k3s")).to.deep.include({
      UnitFileState: "enabled",
      ActiveState: "inactive",
    });
    expect(await k3sStarts(host, 0), "systemd never started K3s").to.deep.equal([]);
    expect(k3sPids(host)).to.deep.equal([]);
  });

  it("a never-ready stand-in keeps `systemctl start` waiting; a notification from another process is refused", async function () {
    const host = lab.host("server-2");
    fs.writeFileSync(host.hostPath("/etc/rancher/k3s/stand-in-never-ready"), "");
    const started = Date.now();
    const blocked = await sh(host, "timeout 8 systemctl start k3s");
    expect(blocked.code, "systemctl start was still waiting after 8 s").to.equal(124);
    expect(Date.now() - started).to.be.at.least(8_000);
    expect((await unit(host, "k3s")).ActiveState).to.equal("activating");
    // It runs (the unit's main process is the K3s server) but never serves.
    const blockedPid = Number((await unit(host, "k3s")).MainPID);
    expect((await k3sProcess(host))?.argv.slice(0, 2)).to.deep.equal([
      "/usr/local/bin/k3s",
      "server",
    ]);
    expect(blockedPid).to.be.greaterThan(0);
    expect(await listeners6443(host), "a never-ready K3s serves nothing").to.deep.equal([]);
    // systemd takes READY=1 from the main process only (NotifyAccess=main): not from another
    // process in the unit's own cgroup.
    const other = await sh(
      host,
      [
        "for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do",
        '  [ -w "$h/system.slice/k3s.service/cgroup.procs" ] && echo $$ >"$h/system.slice/k3s.service/cgroup.procs"',
        "done",
        "NOTIFY_SOCKET=/run/systemd/notify systemd-notify --ready",
      ].join("\n"),
    );
    expect(other.code, other.out).to.equal(0);
    await sleep(1_000);
    expect((await unit(host, "k3s")).ActiveState, "after another process's READY=1").to.equal(
      "activating",
    );
    const journal = await host.exec("journalctl", ["--no-pager", "-u", "k3s"]);
    expect(journal).to.match(/reception only permitted for main PID/);

    await host.exec("systemctl", ["stop", "k3s"]);
    expect((await unit(host, "k3s")).ActiveState).to.equal("inactive");
    fs.rmSync(host.hostPath("/etc/rancher/k3s/stand-in-never-ready"));
    await host.exec("systemctl", ["start", "k3s"], { timeoutMs: 60_000 });
    const props = await unit(host, "k3s");
    expect(props.ActiveState).to.equal("active");
    expect(await listeners6443(host), "the main process serves 6443").to.deep.equal([
      Number(props.MainPID),
    ]);
  });

  it("a reboot brings back every enabled service by itself: K3s, an agent, HAProxy, sshd", async function () {
    const server = lab.host("server-1");
    const agent = lab.host("agent-4");
    const lb = lab.host("lb-1");
    fs.mkdirSync(agent.hostPath("/etc/rancher/k3s"), { recursive: true });
    fs.writeFileSync(agent.hostPath("/etc/rancher/k3s/cluster-token"), `${TOKEN}\n`, {
      mode: 0o600,
    });
    fs.writeFileSync(
      agent.hostPath("/etc/rancher/k3s/config.yaml"),
      `node-name: agent-4\nnode-ip: ${agent.address}\nserver: https://${server.address}:6443\ntoken-file: /etc/rancher/k3s/cluster-token\n`,
    );
    const joined = await install(agent, {
      INSTALL_K3S_VERSION: ROTATE_VERSION,
      INSTALL_K3S_EXEC: "agent",
    });
    expect(joined.code, joined.out).to.equal(0);
    expect((await unit(agent, "k3s-agent")).ActiveState).to.equal("active");
    await lb.exec("systemctl", ["enable", "--now", "haproxy"]);

    const since = Date.now();
    const before = { server: await unit(server, "k3s"), agent: await unit(agent, "k3s-agent") };
    // The server first: the agent's start waits for its join, through the server.
    await (server as SystemdHost).reboot();
    await Promise.all([(agent as SystemdHost).reboot(), (lb as SystemdHost).reboot()]);
    expect(await unit(server, "k3s")).to.deep.include({ ActiveState: "active" });
    expect(await unit(agent, "k3s-agent")).to.deep.include({ ActiveState: "active" });
    expect((await unit(server, "k3s")).MainPID).to.not.equal("0");
    // Each started once, by the boot; the server's stop at the reboot succeeded.
    expect((await k3sStarts(server, since)).map((s) => s.unit)).to.deep.equal(["k3s"]);
    expect((await k3sStarts(agent, since)).map((s) => s.unit)).to.deep.equal(["k3s-agent"]);
    const stopped = (await unitJournal(server, "k3s", since))
      .filter((r) => !["log", "starting", "started"].includes(r.kind))
      .map((r) => r.kind);
    expect(stopped, "the server stopped cleanly").to.deep.equal([
      "stopping",
      "succeeded",
      "stopped",
    ]);
    for (const h of [server, agent]) {
      expect(await runningVersion(h), h.name).to.deep.include({ process: ROTATE_VERSION });
    }
    expect(before.agent.ActiveState).to.equal("active");
    const haproxy = await lb.exec("systemctl", ["is-active", "haproxy"]);
    expect(haproxy.trim()).to.equal("active");
    for (const host of [server, agent, lb]) {
      // journalctl --list-boots: a line per boot, "<index> <boot id> <first> <last>".
      const boots = await host.exec("journalctl", ["--list-boots", "--no-pager"]);
      const ids = boots.split("\n").filter((l) => /^\s*-?\d+ [0-9a-f]{32} /.test(l));
      expect(ids, `${host.name}'s journal has both boots`).to.have.length(2);
      const r = await sshExec(
        {
          host: host.address,
          privateKey: fs.readFileSync(lab.clientKeyPath, "utf8"),
          hostKey: host.hostKey,
        },
        "hostname",
      );
      expect(r.stdout.trim(), `${host.name} answers SSH with its pinned key`).to.equal(host.name);
    }
  });

  it("killall stops every K3s unit; uninstall stops a running K3s and removes the unit, env file, binary and data", async function () {
    const host = lab.host("server-1");
    // The generated scripts pass shellcheck (they are written by the stand-in installer).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-stand-in-scripts-"));
    try {
      for (const script of ["k3s-killall.sh", "k3s-uninstall.sh"]) {
        fs.copyFileSync(host.hostPath(`/usr/local/bin/${script}`), path.join(dir, script));
        await run("shellcheck", ["-s", "sh", "-e", "SC2046,SC2086", path.join(dir, script)]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const killall = await sh(host, "/usr/local/bin/k3s-killall.sh");
    expect(killall.code, killall.out).to.equal(0);
    expect(killall.out).to.include("systemctl stop k3s.service");
    expect((await unit(host, "k3s")).ActiveState).to.equal("inactive");
    expect(k3sPids(host), "killall left no K3s process").to.deep.equal([]);
    // The uninstall of a running K3s stops it first.
    await host.exec("systemctl", ["start", "k3s"], { timeoutMs: 60_000 });
    expect(k3sPids(host)).to.have.length(1);
    const uninstall = await sh(host, "/usr/local/bin/k3s-uninstall.sh");
    expect(uninstall.code, uninstall.out).to.equal(0);
    for (const p of [
      "/etc/systemd/system/k3s.service",
      "/etc/systemd/system/k3s.service.env",
      "/etc/systemd/system/multi-user.target.wants/k3s.service",
      "/usr/local/bin/k3s",
      "/usr/local/bin/kubectl",
      "/usr/local/bin/k3s-killall.sh",
      "/usr/local/bin/k3s-uninstall.sh",
      "/etc/rancher/k3s",
      "/var/lib/rancher/k3s",
    ]) {
      expect(exists(host, p), `${p} is gone`).to.equal(false);
    }
    const state = await host.exec("sh", ["-c", "systemctl show -p LoadState --value k3s"]);
    expect(state.trim(), "systemd forgot the unit (daemon-reload)").to.equal("not-found");
    expect(k3sPids(host), "no K3s process is left").to.deep.equal([]);
  });

  it("a crashed run's containers, overlays and cgroups are removed by the next run's cleanup", async function () {
    // As if this process had died: nothing shut down, then a new run cleans up.
    await cleanupLeftovers();
    const nspawn = await run("pgrep", ["-f", `systemd-nspawn .*--machine=${PREFIX}`], {
      allowFailure: true,
    });
    expect(nspawn.trim(), "nspawn processes").to.equal("");
    const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
    expect(mounts.includes(E2E_DIR), "mounts under E2E_DIR").to.equal(false);
    for (const h of ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"]) {
      if (fs.existsSync(h)) expect(fs.existsSync(path.join(h, CGROUP_PARENT)), h).to.equal(false);
    }
    expect(await e2eNamespaces()).to.deep.equal([]);
    expect(fs.existsSync(E2E_DIR)).to.equal(false);
  });
});
