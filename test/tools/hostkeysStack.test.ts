import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackHosts, withHostKeys } from "../../tools/hostkeys-stack";
import { pinnedKey } from "../../tools/hostkeys-plan";
import { authorizedForm } from "../../tools/hostkeys-keys";
import { EXIT_REFUSED, runHostkeys } from "../../tools/hostkeys";
import { fakeHostKey } from "../../harness/program/stacks";

/** A stack file written without the k3s-ha: prefix, which the Pulumi CLI reads as the project's keys. */
const UNPREFIXED = `config:
  k3sVersion: v1.27.3+k3s1
  sshUser: ubuntu
  sshPort: 2222
  servers:
    - name: server-1
      address: 10.10.10.50
  k3s-ha:agents:
    - name: agent-1
      address: 10.10.10.101
`;

describe("hostkeys: the stack file's hosts", () => {
  it("reads keys without the k3s-ha: prefix as the project's, as pulumi does", () => {
    const stack = readStackHosts(UNPREFIXED);
    expect(stack.errors).to.deep.equal([]);
    expect(stack.user).to.equal("ubuntu");
    expect(stack.hosts.map((h) => [h.name, h.address, h.port, h.field])).to.deep.equal([
      ["server-1", "10.10.10.50", 2222, "servers[0].hostKey"],
      ["agent-1", "10.10.10.101", 2222, "agents[0].hostKey"],
    ]);
  });

  it("pins a host listed under an unprefixed key where it is written", () => {
    const stack = readStackHosts(UNPREFIXED);
    const key = fakeHostKey("server-1");
    const edited = withHostKeys(UNPREFIXED, [{ host: stack.hosts[0], key }]);
    expect(edited).to.equal(
      UNPREFIXED.replace(
        "      address: 10.10.10.50\n",
        `      address: 10.10.10.50\n      hostKey: ${key}\n`,
      ),
    );
  });

  it("refuses a key written both with and without the prefix", () => {
    const stack = readStackHosts(`${UNPREFIXED}  k3s-ha:sshUser: root\n`);
    expect(stack.errors).to.deep.equal([
      "k3s-ha:sshUser and sshUser: the same key set twice; keep one",
    ]);
  });

  it("reads a pinned known_hosts line as the program does: taken for its own host, refused for another", () => {
    const key = fakeHostKey("server-1");
    const pinnedAs = (line: string) => {
      const text = UNPREFIXED.replace(
        "      address: 10.10.10.50\n",
        `      address: 10.10.10.50\n      hostKey: "${line}"\n`,
      );
      return pinnedKey(readStackHosts(text).hosts[0]);
    };
    const taken = pinnedAs(`[10.10.10.50]:2222 ${key} root@server-1`);
    expect(typeof taken === "object" && authorizedForm(taken)).to.equal(key);
    expect(pinnedAs(`10.10.10.50 ${key}`)).to.equal(
      "servers[0].hostKey is a known_hosts line for 10.10.10.50, not [10.10.10.50]:2222: pin [10.10.10.50]:2222's own key (npm run hostkeys, or the line `ssh-keygen -F [10.10.10.50]:2222` prints), never another host's",
    );
  });

  it("names a missing or malformed stack file in one line, as preview:offline does", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-hostkeys-file-"));
    try {
      const file = path.join(dir, "Pulumi.prod.yaml");
      const run = async () => {
        const out: string[] = [];
        const code = await runHostkeys(["--file", file], { out: (t) => out.push(t), env: {} });
        return { code, out };
      };
      expect(await run()).to.deep.equal({
        code: EXIT_REFUSED,
        out: [
          `${file}: no such stack file; stacks here: none (create one by copying Pulumi.dev.yaml)`,
        ],
      });
      fs.writeFileSync(file, "config:\n  k3s-ha:sshUser: a\n  k3s-ha:sshUser: b\n");
      expect(await run()).to.deep.equal({
        code: EXIT_REFUSED,
        out: [`${file}:3:3: not valid YAML: Map keys must be unique`],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
