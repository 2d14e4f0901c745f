/**
 * The stand-in datastore's replication rules (harness/e2e/stand-in/replication.ts), without the
 * lab: learners, quorum of a change (membership changes need both configurations), what a replica
 * does with a pushed state, and what a restarting member adopts.
 */
import { expect } from "chai";
import {
  Datastore,
  DatastoreState,
  EtcdMember,
  Registration,
  emptyState,
} from "../../harness/e2e/stand-in/datastore";
import {
  catchUp,
  committed,
  isMember,
  leaderOrder,
  pushVerdict,
  quorum,
} from "../../harness/e2e/stand-in/replication";
import { sha256 } from "../../harness/e2e/stand-in/tokens";

const TOKEN = sha256("server-password");

function reg(name: string): Registration {
  return {
    name,
    role: "server",
    version: "v1.27.3+k3s1",
    address: `10.77.0.${49 + Number(name.slice(-1))}`,
    labels: {},
    taints: [],
    nodeArgs: ["server"],
  };
}

function cluster(...servers: string[]): Datastore {
  const ds = new Datastore(emptyState());
  ds.serverStart({ serverSha: TOKEN, nodeSha: TOKEN, firstJoin: false });
  for (const s of servers) {
    ds.register(reg(s));
    ds.promote(s);
  }
  return ds;
}

const copy = (s: DatastoreState): DatastoreState => JSON.parse(JSON.stringify(s)) as DatastoreState;
const nodes = (ms: readonly EtcdMember[]) => ms.map((m) => m.node);

describe("e2e stand-in: datastore replication", function () {
  it("the first member votes; a joining server is a learner until promoted, and /db/info says so", function () {
    const ds = cluster("server-1");
    ds.register(reg("server-2"));
    expect(nodes(leaderOrder(ds.state))).to.deep.equal(["server-1"]);
    expect(ds.members()[1].isLearner).to.equal(true);
    expect(ds.promote("server-2")).to.equal(true);
    expect(ds.promote("server-2"), "already a voter").to.equal(false);
    expect(nodes(leaderOrder(ds.state))).to.deep.equal(["server-1", "server-2"]);
    expect(ds.members()[1]).to.not.have.property("isLearner");
  });

  it("the member that applies calls comes from the member list: removing the first moves it to the next", function () {
    const ds = cluster("server-1", "server-2", "server-3");
    expect(leaderOrder(ds.state)[0].node).to.equal("server-1");
    ds.patch("server-1", { annotations: { "etcd.k3s.cattle.io/remove": "true" } });
    expect(nodes(leaderOrder(ds.state))).to.deep.equal(["server-2", "server-3"]);
    expect(isMember(ds.state, "server-1")).to.equal(false);
  });

  it("a change commits with a majority of the voters; a learner's acknowledgement does not count", function () {
    expect([1, 2, 3, 4, 5].map(quorum)).to.deep.equal([1, 2, 2, 3, 3]);
    const ds = cluster("server-1", "server-2", "server-3");
    const m = ds.state.members;
    expect(committed(m, m, new Set(["server-1", "server-3"]))).to.equal(true);
    expect(committed(m, m, new Set(["server-1"]))).to.equal(false);
    ds.register(reg("server-4"));
    const withLearner = ds.state.members;
    expect(committed(withLearner, withLearner, new Set(["server-1", "server-4"]))).to.equal(false);
  });

  it("removing a member needs a majority of the configuration before and of the one after", function () {
    const ds = cluster("server-1", "server-2", "server-3");
    const before = ds.state.members.map((m) => ({ ...m }));
    ds.patch("server-1", { annotations: { "etcd.k3s.cattle.io/remove": "true" } });
    const after = ds.state.members;
    // server-1 (the remover) and server-2 are a majority before, but one of two after.
    expect(committed(before, after, new Set(["server-1", "server-2"]))).to.equal(false);
    expect(committed(before, after, new Set(["server-1", "server-2", "server-3"]))).to.equal(true);
  });

  it("a replica adopts a newer revision, acknowledges the same, reports a stale pusher, refuses another cluster", function () {
    const ds = cluster("server-1");
    const local = copy({ ...ds.state, revision: 5 });
    expect(pushVerdict(local, { ...copy(local), revision: 6 })).to.equal("adopt");
    expect(pushVerdict(local, copy(local))).to.equal("same");
    expect(pushVerdict(local, { ...copy(local), revision: 4 })).to.equal("stale");
    // Two members applied at once: the same revision with other content is a stale pusher, so the
    // change a majority holds is not overwritten (a rebooted agent's join was lost this way).
    const other = copy(local);
    other.heartbeats = { ...other.heartbeats, "agent-1": 1 };
    expect(pushVerdict(local, other), "same revision, other content").to.equal("stale");
    const reordered = Object.fromEntries(Object.entries(copy(local)).reverse()) as typeof local;
    expect(pushVerdict(local, reordered), "the same state, keys in another order").to.equal("same");
    expect(pushVerdict(local, { ...copy(local), revision: 9, clusterId: "other" })).to.equal(
      "foreign",
    );
  });

  it("a restarting member waits for a majority of the voters, then takes the newest state", function () {
    const ds = cluster("server-1", "server-2", "server-3");
    const local = { ...copy(ds.state), revision: 3 };
    expect(catchUp(local, "server-1", new Map())).to.have.property("waiting");
    const newer = { ...copy(local), revision: 7 };
    const result = catchUp(local, "server-1", new Map([["server-3", newer]]));
    expect(result).to.deep.equal({ state: newer });
    const alone = cluster("server-1").state;
    expect(catchUp(alone, "server-1", new Map()), "a one-member cluster").to.deep.equal({
      state: alone,
    });
  });

  it("after a reset, a member left with the old cluster's data is refused", function () {
    const ds = cluster("server-1", "server-2", "server-3");
    const stale = copy(ds.state);
    ds.resetMembership(reg("server-1"));
    expect(ds.state.clusterId).to.not.equal(stale.clusterId);
    expect(nodes(ds.state.members)).to.deep.equal(["server-1"]);
    expect(catchUp(stale, "server-2", new Map([["server-1", ds.state]]))).to.have.property(
      "refused",
    );
  });
});
