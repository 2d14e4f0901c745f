/**
 * The install script is downloaded with curl following redirects to https only: an https URL must
 * not fall back to plain http on a redirect, where anyone on the path could swap the script that
 * then runs as root. Run against a local HTTP server on loopback.
 */
import { expect } from "chai";
import * as http from "http";
import { installK3sScript } from "../../components/k3s/scripts";
import { FakeHost } from "./fakeHost";
import { serveOnLoopback } from "./loopbackServer";

const INSTALLER = `#!/bin/sh
echo "installer ran: $INSTALL_K3S_VERSION" >&2
printf '%s' "$INSTALL_K3S_VERSION" >"$FAKE_K3S_STATE/version"
`;

describe("downloading the install script", function () {
  this.timeout(60_000);
  let server: http.Server;
  let base: string;
  const hosts: FakeHost[] = [];

  before(async () => {
    ({ server, base } = await serveOnLoopback((req, res) => {
      if (req.url === "/redirect.sh") {
        res.writeHead(302, { location: `${base}/install.sh` });
        res.end();
      } else if (req.url === "/install.sh") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(INSTALLER);
      } else {
        res.writeHead(404);
        res.end();
      }
    }));
  });
  after(() => {
    server.close();
    hosts.splice(0).forEach((h) => h.remove());
  });

  const install = (url: string) =>
    installK3sScript(
      "agent",
      {
        version: "v1.27.7+k3s1",
        installScriptUrl: url,
        extraServerArgs: [],
        extraAgentArgs: [],
        extraTlsSans: [],
      },
      [],
      { nodeName: "agent-1" },
    ).replace("svc_restart_bounded k3s-agent 300", "svc_restart_bounded k3s-agent 2");

  it("runs the script it fetched directly", async () => {
    const host = new FakeHost({});
    hosts.push(host);
    const r = await host.run(install(`${base}/install.sh`), { isolated: true });
    expect(r.stderr).to.contain("installer ran: v1.27.7+k3s1");
  });

  it("refuses a redirect to plain http, and runs nothing", async () => {
    const host = new FakeHost({});
    hosts.push(host);
    const r = await host.run(install(`${base}/redirect.sh`), { isolated: true });
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.not.contain("installer ran");
  });
});
