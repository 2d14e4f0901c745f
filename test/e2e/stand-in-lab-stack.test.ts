/**
 * The day-2 edits labStack expresses pass the program's own validation and say what they should.
 * No lab needed: a fake lab supplies host keys.
 */
import { expect } from "chai";
import { createHash } from "crypto";
import { validateClusterConfig } from "../../components/cluster/validate";
import { rawConfigFrom } from "../../components/cluster/stackConfig";
import { HOST_ADDRESSES, ROTATE_VERSION } from "../../harness/e2e/constants";
import { E2eLab } from "../../harness/e2e/lab";
import { LabStack, labStack, stackNodes } from "../../harness/e2e/stack";

/** A well-formed ed25519 public key per host name (not a real host's). */
function fakeHostKey(name: string): string {
  const len = (n: number) => Buffer.from([0, 0, 0, n]);
  const type = Buffer.from("ssh-ed25519");
  const blob = Buffer.concat([
    len(type.length),
    type,
    len(32),
    createHash("sha256").update(name).digest(),
  ]);
  return `ssh-ed25519 ${blob.toString("base64")}`;
}

const fakeLab = {
  host: (name: string) => ({ hostKey: fakeHostKey(name) }),
  clientKeyPath: "/keys/first",
  secondClientKeyPath: "/keys/second",
} as unknown as E2eLab;

function validate(stack: LabStack) {
  const values = Object.fromEntries(
    Object.entries(stack.config).map(([k, v]) => [
      k,
      typeof v === "string" ? v : JSON.stringify(v),
    ]),
  );
  return validateClusterConfig(rawConfigFrom(values));
}

describe("e2e stand-in lab: labStack day-2 edits", function () {
  it("adds server-4 and agent-4, removes others, pins their host keys", function () {
    const stack = labStack(fakeLab, {
      variant: "haproxy",
      servers: ["server-1", "server-2", "server-4"],
      agents: ["agent-1", "agent-3", "agent-4"],
    });
    expect(stackNodes(stack)).to.deep.equal({
      servers: ["server-1", "server-2", "server-4"],
      agents: ["agent-1", "agent-3", "agent-4"],
    });
    const servers = stack.config["k3s-ha:servers"] as { address: string; hostKey: string }[];
    expect(servers[2]).to.deep.equal({
      name: "server-4",
      address: HOST_ADDRESSES["server-4"],
      hostKey: fakeHostKey("server-4"),
    });
    const config = validate(stack);
    expect(config.servers.map((s) => s.name)).to.deep.equal(["server-1", "server-2", "server-4"]);
  });

  it("sets version, tokens, labels, taints, extra args and the second key", function () {
    const stack = labStack(fakeLab, {
      variant: "nginx",
      k3sVersion: ROTATE_VERSION,
      token: "t0ken-one",
      agentToken: "agent-t0ken",
      labels: { "server-1": {}, "agent-1": { tier: "edge" } },
      taints: { "agent-2": [], "agent-3": ["gpu=yes:NoSchedule"] },
      extraServerArgs: ["--disable=traefik", "--disable=servicelb"],
      sshPrivateKeyPath: fakeLab.secondClientKeyPath,
    });
    expect(stack.secretKeys).to.deep.equal(["k3s-ha:token", "k3s-ha:agentToken"]);
    const config = validate(stack);
    expect(config.k3s.version).to.equal(ROTATE_VERSION);
    expect(config.k3s.extraServerArgs).to.deep.equal(["--disable=traefik", "--disable=servicelb"]);
    const byName = Object.fromEntries(
      [...config.servers, ...config.agents].map((n) => [n.name, n]),
    );
    expect(byName["server-1"].labels, "labels removed").to.deep.equal({});
    expect(byName["server-2"].labels, "the example's labels kept").to.deep.equal({
      "topology.kubernetes.io/zone": "zone-b",
    });
    expect(byName["agent-1"].labels).to.deep.equal({ tier: "edge" });
    expect(byName["agent-2"].taints, "taints removed").to.deep.equal([]);
    expect(byName["agent-3"].taints).to.deep.equal(["gpu=yes:NoSchedule"]);
    expect(stack.config["k3s-ha:sshPrivateKeyPath"]).to.equal("/keys/second");
  });

  it("switches lbKind haproxy → nginx (lb-1 only, no VIP) and back", function () {
    const nginx = labStack(fakeLab, { variant: "haproxy", lbKind: "nginx" });
    expect(nginx.config["k3s-ha:vip"]).to.equal(undefined);
    const toNginx = validate(nginx);
    expect(toNginx.loadBalancer.kind).to.equal("nginx");
    expect(
      toNginx.agents.map((a) => a.name),
      "the dev stack's hosts stay",
    ).to.deep.equal(["agent-1", "agent-2", "agent-3"]);
    const haproxy = labStack(fakeLab, { variant: "nginx", lbKind: "haproxy" });
    const back = validate(haproxy);
    expect(back.loadBalancer.kind).to.equal("haproxy");
    expect(back.servers[0].labels, "the staging stack's labels stay").to.deep.equal({
      "topology.kubernetes.io/zone": "zone-a",
    });
  });
});
