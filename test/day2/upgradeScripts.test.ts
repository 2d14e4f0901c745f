/**
 * The upgrade and restart scripts run against a fake host: version order, downgrade refusal, the
 * etcd check before a server restarts, drain and uncordon, the pre-upgrade snapshot.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { K3sConfig } from "../../components/config/types";
import {
  installK3sScript,
  installedStatePath,
  writeK3sFileScript,
} from "../../components/k3s/scripts";
import { restartMarkerPath } from "../../components/k3s/scripts";
import { shQuote, withLibrary } from "../../components/host/script";
import {
  drainAgentForUpgradeScript,
  preUpgradeSnapshotName,
  preUpgradeSnapshotScript,
} from "../../components/k3s/upgradeScripts";
import { runSh, shellcheck } from "../../harness/program/scripts";
import { FakeHost, FakeHostState, FakeNode } from "./fakeHost";

const OLD = "v1.27.3+k3s1";
const NEW = "v1.28.5+k3s1";

const hosts: FakeHost[] = [];
function fakeHost(state: FakeHostState): FakeHost {
  const host = new FakeHost({ self: "server-2", ...state });
  hosts.push(host);
  return host;
}
const removeHosts = () => hosts.splice(0).forEach((h) => h.remove());

/**
 * An installer stand-in: records its environment and "installs" by switching the fake version.
 * Like install.sh it starts the service only without INSTALL_K3S_SKIP_START, and then only when
 * what it installed changed (service_enable_and_start).
 */
function fakeInstaller(host: FakeHost): string {
  const file = path.join(host.dir, "install.sh");
  fs.writeFileSync(
    file,
    `#!/bin/sh
D=$FAKE_K3S_STATE
echo "installer version=$INSTALL_K3S_VERSION exec=$INSTALL_K3S_EXEC skip_start=\${INSTALL_K3S_SKIP_START:-}" >>"$D/calls"
before=$(cat "$D/version" 2>/dev/null || true)
printf '%s' "$INSTALL_K3S_VERSION" >"$D/version"
if [ "\${INSTALL_K3S_SKIP_START:-}" != true ] && [ "$before" != "$INSTALL_K3S_VERSION" ]; then
  touch "$D/running-k3s"; cp "$D/version" "$D/process-version"
fi
`,
  );
  return `file://${file}`;
}

function k3sConfig(version: string, installScriptUrl = "https://get.k3s.io"): K3sConfig {
  return { version, installScriptUrl, extraServerArgs: [], extraAgentArgs: [], extraTlsSans: [] };
}

const servers = (notReady: string[] = []): FakeNode[] =>
  ["server-1", "server-2", "server-3"].map((name) => ({
    name,
    ready: !notReady.includes(name),
    etcd: true,
  }));

describe("K3s version order in the host scripts", () => {
  const older = (a: string, b: string) =>
    runSh(withLibrary(`version_older ${shQuote(a)} ${shQuote(b)}`)).status === 0;

  it("orders patch releases numerically, release candidates before their release", () => {
    const ascending = [
      "v1.26.15+k3s1",
      "v1.27.3+k3s1",
      "v1.27.3+k3s2",
      "v1.27.10+k3s1",
      "v1.30.0-rc1+k3s1",
      "v1.30.0-rc2+k3s1",
      "v1.30.0+k3s1",
    ];
    for (let i = 0; i < ascending.length; i++) {
      for (let j = 0; j < ascending.length; j++) {
        const [a, b] = [ascending[i], ascending[j]];
        expect(older(a, b), `${a} < ${b}`).to.equal(i < j);
      }
    }
  });
});

describe("the server install step on a running server", function () {
  this.timeout(60_000);
  afterEach(removeHosts);
  const install = (host: FakeHost, version: string, drainTimeoutSeconds?: number) =>
    installK3sScript("server", k3sConfig(version, fakeInstaller(host)), [], {
      nodeName: "server-2",
      ...(drainTimeoutSeconds !== undefined && { drainTimeoutSeconds }),
    });

  it("refuses a downgrade, naming the node, before it drains, restarts or downloads anything", async () => {
    const host = fakeHost({ version: NEW, running: ["k3s"], nodes: servers() });
    const r = await host.run(install(host, OLD, 60), { isolated: true });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain(`refusing to downgrade K3s from ${NEW} to ${OLD} on server-2`);
    expect(host.calls()).to.deep.equal(["k3s --version"]);
  });

  it("upgrades after checking the other etcd members, drained, and uncordons once Ready", async () => {
    const host = fakeHost({ version: OLD, running: ["k3s"], nodes: servers() });
    const r = await host.run(install(host, NEW, 45), { isolated: true });
    expect(r.status, r.stderr).to.equal(0);
    const calls = host.calls();
    const at = (call: string) => {
      const i = calls.indexOf(call);
      expect(i, `${call} in\n${calls.join("\n")}`).to.be.at.least(0);
      return i;
    };
    const etcdCheck = calls.findIndex((c) => c.startsWith("k3s kubectl get nodes -l"));
    const drain = at(
      "k3s kubectl drain server-2 --ignore-daemonsets --delete-emptydir-data --timeout=45s",
    );
    const installer = at(`installer version=${NEW} exec=server skip_start=true`);
    const etcdReady = at("k3s kubectl get --raw=/readyz/etcd");
    const uncordon = at("k3s kubectl uncordon server-2");
    expect(etcdCheck).to.be.at.least(0);
    expect([etcdCheck, drain, installer, etcdReady, uncordon]).to.deep.equal(
      [etcdCheck, drain, installer, etcdReady, uncordon].sort((a, b) => a - b),
    );
  });

  it("refuses to restart while another etcd member is not Ready (quorum)", async () => {
    const host = fakeHost({ version: OLD, running: ["k3s"], nodes: servers(["server-3"]) });
    const r = await host.run(install(host, NEW), { isolated: true });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain(
      "refusing to restart K3s on server-2: etcd member(s) server-3 not Ready",
    );
    expect(host.calls().some((c) => c.startsWith("installer"))).to.equal(false);
  });

  it("restarts for a changed config only through the marker the file step leaves, then clears it", async () => {
    const host = fakeHost({ version: NEW, running: ["k3s"], nodes: servers() });
    const marker = restartMarkerPath("k3s");
    // The file step, isolated too (it writes /etc/rancher/k3s), then the install step.
    const write = writeK3sFileScript("server", path.join(host.dir, "config.yaml"));
    const both = `export CONFIG=${shQuote(path.join(host.dir, "config.yaml"))}
echo 'node-name: server-2' | sh -c ${shQuote(write)}
test -e ${marker}
sh -c ${shQuote(install(host, NEW))}
test ! -e ${marker}`;
    const r = await host.run(both, { isolated: true });
    expect(r.status, r.stderr).to.equal(0);
    expect(host.calls().filter((c) => /restart/.test(c))).to.have.length(1);
    expect(host.calls().some((c) => c.startsWith("installer"))).to.equal(false);

    // Unchanged content: no marker, so the install step leaves K3s alone.
    const again = await host.run(
      `export CONFIG=${shQuote(path.join(host.dir, "config.yaml"))}
echo 'node-name: server-2' | sh -c ${shQuote(write)}
test ! -e ${marker}
sh -c ${shQuote(install(host, NEW))}`,
      { isolated: true },
    );
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stderr).to.contain("already installed and running");
    expect(host.calls().filter((c) => /restart/.test(c))).to.have.length(1);
  });

  it("refuses to skip a minor version on a server", async () => {
    const host = fakeHost({ version: "v1.26.15+k3s1", running: ["k3s"], nodes: servers() });
    const r = await host.run(install(host, NEW), { isolated: true });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain(
      `refusing to upgrade K3s from v1.26.15+k3s1 to ${NEW} on server-2: Kubernetes upgrades one minor version at a time; go to v1.27 first`,
    );
    expect(host.calls()).to.deep.equal(["k3s --version"]);
  });

  it("re-runs the installer, without a drain, when only the extra arguments changed", async () => {
    const host = fakeHost({ version: NEW, running: ["k3s"], nodes: servers() });
    const state = installedStatePath("k3s");
    const withArgs = installK3sScript(
      "server",
      k3sConfig(NEW, fakeInstaller(host)),
      ["--disable=traefik"],
      { nodeName: "server-2", drainTimeoutSeconds: 45 },
    );
    const r = await host.run(`${withArgs}\ncat ${state}`, {
      isolated: true,
      setup: `mkdir -p /var/lib/k3s-ha; echo '${NEW} server' >${state}`,
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(
      "re-running the K3s installer on server-2 for its changed arguments",
    );
    expect(host.calls()).to.include(
      `installer version=${NEW} exec=server --disable=traefik skip_start=true`,
    );
    expect(host.calls().some((c) => c.includes("drain "))).to.equal(false);
    expect(r.stdout.trim()).to.equal(`${NEW} server --disable=traefik`);
  });

  it("adopts a host installed before the record existed without re-installing", async () => {
    const host = fakeHost({ version: NEW, running: ["k3s"], nodes: servers() });
    const r = await host.run(`${install(host, NEW)}\ncat ${installedStatePath("k3s")}`, {
      isolated: true,
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(`${NEW} server`);
    expect(host.calls().some((c) => c.startsWith("installer"))).to.equal(false);
  });

  it("passes shellcheck with and without the drain", () => {
    const host = fakeHost({});
    for (const drain of [undefined, 60]) {
      expect(shellcheck(install(host, NEW, drain)).output).to.equal("");
    }
  });
});

describe("the pre-upgrade etcd snapshot on server-1", function () {
  this.timeout(30_000);
  afterEach(removeHosts);
  const text = preUpgradeSnapshotScript(NEW, "server-1");

  it("names the snapshot after the version, in characters K3s accepts", () => {
    expect(preUpgradeSnapshotName(NEW)).to.equal("k3s-ha-pre-v1.28.5-k3s1");
    expect(shellcheck(text).output).to.equal("");
  });

  it("takes the snapshot and prints its name when server-1 runs an older K3s", async () => {
    const host = fakeHost({ version: OLD, running: ["k3s"] });
    const r = await host.run(text);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal("k3s-ha-pre-v1.28.5-k3s1");
    expect(host.calls()).to.include("k3s etcd-snapshot save --name k3s-ha-pre-v1.28.5-k3s1");
    expect(host.calls()).to.include("k3s kubectl get --raw=/readyz/etcd");
  });

  it("does nothing on a new cluster or when server-1 already runs the version", async () => {
    const fresh = await fakeHost({}).run(text);
    expect([fresh.status, fresh.stdout]).to.deep.equal([0, ""]);
    expect(fresh.stderr).to.contain("a new cluster");
    const host = fakeHost({ version: NEW, running: ["k3s"] });
    const same = await host.run(text);
    expect([same.status, same.stdout]).to.deep.equal([0, ""]);
    expect(host.calls().filter((c) => c.includes("etcd-snapshot"))).to.deep.equal([]);
  });

  it("refuses to skip a minor version before any server is touched", async () => {
    const host = fakeHost({ version: "v1.26.15+k3s1", running: ["k3s"] });
    const r = await host.run(text);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain(
      "Kubernetes upgrades one minor version at a time; go to v1.27 first",
    );
    expect(host.calls().filter((c) => c.includes("etcd-snapshot"))).to.deep.equal([]);
  });

  it("refuses a downgrade before any server is touched", async () => {
    const host = fakeHost({ version: NEW, running: ["k3s"] });
    const r = await host.run(preUpgradeSnapshotScript(OLD, "server-1"));
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain(`refusing to downgrade K3s from ${NEW} to ${OLD} on server-1`);
    expect(host.calls().filter((c) => c.includes("etcd-snapshot"))).to.deep.equal([]);
  });
});

describe("draining an agent before its upgrade (runs on server-1)", function () {
  this.timeout(30_000);
  afterEach(removeHosts);
  const text = drainAgentForUpgradeScript(NEW, "agent-1", 90);
  const agent = (kubeletVersion: string): FakeHostState => ({
    version: NEW,
    running: ["k3s"],
    nodes: [{ name: "agent-1", ready: true, etcd: false, kubeletVersion }],
  });

  it("cordons and drains with a bounded timeout, and marks the node for the uncordon", async () => {
    const host = fakeHost(agent(OLD));
    const r = await host.run(text);
    expect(r.status, r.stderr).to.equal(0);
    expect(host.calls()).to.include(
      `k3s kubectl annotate --overwrite node agent-1 k3s-ha/drained-for-upgrade=${NEW}`,
    );
    expect(host.calls()).to.include(
      "k3s kubectl drain agent-1 --ignore-daemonsets --delete-emptydir-data --timeout=90s",
    );
    expect(shellcheck(text).output).to.equal("");
  });

  it("leaves a node alone that already runs the version or is not registered", async () => {
    const host = fakeHost(agent(NEW));
    expect((await host.run(text)).status).to.equal(0);
    expect(host.calls().some((c) => c.includes("drain "))).to.equal(false);
    const r = await fakeHost({ version: NEW, running: ["k3s"], nodes: [] }).run(text);
    expect(r.status).to.equal(0);
    expect(r.stderr).to.contain("not registered yet");
  });

  it("uncordons again and stops the upgrade when the drain does not finish in time", async () => {
    const host = fakeHost({ ...agent(OLD), drainFails: true });
    const r = await host.run(text);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain("did not finish within 90s");
    expect(host.calls()).to.include("k3s kubectl uncordon agent-1");
    expect(host.calls()).to.include(
      "k3s kubectl annotate node agent-1 k3s-ha/drained-for-upgrade-",
    );
  });

  it("refuses to drain for a downgrade", async () => {
    const host = fakeHost(agent("v1.29.0+k3s1"));
    const r = await host.run(text);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain(`refusing to downgrade K3s from v1.29.0+k3s1 to ${NEW} on agent-1`);
    expect(host.calls().some((c) => c.includes("drain "))).to.equal(false);
  });
});
