import { expect } from "chai";
import { readStackHosts, withHostKeys } from "../../tools/hostkeys-stack";
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
});
