/**
 * The install step with the stack's proxy, release mirror and registries, on a fake host with an
 * installer served on loopback that records the environment it ran with. The real installer
 * copies the proxy variables of its environment into K3s's env file (k3s-io/k3s install.sh
 * create_env_file) and downloads from GITHUB_URL (download_hash, download_binary), so what it ran
 * with is what K3s gets.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import type { K3sConfig } from "../../components/config/types";
import { shQuote } from "../../components/host/script";
import { ProxyEnvironment } from "../../components/k3s/proxy";
import { K3S_REGISTRIES_PATH } from "../../components/k3s/registries";
import { InstallOptions, installK3sScript, installedStatePath } from "../../components/k3s/scripts";
import { FakeHost, FakeNode } from "./fakeHost";
import { serveOnLoopback } from "./loopbackServer";

const VERSION = "v1.27.7+k3s1";
const INSTALLER = `#!/bin/sh
echo "installer ran" >&2
env | grep -Ei '^(http_proxy|https_proxy|no_proxy|GITHUB_URL)=' | sort >"$FAKE_K3S_STATE/installer-env"
printf '%s' "$INSTALL_K3S_VERSION" >"$FAKE_K3S_STATE/version"
`;
const PROXY: ProxyEnvironment = {
  HTTP_PROXY: "http://proxy.example.com:3128",
  HTTPS_PROXY: "http://proxy.example.com:3128",
  NO_PROXY: "localhost,127.0.0.1,.svc,10.42.0.0/16",
};
const servers: FakeNode[] = ["server-1", "server-2", "server-3"].map((name) => ({
  name,
  ready: true,
  etcd: true,
}));

describe("install step: proxy, release mirror and registries", function () {
  this.timeout(60_000);
  let server: http.Server;
  let base: string;
  const hosts: FakeHost[] = [];

  before(async () => {
    ({ server, base } = await serveOnLoopback((req, res) => {
      res.writeHead(req.url === "/install.sh" ? 200 : 404);
      res.end(req.url === "/install.sh" ? INSTALLER : "");
    }));
  });
  after(() => {
    server.close();
    hosts.splice(0).forEach((h) => h.remove());
  });

  const k3s = (more: Partial<K3sConfig> = {}): K3sConfig => ({
    version: VERSION,
    installScriptUrl: `${base}/install.sh`,
    extraServerArgs: [],
    extraAgentArgs: [],
    extraTlsSans: [],
    ...more,
  });
  const script = (host: FakeHost, options: Partial<InstallOptions>, more?: Partial<K3sConfig>) =>
    installK3sScript("server", k3s(more), [], { nodeName: "server-2", ...options }).replaceAll(
      K3S_REGISTRIES_PATH,
      path.join(host.dir, "registries.yaml"),
    );
  const running = () => {
    const host = new FakeHost({
      self: "server-2",
      version: VERSION,
      processVersion: VERSION,
      running: ["k3s"],
      nodes: servers,
    });
    hosts.push(host);
    return host;
  };
  /** Runs the steps one after the other on one host (its state dir survives between them). */
  const runAll = (host: FakeHost, steps: string[], setup = "") =>
    host.run(
      steps
        .map(
          (s) =>
            `sh -c ${shQuote(s)} && echo step-ok && cat "$FAKE_K3S_STATE/installer-env" 2>/dev/null; rm -f "$FAKE_K3S_STATE/installer-env"; echo ---`,
        )
        .join("\n"),
      {
        isolated: true,
        setup: `mkdir -p /var/lib/k3s-ha; echo '${VERSION} server' >${installedStatePath("k3s")}\n${setup}`,
      },
    );

  it("runs the installer again with exactly the stack's proxy when it is set, changed or removed, and restarts K3s; else runs nothing", async () => {
    const host = running();
    const changed = { ...PROXY, NO_PROXY: `${PROXY.NO_PROXY},10.10.10.0/24` };
    const r = await runAll(
      host,
      [
        script(host, { proxy: PROXY }),
        script(host, { proxy: PROXY }),
        script(host, { proxy: changed }),
        script(host, {}),
        script(host, {}),
      ],
      // A proxy the host's own environment has (pam_env): the stack's replaces it for the installer.
      "export https_proxy=http://inherited.example.com:8080",
    );
    const runs = r.stdout.split("---\n");
    expect(
      runs.slice(0, 5).every((x) => x.includes("step-ok")),
      r.stderr,
    ).to.equal(true);
    expect(runs[0]).to.contain(`HTTPS_PROXY=${PROXY.HTTPS_PROXY}`);
    expect(runs[0]).to.contain(`NO_PROXY=${PROXY.NO_PROXY}`);
    expect(runs[0]).to.contain(`no_proxy=${PROXY.NO_PROXY}`);
    expect(runs[0]).to.not.contain("inherited");
    expect(runs[1], "the same proxy again: the installer does not run").to.not.contain("PROXY");
    expect(runs[2]).to.contain("NO_PROXY=localhost,127.0.0.1,.svc,10.42.0.0/16,10.10.10.0/24");
    expect(runs[3], "the proxy removed: the installer runs with none").to.not.match(/proxy=/i);
    expect(r.stderr).to.contain(
      "re-running the K3s installer on server-2 for its changed proxy settings",
    );
    expect(r.stderr.match(/installer ran/g), "set, changed, removed").to.have.length(3);
    expect(host.calls().filter((c) => c === "service k3s restart")).to.have.length(3);
  });

  it("passes k3sReleasesUrl to the installer as GITHUB_URL, and no proxy when the stack has none", async () => {
    const host = new FakeHost({});
    hosts.push(host);
    const r = await host.run(
      `${script(host, {}, { releasesUrl: "https://artifacts.example.com/k3s" }).replace(
        "svc_restart_bounded k3s 300",
        "svc_restart_bounded k3s 2",
      )}`,
      { isolated: true },
    );
    expect(r.stderr).to.contain("installer ran");
    const env = fs.readFileSync(path.join(host.dir, "state", "installer-env"), "utf8");
    expect(env).to.equal("GITHUB_URL=https://artifacts.example.com/k3s\n");
  });

  it("removes a registries.yaml the program wrote when the stack drops registries, restarting K3s; leaves one written by hand", async () => {
    for (const [header, kept] of [
      ["# Managed by k3s-ha (Pulumi). Local edits are overwritten.", false],
      ["# written by hand", true],
    ] as const) {
      const host = running();
      const file = path.join(host.dir, "registries.yaml");
      fs.writeFileSync(file, `${header}\nmirrors: {}\n`);
      const r = await runAll(host, [script(host, {})]);
      expect(r.stdout, r.stderr).to.contain("step-ok");
      expect(fs.existsSync(file), header).to.equal(kept);
      expect(host.calls().includes("service k3s restart"), header).to.equal(!kept);
    }
  });
});
