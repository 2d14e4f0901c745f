/**
 * The join-credential scripts on a fake host: server-1 generates the agent token once and keeps it
 * (0600, stable across runs, the restart marker only where K3s is installed), and the CA hash is
 * read from the secure token K3s wrote, refusing anything else without printing the password.
 * /etc/rancher/k3s/agent-token is redirected to a temp dir; /var/lib is a private tmpfs.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { K3S_AGENT_TOKEN_PATH, K3S_GENERATED_TOKEN_PATH } from "../../components/k3s/configYaml";
import { generateAgentTokenScript, readCaHashScript } from "../../components/k3s/scripts";
import { restartMarkerPath } from "../../components/k3s/scripts";
import { shellcheck } from "../../harness/program/scripts";
import { FakeHost } from "./fakeHost";

const MARKER = restartMarkerPath("k3s");

describe("join credentials on server-1", function () {
  this.timeout(60_000);
  const hosts: FakeHost[] = [];
  after(() => hosts.forEach((h) => h.remove()));

  it("both scripts pass shellcheck", () => {
    for (const text of [generateAgentTokenScript(), readCaHashScript()]) {
      const r = shellcheck(text);
      expect(r.status, r.output).to.equal(0);
    }
  });

  it("generates a random agent token once, 0600, and prints the same one on every later run", async () => {
    const host = new FakeHost({});
    hosts.push(host);
    const file = path.join(host.dir, "agent-token");
    const script = generateAgentTokenScript().replaceAll(K3S_AGENT_TOKEN_PATH, file);
    const first = await host.run(`${script}\ntest -e ${MARKER} && echo marker || true`, {
      isolated: true,
    });
    expect(first.status, first.stderr).to.equal(0);
    const [token, ...rest] = first.stdout.trim().split("\n");
    expect(token).to.match(/^[0-9a-f]{64}$/);
    // No K3s on the host yet: the install starts it with the file, no restart marker.
    expect(rest).to.deep.equal([]);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(first.stderr).to.contain("generated an agent token");
    expect(first.stderr).to.not.contain(token);

    const again = await host.run(script, { isolated: true });
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stdout.trim()).to.equal(token);
    expect(again.stderr).to.not.contain("generated");
  });

  it("on a deployed server (K3s installed), a new agent token leaves the restart marker", async () => {
    const host = new FakeHost({ version: "v1.27.3+k3s1", running: ["k3s"] });
    hosts.push(host);
    const file = path.join(host.dir, "agent-token");
    const script = generateAgentTokenScript().replaceAll(K3S_AGENT_TOKEN_PATH, file);
    const r = await host.run(`${script}\ntest -e ${MARKER} && echo marker`, { isolated: true });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim().split("\n")[1]).to.equal("marker");
  });

  it("reads the CA hash from K3s's secure server token, and refuses a short one", async () => {
    const host = new FakeHost({});
    hosts.push(host);
    const hash = "0a1b".repeat(16);
    const write = (text: string) =>
      `mkdir -p ${path.dirname(K3S_GENERATED_TOKEN_PATH)}; printf '%s\\n' '${text}' >${K3S_GENERATED_TOKEN_PATH}`;
    const good = await host.run(readCaHashScript(), {
      isolated: true,
      setup: write(`K10${hash}::server:pw-secret-1`),
    });
    expect(good.status, good.stderr).to.equal(0);
    expect(good.stdout).to.equal(`${hash}\n`);

    for (const bad of ["pw-secret-1", `K10${hash.slice(2)}::server:pw-secret-1`]) {
      const r = await host.run(readCaHashScript(), { isolated: true, setup: write(bad) });
      expect(r.status, bad).to.equal(1);
      expect(r.stdout).to.equal("");
      expect(r.stderr).to.not.contain("pw-secret-1");
    }
  });
});
