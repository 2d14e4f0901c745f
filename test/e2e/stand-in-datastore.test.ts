/**
 * The stand-in datastore's day-2 behaviours (tokens and rotation, agent token, node registration
 * with labels and taints, etcd membership, heartbeats), without the lab.
 */
import { expect } from "chai";
import {
  Datastore,
  DatastoreError,
  ETCD_NODE_NAME_ANNOTATION,
  ETCD_REMOVED_ANNOTATION,
  ETCD_REMOVE_ANNOTATION,
  NODE_GRACE_MS,
  Registration,
  dispatch,
  emptyState,
  parseTaints,
} from "../../harness/e2e/stand-in/datastore";
import { sha256 } from "../../harness/e2e/stand-in/tokens";

const OLD = sha256("old-server-password");
const NEW = sha256("new-server-password");
const AGENT = sha256("agent-password");
const AGENT2 = sha256("agent-password-2");

function reg(name: string, role: "server" | "agent", extra: Partial<Registration> = {}) {
  return {
    name,
    role,
    version: "v1.27.3+k3s1",
    address: `10.77.0.${name.endsWith("1") ? 50 : 51}`,
    labels: {},
    taints: [],
    nodeArgs: [role],
    ...extra,
  } satisfies Registration;
}

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).to.be.instanceOf(DatastoreError);
    return (err as DatastoreError).status;
  }
}

describe("e2e stand-in: datastore", function () {
  let now = 1_000_000;
  const clock = () => now;
  let ds: Datastore;

  beforeEach(function () {
    now = 1_000_000;
    ds = new Datastore(emptyState(), clock);
    ds.serverStart({ serverSha: OLD, nodeSha: OLD, firstJoin: false });
    ds.register(reg("server-1", "server"));
  });

  describe("server token", function () {
    it("a server (re)starting with a token that does not match the datastore fails", function () {
      expect(
        statusOf(() => ds.serverStart({ serverSha: NEW, nodeSha: NEW, firstJoin: false })),
      ).to.equal(401);
      expect(statusOf(() => ds.serverStart({ serverSha: OLD, nodeSha: OLD, firstJoin: true }))).to
        .be.undefined;
    });

    it("a rotation needs the current token; afterwards only the new one works", function () {
      expect(
        statusOf(() => ds.rotate({ oldSha: NEW, newSha: NEW, agentTokenConfigured: false })),
      ).to.equal(500);
      ds.rotate({ oldSha: OLD, newSha: NEW, agentTokenConfigured: false });
      expect(
        statusOf(() => ds.checkServer(OLD)),
        "old token",
      ).to.equal(401);
      expect(
        statusOf(() => ds.checkServer(NEW)),
        "new token",
      ).to.be.undefined;
      expect(
        statusOf(() => ds.serverStart({ serverSha: OLD, nodeSha: OLD, firstJoin: false })),
      ).to.equal(401);
      ds.serverStart({ serverSha: NEW, nodeSha: NEW, firstJoin: false });
      // Without an agent token the node user followed the server token.
      expect(
        statusOf(() => ds.checkNode(OLD)),
        "agent with the old token",
      ).to.equal(401);
      expect(ds.checkNode(NEW)).to.equal("server-token");
    });

    it("a rotation leaves a configured agent token alone", function () {
      ds.serverStart({ serverSha: OLD, nodeSha: AGENT, firstJoin: false });
      ds.rotate({ oldSha: OLD, newSha: NEW, agentTokenConfigured: true });
      expect(ds.checkNode(AGENT)).to.equal("agent-token");
      expect(statusOf(() => ds.checkNode(NEW))).to.equal(401);
    });
  });

  describe("agent token", function () {
    it("servers with an agent token accept agents only with it", function () {
      ds.serverStart({ serverSha: OLD, nodeSha: AGENT, firstJoin: false });
      expect(
        statusOf(() => ds.checkNode(OLD)),
        "the server token",
      ).to.equal(401);
      expect(ds.checkNode(AGENT)).to.equal("agent-token");
    });

    it("changing it on the servers, then on the agents, works; the old one is refused", function () {
      ds.serverStart({ serverSha: OLD, nodeSha: AGENT, firstJoin: false });
      // Servers restart one at a time with the new agent token: the newer passwd wins.
      ds.serverStart({ serverSha: OLD, nodeSha: AGENT2, firstJoin: false });
      expect(
        statusOf(() => ds.checkNode(AGENT)),
        "an agent restarting with the old one",
      ).to.equal(401);
      expect(ds.checkNode(AGENT2)).to.equal("agent-token");
    });

    it("a server joining with another agent token is refused (compareConfig)", function () {
      ds.serverStart({ serverSha: OLD, nodeSha: AGENT, firstJoin: false });
      expect(
        statusOf(() => ds.serverStart({ serverSha: OLD, nodeSha: AGENT2, firstJoin: true })),
      ).to.equal(401);
    });

    it("a running agent keeps posting status with its join credential after a token change", function () {
      const joined = dispatch(ds, { op: "join", nodeSha: OLD, reg: reg("agent-1", "agent") });
      const { nodeCredential } = joined.answer as { nodeCredential: string };
      ds.rotate({ oldSha: OLD, newSha: NEW, agentTokenConfigured: false });
      now += 5_000;
      ds.heartbeat("agent-1", sha256(nodeCredential));
      expect(statusOf(() => ds.heartbeat("agent-1", sha256("forged")))).to.equal(401);
    });
  });

  describe("registration: labels and taints", function () {
    it("taints apply at registration only; configured labels merge at every start, none removed", function () {
      const first = ds.register(
        reg("agent-2", "agent", {
          labels: { tier: "a", keep: "me" },
          taints: parseTaints(["dedicated=batch:NoSchedule"]),
        }),
      );
      expect(first.first).to.equal(true);
      expect(first.node.spec.taints).to.deep.equal([
        { key: "dedicated", value: "batch", effect: "NoSchedule" },
      ]);
      const again = ds.register(
        reg("agent-2", "agent", {
          version: "v1.27.7+k3s1",
          labels: { tier: "b" },
          taints: parseTaints(["gpu:NoExecute"]),
        }),
      );
      expect(again.first).to.equal(false);
      const node = ds.get("agent-2");
      expect(node.metadata.labels).to.include({ tier: "b", keep: "me" });
      expect(node.spec.taints, "taints unchanged by a restart").to.deep.equal([
        { key: "dedicated", value: "batch", effect: "NoSchedule" },
      ]);
      expect(node.status.nodeInfo.kubeletVersion, "the process's own version").to.equal(
        "v1.27.7+k3s1",
      );
    });

    it("keeps annotations and cordon across a re-registration", function () {
      ds.register(reg("agent-3", "agent"));
      ds.patch("agent-3", {
        annotations: { "k3s-ha/drained-for-upgrade": "v" },
        unschedulable: true,
      });
      ds.register(reg("agent-3", "agent"));
      const node = ds.get("agent-3");
      expect(node.spec.unschedulable).to.equal(true);
      expect(node.metadata.annotations["k3s-ha/drained-for-upgrade"]).to.equal("v");
    });
  });

  describe("etcd membership", function () {
    it("a server joining adds a member; annotate-remove then delete removes it once", function () {
      ds.register(reg("server-2", "server"));
      expect(ds.state.members.map((m) => m.node)).to.deep.equal(["server-1", "server-2"]);
      const member = ds.state.members[1].name;
      expect(member).to.match(/^server-2-[0-9a-f]{8}$/);
      expect(ds.get("server-2").metadata.annotations[ETCD_NODE_NAME_ANNOTATION]).to.equal(member);
      // What /db/info serves: etcd's member list.
      const info = dispatch(ds, { op: "members" }).answer as {
        members: { name: string; peerURLs: string[]; clientURLs: string[] }[];
      };
      expect(info.members.map((m) => [m.name, m.peerURLs, m.clientURLs])[1]).to.deep.equal([
        member,
        ["https://10.77.0.51:2380"],
        ["https://10.77.0.51:2379"],
      ]);

      const patched = ds.patch("server-2", { annotations: { [ETCD_REMOVE_ANNOTATION]: "true" } });
      expect(patched.metadata.annotations[ETCD_REMOVED_ANNOTATION]).to.equal(member);
      expect(ds.state.members.map((m) => m.node)).to.deep.equal(["server-1"]);
      // The removed server's own status update learns it is out.
      expect(statusOf(() => ds.heartbeat("server-2", "admin"))).to.equal(410);
      ds.remove("server-2");
      expect(ds.members().map((m) => m.name)).to.deep.equal([ds.state.members[0].name]);
      expect(ds.list().map((n) => n.metadata.name)).to.deep.equal(["server-1"]);
    });

    it("deleting a server's node without the annotation removes its member too", function () {
      ds.register(reg("server-2", "server"));
      ds.remove("server-2");
      expect(ds.state.members.map((m) => m.node)).to.deep.equal(["server-1"]);
    });

    it("a deleted node's status updates get 404 (no re-registration until it restarts)", function () {
      ds.register(reg("agent-4", "agent"));
      ds.remove("agent-4");
      expect(statusOf(() => ds.heartbeat("agent-4", "admin"))).to.equal(404);
    });
  });

  describe("Ready", function () {
    it("follows the last status update, with a grace period", function () {
      ds.register(reg("agent-1", "agent"));
      now += NODE_GRACE_MS;
      expect(ds.get("agent-1").status.conditions[0].status).to.equal("True");
      now += 1;
      expect(ds.get("agent-1").status.conditions[0].status).to.equal("Unknown");
      ds.heartbeat("agent-1", "admin");
      expect(ds.get("agent-1").status.conditions[0].status).to.equal("True");
      expect(ds.apiservers(), "only Ready servers are apiservers").to.deep.equal([]);
      ds.heartbeat("server-1", "admin");
      expect(ds.apiservers()).to.deep.equal(["10.77.0.50:6443"]);
    });
  });
  describe("cluster reset and rejoin (pkg/etcd/etcd.go Reset)", function () {
    it("resets the membership to the resetting server, keeps the objects, and refuses a stale member until it rejoins as a new one", function () {
      ds.serverStart({ serverSha: OLD, nodeSha: OLD, firstJoin: true });
      ds.register(reg("server-2", "server"));
      const stale = ds.memberNameOf("server-2")!;
      ds.patch("server-1", { annotations: { "example.com/marker": "kept" } });
      ds.resetMembership(reg("server-1", "server"));
      expect(ds.state.members.map((m) => m.node)).to.deep.equal(["server-1"]);
      expect(ds.get("server-1").metadata.annotations["example.com/marker"]).to.equal("kept");
      expect(ds.get("server-2").status.conditions[0].status).to.equal("Unknown");
      // server-2 with its old etcd data: refused, as etcd refuses a removed member.
      expect(
        statusOf(() =>
          dispatch(ds, {
            op: "serverStart",
            serverSha: OLD,
            nodeSha: OLD,
            firstJoin: false,
            reg: reg("server-2", "server"),
            memberName: stale,
          }),
        ),
      ).to.equal(409);
      expect(ds.state.members.map((m) => m.node)).to.deep.equal(["server-1"]);
      // Its server/db deleted: it joins again, as a new member.
      const { answer } = dispatch(ds, {
        op: "serverStart",
        serverSha: OLD,
        nodeSha: OLD,
        firstJoin: true,
        reg: reg("server-2", "server"),
      });
      const member = (answer as { member: string }).member;
      expect(member)
        .to.match(/^server-2-[0-9a-f]{8}$/)
        .and.not.equal(stale);
      expect(ds.state.members.map((m) => m.node)).to.deep.equal(["server-1", "server-2"]);
    });
  });
});
