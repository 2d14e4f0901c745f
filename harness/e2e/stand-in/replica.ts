/**
 * A server's replica of the K3s STAND-IN's datastore, and the calls between replicas (the rules
 * are replication.ts's). Every etcd member keeps the whole state in its etcd data directory. A
 * call goes to the first voting member that answers (itself when it comes first), which applies
 * it, pushes the new state to every member and answers only once a majority of the voters hold it
 * (etcd: a proposal is applied once committed, server/etcdserver/server.go; reads confirm the
 * leader with a quorum first, server/etcdserver/v3_server.go linearizableReadLoop). A server
 * without a replica yet (joining) sends its calls through the server it joins.
 */
import * as fs from "fs";
import * as path from "path";
import {
  DATASTORE_PATH,
  Datastore,
  DatastoreError,
  DatastoreOp,
  DatastoreState,
  HEARTBEATS_PATH,
  dispatch,
  emptyState,
} from "./datastore";
import { request } from "./http";
import { catchUp, committed, isMember, leaderOrder, pushVerdict } from "./replication";

export interface Answer {
  status: number;
  body: string;
}

/** What a member that the cluster removed answers (etcd's ErrGRPCMemberNotFound / "removed"). */
export const REMOVED_MESSAGE =
  "etcdserver: the member has been permanently removed from the cluster";
/** How long a starting member waits for a majority of its peers before giving up. */
const CATCH_UP_MS = 120_000;

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function writePrivate(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * What the datastore file holds, to compare: it changes only with the cluster, so status updates
 * (the heartbeats and the revisions they raise) stay in /run. A restarting member catches up the
 * revision from its peers.
 */
const durableKey = (s: DatastoreState) => JSON.stringify({ ...s, heartbeats: {}, revision: 0 });

/** A member's stand-in API (its supervisor port), from its peer URL. */
const apiOf = (peerURL: string) => peerURL.replace(/^https:\/\/([^:/]+):2380$/, "https://$1:6443");

export class Replica {
  private ds?: Datastore;
  private queue: Promise<unknown> = Promise.resolve();
  private written = "";
  /** Learners that acknowledged a push: promoted by the next call this member applies. */
  private readonly caughtUp = new Set<string>();
  /** Set once a committed state no longer lists this server: it stops serving the datastore. */
  removed = false;

  constructor(
    private readonly o: {
      node: string;
      ca: string;
      adminToken: string;
      /** The server this one joins through while it has no replica. */
      joinUrl?: string;
      log: (message: string) => void;
    },
  ) {
    const text = readIfExists(DATASTORE_PATH);
    if (text) {
      const state = JSON.parse(text) as DatastoreState;
      this.written = durableKey(state);
      this.load(state, readIfExists(HEARTBEATS_PATH));
    }
  }

  /** Whether this server has etcd data (K3s: the database is initialized). */
  get hasData(): boolean {
    return this.ds !== undefined;
  }

  /** A new cluster on this server (cluster-init, no data). */
  initialize(): void {
    this.ds = new Datastore(emptyState());
  }

  private load(state: DatastoreState, beats?: string): void {
    if (beats !== undefined) state.heartbeats = JSON.parse(beats) as Record<string, number>;
    this.ds = new Datastore(state);
    this.save();
  }

  private save(): void {
    const s = this.ds!.state;
    const key = durableKey(s);
    if (key !== this.written) {
      writePrivate(DATASTORE_PATH, JSON.stringify({ ...s, heartbeats: {} }, null, 1));
      this.written = key;
    }
    // Status updates go to /run only: the data directory changes only with the cluster.
    writePrivate(HEARTBEATS_PATH, JSON.stringify(s.heartbeats));
    if (s.members.length > 0 && !isMember(s, this.o.node) && !this.removed) {
      this.removed = true;
      this.o.log(`${REMOVED_MESSAGE}: this server no longer serves the datastore`);
    }
  }

  private async peer(url: string, method: string, body?: unknown): Promise<Answer> {
    try {
      const r = await request(url, {
        method,
        ca: this.o.ca,
        headers: { authorization: `Bearer ${this.o.adminToken}` },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: r.status, body: r.body };
    } catch (err) {
      return { status: 503, body: `${url} unreachable: ${(err as Error).message}` };
    }
  }

  /** The replica as a peer or a joiner asks for it. */
  snapshot(): Answer {
    if (!this.ds) return { status: 503, body: "no etcd data on this server" };
    if (this.removed) return { status: 410, body: REMOVED_MESSAGE };
    return { status: 200, body: JSON.stringify(this.ds.state) };
  }

  /** A state pushed by the applying member (PUT /stand-in/replica). */
  receive(pushed: DatastoreState): Answer {
    if (!this.ds) return { status: 503, body: "no etcd data on this server yet" };
    if (this.removed) return { status: 410, body: REMOVED_MESSAGE };
    const verdict = pushVerdict(this.ds.state, pushed);
    if (verdict === "foreign") return { status: 409, body: "cluster ID mismatch" };
    if (verdict === "stale") return { status: 409, body: JSON.stringify(this.ds.state) };
    if (verdict === "adopt") this.load(pushed);
    return { status: 200, body: "" };
  }

  /** A joiner takes the replica of the server it joined through (then the pushes). */
  async takeJoinedReplica(): Promise<void> {
    const deadline = Date.now() + CATCH_UP_MS;
    while (!this.ds) {
      // The joined server's replica lists this one once the join is committed there.
      const r = await this.peer(`${this.o.joinUrl}/stand-in/replica`, "GET");
      const state = r.status === 200 ? (JSON.parse(r.body) as DatastoreState) : undefined;
      if (state && isMember(state, this.o.node)) this.load(state);
      else if (Date.now() > deadline) throw new Error(`${this.o.joinUrl}: replica ${r.status}`);
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** A member starting with its etcd data catches up from its peers before it serves. */
  async catchUp(): Promise<void> {
    const deadline = Date.now() + CATCH_UP_MS;
    for (;;) {
      const ds = this.ds!;
      const answers = new Map<string, DatastoreState>();
      const others = ds.state.members.filter((m) => m.node !== this.o.node);
      await Promise.all(
        others.map(async (m) => {
          const r = await this.peer(`${apiOf(m.peerURL)}/stand-in/replica`, "GET");
          if (r.status === 200) answers.set(m.node, JSON.parse(r.body) as DatastoreState);
        }),
      );
      const result = catchUp(ds.state, this.o.node, answers);
      if ("refused" in result) {
        throw new Error(
          `${REMOVED_MESSAGE} (${result.refused}); back up and delete /var/lib/rancher/k3s/server/db on this server and start it again to rejoin`,
        );
      }
      if ("state" in result) {
        if (result.state !== ds.state) this.load(result.state);
        return;
      }
      if (Date.now() > deadline) throw new Error(`no etcd quorum: ${result.waiting}`);
      this.o.log(`waiting for etcd quorum: ${result.waiting}`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  /**
   * A datastore call from this server. `asLeader`: another server chose this one to apply it.
   */
  async call(op: DatastoreOp, asLeader = false): Promise<Answer> {
    if (this.removed) return { status: 410, body: REMOVED_MESSAGE };
    if (!this.ds) {
      return this.peer(`${this.o.joinUrl}/stand-in/datastore`, "POST", op);
    }
    const order = leaderOrder(this.ds.state);
    // A new cluster's first call (its first server starting) has no member yet to go to.
    if (asLeader || order.length === 0) return this.apply(op);
    const errors: string[] = [];
    for (const m of order) {
      if (m.node === this.o.node) return this.apply(op);
      const r = await this.peer(`${apiOf(m.peerURL)}/stand-in/datastore?leader`, "POST", op);
      // 503: not reachable, or not able to apply (removed, no quorum): the next voter.
      if (r.status !== 503 && r.status !== 410) return r;
      errors.push(`${m.node}: ${r.body}`);
    }
    return { status: 503, body: `etcdserver: no leader (${errors.join("; ")})` };
  }

  private apply(op: DatastoreOp): Promise<Answer> {
    const next = this.queue.then(() => this.applyNow(op, true));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async applyNow(op: DatastoreOp, mayRetry: boolean): Promise<Answer> {
    if (this.removed) return { status: 503, body: REMOVED_MESSAGE };
    const ds = this.ds!;
    const before = ds.state.members.map((m) => ({ ...m }));
    let answer: unknown;
    try {
      const result = dispatch(ds, op);
      answer = result.answer;
      if (result.changed) ds.state.revision = (ds.state.revision ?? 0) + 1;
    } catch (err) {
      if (err instanceof DatastoreError) return { status: err.status, body: err.message };
      throw err;
    }
    const after = ds.state.members;
    const targets = [...before, ...after].filter(
      (m, i, all) => m.node !== this.o.node && all.findIndex((x) => x.node === m.node) === i,
    );
    const pushed = JSON.parse(JSON.stringify(ds.state)) as DatastoreState;
    const acked = new Set<string>([this.o.node]);
    let newer: DatastoreState | undefined;
    // Answered once a majority holds it (or every member answered): a slow or unreachable member
    // delays nothing, as a raft leader commits without waiting for the slowest follower.
    await new Promise<void>((resolve) => {
      let pending = targets.length;
      const settle = () => {
        if (--pending <= 0 || (committed(before, after, acked) && !newer)) resolve();
      };
      if (pending === 0) resolve();
      for (const m of targets) {
        void this.peer(`${apiOf(m.peerURL)}/stand-in/replica`, "PUT", pushed).then((r) => {
          if (r.status === 200) acked.add(m.node);
          if (r.status === 200 && m.isLearner) this.caughtUp.add(m.node);
          else if (r.status === 409 && r.body.startsWith("{")) {
            const theirs = JSON.parse(r.body) as DatastoreState;
            if ((theirs.revision ?? 0) > (newer?.revision ?? 0)) newer = theirs;
          }
          settle();
        });
      }
    });
    if (newer && (newer.revision ?? 0) >= (pushed.revision ?? 0)) {
      // This member was behind: it catches up and applies the call again, once.
      this.load(newer);
      if (mayRetry) return this.applyNow(op, false);
      return { status: 503, body: "etcdserver: leader changed" };
    }
    this.save();
    if (!committed(before, after, acked)) {
      return { status: 503, body: "etcdserver: request timed out (no quorum)" };
    }
    for (const m of after.filter((x) => x.isLearner && this.caughtUp.has(x.node))) {
      this.caughtUp.delete(m.node);
      await this.applyNow({ op: "promote", node: m.node }, false);
    }
    return { status: 200, body: JSON.stringify(answer) };
  }
}
