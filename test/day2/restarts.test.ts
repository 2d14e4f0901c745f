/**
 * When K3s and the LB daemons restart or reload, on a fake host: after an install the program
 * starts K3s itself (the installer skips its start when the files it hashes did not change), a
 * stopped K3s is started again, the running version is checked, every wait is bounded, and a
 * restart or reload that did not finish is finished by the next run.
 */
import { expect } from "chai";
import * as path from "path";
import { K3sConfig } from "../../components/config/types";
import {
  installK3sScript,
  installedStatePath,
  writeK3sFileScript,
} from "../../components/k3s/scripts";
import { restartMarkerPath } from "../../components/k3s/scripts";
import { K3S_CONFIG_PATH, K3S_SECRET_CONFIG_PATH } from "../../components/k3s/configYaml";
import { shQuote, withLibrary } from "../../components/host/script";
import { FakeHost, FakeHostState, FakeNode } from "./fakeHost";

const OLD = "v1.27.3+k3s1";
const NEW = "v1.27.7+k3s1";

const hosts: FakeHost[] = [];
function fakeHost(state: FakeHostState): FakeHost {
  const host = new FakeHost({ self: "server-2", ...state });
  hosts.push(host);
  return host;
}

const servers: FakeNode[] = ["server-1", "server-2", "server-3"].map((name) => ({
  name,
  ready: true,
  etcd: true,
}));

/** An installer that must never run: these cases need no install. */
const NO_INSTALLER: K3sConfig = {
  version: NEW,
  installScriptUrl: "file:///nonexistent/install.sh",
  extraServerArgs: [],
  extraAgentArgs: [],
  extraTlsSans: [],
};

const installScript = (role: "server" | "agent" = "server") =>
  installK3sScript(role, NO_INSTALLER, [], { nodeName: "server-2" });

const recorded = (version: string, role = "server") =>
  `mkdir -p /var/lib/k3s-ha; echo '${version} ${role}' >${installedStatePath(role === "server" ? "k3s" : "k3s-agent")}`;

describe("restarts and reloads that must happen, and waits that end", function () {
  this.timeout(60_000);
  afterEach(() => hosts.splice(0).forEach((h) => h.remove()));

  it("restarts K3s whose binary is already the pinned version when the last restart did not end ready (an air-gap copy, a cut run)", async () => {
    const host = fakeHost({ version: NEW, processVersion: OLD, running: ["k3s"], nodes: servers });
    const r = await host.run(`${installScript()}\ncat ${installedStatePath("k3s")}`, {
      isolated: true,
      setup: recorded(OLD),
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(host.calls()).to.include("service k3s restart");
    expect(host.processVersion()).to.equal(NEW);
    expect(r.stderr).to.contain(`k3s server server-2 ready, running ${NEW}`);
    expect(r.stdout.trim()).to.equal(`${NEW} server`);
  });

  it("fails, naming what runs, when K3s comes back older than the pinned version", async () => {
    const host = fakeHost({
      version: NEW,
      processVersion: OLD,
      running: ["k3s"],
      nodes: servers,
      restartKeepsOldProcess: true,
    });
    const script = installScript().replace(/wait_for 300 /g, "wait_for 2 ");
    const r = await host.run(`${script}\necho not reached`, {
      isolated: true,
      setup: recorded(OLD),
    });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain(
      `node server-2 runs ${OLD} after the restart, not ${NEW}: the upgrade did not take`,
    );
    // The record stays stale, so the next run restarts again.
    const again = await host.run(`cat ${installedStatePath("k3s")}`, { isolated: true });
    expect(again.stdout).to.not.contain(`${NEW} server`);
  });

  it("starts a stopped K3s that already is the pinned version", async () => {
    const host = fakeHost({ version: NEW, nodes: servers });
    const r = await host.run(installScript(), { isolated: true, setup: recorded(NEW) });
    expect(r.status, r.stderr).to.equal(0);
    expect(host.calls()).to.include("service k3s restart");
    expect(host.running("k3s")).to.equal(true);
  });

  it("leaves a running, ready, recorded K3s alone", async () => {
    const host = fakeHost({ version: NEW, running: ["k3s"], nodes: servers });
    const r = await host.run(installScript(), { isolated: true, setup: recorded(NEW) });
    expect(r.status, r.stderr).to.equal(0);
    expect(host.calls().filter((c) => /restart|installer/.test(c))).to.deep.equal([]);
  });

  it("gives up within its bound on a K3s that never reports ready, saying what it waited for", async () => {
    for (const role of ["server", "agent"] as const) {
      const service = role === "server" ? "k3s" : "k3s-agent";
      const host = fakeHost({ version: NEW, nodes: servers, startHangs: true });
      const script = installScript(role).replace("ready_timeout=300", "ready_timeout=2");
      const started = Date.now();
      const r = await host.run(script, { isolated: true, setup: recorded(NEW, role) });
      expect(r.status, role).to.equal(1);
      expect(Date.now() - started, role).to.be.below(20_000);
      expect(r.stderr).to.contain(
        `gave up after 2 s waiting for ${service} to restart and report ready`,
      );
      expect(r.stderr).to.contain(`${service} did not report ready`);
    }
  });

  it("leaves the restart marker before the new config moves into place (a run cut right after the move still restarts)", async () => {
    const host = fakeHost({ version: NEW, running: ["k3s"], nodes: servers });
    const config = path.join(host.dir, "config.yaml");
    const marker = restartMarkerPath("k3s");
    // The cut: nothing runs after the move.
    const step = writeK3sFileScript("server", config).replace(
      'mv -f "$tmp" "$dest"; echo changed',
      'mv -f "$tmp" "$dest"; kill -9 $$',
    );
    const r = await host.run(
      `printf 'node-name: server-2\\n' | sh -c ${shQuote(step)} || true
cat ${shQuote(config)}
test -e ${marker} && echo marker-left`,
      { isolated: true },
    );
    expect(r.stdout).to.contain("node-name: server-2");
    expect(r.stdout).to.contain("marker-left");
  });

  it("keeps K3s running when a server's config.yaml changes only in server: and cluster-init once its etcd member exists; restarts it before that, for any other change and on an agent", async () => {
    const WAL = "/var/lib/rancher/k3s/server/db/etcd/member/wal";
    const joiner = "node-name: server-2\nserver: https://10.0.0.11:6443\ntls-san:\n  - 10.0.0.10\n";
    const first = "node-name: server-2\ncluster-init: true\ntls-san:\n  - 10.0.0.10\n";
    const other = "node-name: server-2\ncluster-init: true\ntls-san:\n  - 10.0.0.99\n";
    const cases = [
      {
        name: "joiner → first, etcd data",
        role: "server",
        wal: true,
        from: joiner,
        to: first,
        restart: false,
      },
      {
        name: "another server: URL, etcd data",
        role: "server",
        wal: true,
        from: joiner,
        to: joiner.replace(".11", ".12"),
        restart: false,
      },
      {
        name: "joiner → first, no etcd data yet",
        role: "server",
        wal: false,
        from: joiner,
        to: first,
        restart: true,
      },
      {
        name: "tls-san changed too, etcd data",
        role: "server",
        wal: true,
        from: joiner,
        to: other,
        restart: true,
      },
      {
        name: "an agent's server: URL",
        role: "agent",
        wal: true,
        from: joiner,
        to: joiner.replace(".11", ".12"),
        restart: true,
      },
    ] as const;
    for (const c of cases) {
      const service = c.role === "server" ? "k3s" : "k3s-agent";
      const host = fakeHost({ version: NEW, running: [service], nodes: servers });
      const config = path.join(host.dir, "config.yaml");
      const step = writeK3sFileScript(c.role, K3S_CONFIG_PATH).replaceAll(K3S_CONFIG_PATH, config);
      const r = await host.run(
        `printf %s ${shQuote(c.from)} >${shQuote(config)}
printf %s ${shQuote(c.to)} | sh -c ${shQuote(step)}
cmp -s ${shQuote(config)} - <<'EOF'
${c.to}EOF
[ $? = 0 ] && echo written
test -e ${restartMarkerPath(service)} && echo marker-left || true`,
        { isolated: true, setup: c.wal ? `mkdir -p ${WAL}` : "" },
      );
      expect(r.stdout, `${c.name}: ${r.stderr}`).to.contain("written");
      expect(r.stdout.includes("marker-left"), c.name).to.equal(c.restart);
      if (!c.restart) expect(r.stderr, c.name).to.contain(`${service} keeps running`);
    }
  });

  it("removes a secret config fragment the stack no longer has and restarts K3s in the install step; state files are 0600", async () => {
    const host = fakeHost({ version: NEW, processVersion: NEW, running: ["k3s"], nodes: servers });
    const fragment = path.join(host.dir, "90-k3s-ha-secret.yaml");
    const script = installScript().replaceAll(K3S_SECRET_CONFIG_PATH, fragment);
    const r = await host.run(
      `printf 'vpn-auth: x\\n' >${shQuote(fragment)}
${recorded(NEW)}
sh -c ${shQuote(script)} && echo installed
test -e ${shQuote(fragment)} || echo fragment-gone
stat -c '%a %n' ${installedStatePath("k3s")}`,
      { isolated: true },
    );
    expect(r.stdout, r.stderr).to.contain("installed");
    expect(r.stdout).to.contain("fragment-gone");
    expect(host.calls()).to.include("service k3s restart");
    expect(r.stdout).to.contain(`600 ${installedStatePath("k3s")}`);
    // With the fragment configured, the install step leaves it alone and restarts nothing.
    const keeper = fakeHost({
      version: NEW,
      processVersion: NEW,
      running: ["k3s"],
      nodes: servers,
    });
    const keptFragment = path.join(keeper.dir, "90-k3s-ha-secret.yaml");
    const kept = installK3sScript("server", NO_INSTALLER, [], {
      nodeName: "server-2",
      secretConfig: true,
    }).replaceAll(K3S_SECRET_CONFIG_PATH, keptFragment);
    const k = await keeper.run(
      `printf 'vpn-auth: x\\n' >${shQuote(keptFragment)}
${recorded(NEW)}
sh -c ${shQuote(kept)} && echo installed
test -e ${shQuote(keptFragment)} && echo fragment-kept`,
      { isolated: true },
    );
    expect(k.stdout, k.stderr).to.contain("installed");
    expect(k.stdout).to.contain("fragment-kept");
    expect(keeper.calls()).to.not.include("service k3s restart");
  });

  it("reloads a daemon whose reload failed once, on the next run, though its file is unchanged by then", async () => {
    const host = fakeHost({ running: ["haproxy"], reloadFailsOnce: true });
    const file = path.join(host.dir, "haproxy.cfg");
    const apply = withLibrary(`changed=$(write_file ${shQuote(file)} 0644 "" "mark_reload haproxy")
svc_apply haproxy "$changed"`);
    const twice = `printf 'new config\\n' | sh -c ${shQuote(apply)}; echo "first run: $?"
printf 'new config\\n' | sh -c ${shQuote(apply)}; echo "second run: $?"
ls /var/lib/k3s-ha`;
    const r = await host.run(twice, { isolated: true });
    expect(r.stdout).to.match(/first run: [1-9]/);
    expect(r.stdout).to.contain("second run: 0");
    expect(r.stderr).to.contain("haproxy: reloaded");
    expect(r.stdout, "the pending reload is cleared once done").to.not.contain(
      "reload-pending-haproxy",
    );
    expect(host.calls().filter((c) => c === "service haproxy reload")).to.have.length(2);
  });
});
