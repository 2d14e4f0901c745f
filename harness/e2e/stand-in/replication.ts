/**
 * The K3s STAND-IN's replication rules, pure: which member applies a datastore call, when a change
 * is committed, what a replica does with a pushed state, and what a restarting member adopts.
 * Stands in for etcd's raft where the program relies on it; not raft: no elections or terms (the
 * member that applies calls is the first voting member, in the member list's order, that answers),
 * no log (a replica holds the whole state and its revision), no partitions between live members.
 * replica.ts runs these rules over the network; node builtins only.
 */
import { DatastoreState, EtcdMember } from "./datastore";

/** Members that vote (etcd's learners do not: etcd server/etcdserver/api/membership VotingMembers). */
export function voters(state: DatastoreState): EtcdMember[] {
  return state.members.filter((m) => !m.isLearner);
}

/** A majority of n voters (raft's quorum: etcd raft/quorum MajorityConfig.CommittedIndex). */
export function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The voters to try, in order, for a call: the member list decides, never the `server:` flag
 * (after joining, a server's `server:` URL is used only to bootstrap: pkg/cluster/bootstrap.go
 * shouldBootstrapLoad skips bootstrapping once the database is initialized).
 */
export function leaderOrder(state: DatastoreState): EtcdMember[] {
  return voters(state);
}

/**
 * A change is committed when a majority of the voters acknowledged it, of the configuration
 * before it and of the one after. Stricter than etcd, which commits a single membership change
 * under the configuration before it (raft's one-at-a-time ConfChange): here a leader's removal of
 * itself also needs the remaining members' majority.
 */
export function committed(
  before: readonly EtcdMember[],
  after: readonly EtcdMember[],
  acked: ReadonlySet<string>,
): boolean {
  const ok = (members: readonly EtcdMember[]) => {
    const v = members.filter((m) => !m.isLearner);
    return v.length === 0 || v.filter((m) => acked.has(m.node)).length >= quorum(v.length);
  };
  return ok(before) && ok(after);
}

/** JSON with object keys sorted: two replicas of the same state compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

export type PushVerdict = "adopt" | "same" | "stale" | "foreign";

/**
 * What a replica does with a state the applying member pushes: a newer revision is adopted, the
 * same one acknowledged; an older one means the pusher is behind (it must catch up before it
 * applies anything); another cluster's is refused (etcd's rafthttp "cluster ID mismatch").
 */
export function pushVerdict(local: DatastoreState, pushed: DatastoreState): PushVerdict {
  if (local.clusterId !== undefined && pushed.clusterId !== local.clusterId) return "foreign";
  const mine = local.revision ?? 0;
  const theirs = pushed.revision ?? 0;
  if (theirs > mine) return "adopt";
  // The same revision with other content: two members applied at once (one rejoined and came
  // first in the member list while another still applied). etcd's terms let only one commit an
  // index; here the pusher yields and catches up, so a change a majority committed is not lost.
  if (theirs === mine) return canonical(pushed) === canonical(local) ? "same" : "stale";
  return "stale";
}

/**
 * A member starting with its etcd data catches up before it serves: it needs answers from a
 * majority of the voters it knows (itself included), as an etcd member without quorum does not
 * become ready, and takes the newest state among them. A peer of another cluster means this
 * member was left behind by a reset: it is refused (the member has been permanently removed).
 */
export function catchUp(
  local: DatastoreState,
  self: string,
  answers: ReadonlyMap<string, DatastoreState>,
): { state: DatastoreState } | { waiting: string } | { refused: string } {
  for (const [node, s] of answers) {
    if (s.clusterId !== local.clusterId) {
      return { refused: `${node} belongs to another etcd cluster (cluster ID mismatch)` };
    }
  }
  const v = voters(local);
  const heard = v.filter((m) => m.node === self || answers.has(m.node)).length;
  if (v.length > 0 && heard < quorum(v.length)) {
    return { waiting: `${heard} of ${v.length} etcd voters answer; ${quorum(v.length)} needed` };
  }
  let newest = local;
  for (const s of answers.values()) {
    if ((s.revision ?? 0) > (newest.revision ?? 0)) newest = s;
  }
  return { state: newest };
}

/** Whether this node is an etcd member in this state (a removed member stops serving). */
export function isMember(state: DatastoreState, node: string): boolean {
  return state.members.some((m) => m.node === node);
}
