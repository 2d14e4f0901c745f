/** End-to-end checks of the join credentials (issue 11): CA-pinned tokens, none on agents. */
import { expect } from "chai";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { AGENTS, SERVERS } from "./constants";
import { E2eLab } from "./lab";
import { MANAGED_PATHS, k3sConfig } from "./inspect";

const TOKEN_FILE = "/etc/rancher/k3s/cluster-token";

/**
 * Join credentials (issue 11): every joiner's K3s reads its token from the file its config names,
 * and that token pins server-1's CA (K10 + the sha256 of the server CA that /cacerts serves; K3s
 * refuses another CA before sending the credential, pkg/clientaccess/token.go, as the stand-ins
 * do); no agent host holds the server token anywhere the program, the installer or K3s write, nor
 * in /tmp, /root or /run: agents hold the agent token only.
 */
export function expectCaPinnedJoins(lab: E2eLab): void {
  const server1 = lab.host("server-1");
  const ca = fs.readFileSync(server1.hostPath("/var/lib/rancher/k3s/server/tls/server-ca.crt"));
  const caHash = createHash("sha256").update(ca).digest("hex");
  const full = fs
    .readFileSync(server1.hostPath("/var/lib/rancher/k3s/server/token"), "utf8")
    .trim();
  expect(full.startsWith(`K10${caHash}::server:`), "server-1's token pins its CA").to.equal(true);
  const serverPassword = full.split("::server:")[1];
  for (const name of SERVERS.filter((s) => s !== "server-1")) {
    const host = lab.host(name);
    expect(k3sConfig(host)["token-file"], `${name}'s K3s reads its token from`).to.equal(
      TOKEN_FILE,
    );
    const token = fs.readFileSync(host.hostPath(TOKEN_FILE), "utf8").trim();
    expect(token, `${name} joins with the full server token`).to.equal(full);
  }
  for (const name of AGENTS) {
    const host = lab.host(name);
    expect(k3sConfig(host)["token-file"], `${name}'s K3s reads its token from`).to.equal(
      TOKEN_FILE,
    );
    const token = fs.readFileSync(host.hostPath(TOKEN_FILE), "utf8").trim();
    const m = new RegExp(`^K10${caHash}::node:(.+)$`).exec(token);
    expect(m, `${name}'s token is K10<server-1's CA hash>::node:<agent password>`).to.not.equal(
      null,
    );
    expect(m![1], `${name}'s password`).to.not.equal(serverPassword);
    const holding: string[] = [];
    const walk = (p: string) => {
      const file = host.hostPath(p);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(file);
      } catch {
        return;
      }
      if (st.isDirectory()) {
        for (const entry of fs.readdirSync(file)) walk(path.posix.join(p, entry));
      } else if (st.isFile() && st.size < 8 * 1024 * 1024) {
        if (fs.readFileSync(file).includes(serverPassword)) holding.push(p);
      }
    };
    for (const p of [...MANAGED_PATHS, "/tmp", "/root", "/run"]) walk(p);
    expect(holding, `files on ${name} holding the server token`).to.deep.equal([]);
  }
}
