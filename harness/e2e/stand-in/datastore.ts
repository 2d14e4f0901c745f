/**
 * The K3s STAND-IN's datastore: what the cluster-init server keeps in one JSON file (in place of
 * etcd): the bootstrap credentials (as sha256 digests only), the node objects, the etcd member list,
 * node heartbeats and the credential each node got when it joined. Every etcd member keeps a
 * replica of it; replication.ts says which member applies a call and when it is committed, and
 * replica.ts carries it between servers. Pure logic over a plain state object (clock injected), so
 * it is unit-tested without the lab; node builtins only.
 *
 * Where unsure, stricter than K3s: the datastore is the only authority for tokens (a running
 * server that has not restarted since a rotation already refuses the old token).
 */
import { randomBytes } from "crypto";
import { sha256 } from "./tokens";

/**
 * Where the cluster-init server keeps the datastore: in K3s's etcd data directory
 * (${data-dir}/server/db/etcd, pkg/etcd/etcd.go dbDir), so that losing server/db loses it, and a
 * restore moves it aside as K3s moves etcd's (pkg/etcd/etcd.go Restore: etcd-old-<unix>).
 */
export const DATASTORE_PATH = "/var/lib/rancher/k3s/server/db/etcd/stand-in-datastore.json";
/**
 * Its nodes' last status updates, kept apart under K3s's runtime directory /run/k3s (they change
 * every few seconds; both uninstall scripts remove it).
 */
export const HEARTBEATS_PATH = "/run/k3s/stand-in-datastore-heartbeats.json";
/** A node whose last heartbeat is older than this is not Ready (K3s: 40 s; stricter here). */
export const NODE_GRACE_MS = 20_000;
export const HEARTBEAT_EVERY_MS = 2_000;

export const ETCD_ROLE_LABEL = "node-role.kubernetes.io/etcd";
export const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";
export const ETCD_REMOVE_ANNOTATION = "etcd.k3s.cattle.io/remove";
export const ETCD_REMOVED_ANNOTATION = "etcd.k3s.cattle.io/removed-node-name";
export const ETCD_NODE_NAME_ANNOTATION = "etcd.k3s.cattle.io/node-name";
export const ETCD_NODE_ADDRESS_ANNOTATION = "etcd.k3s.cattle.io/node-address";
export const NODE_ARGS_ANNOTATION = "k3s.io/node-args";
export const NODE_CONFIG_HASH_ANNOTATION = "k3s.io/node-config-hash";

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface StandInNode {
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: { unschedulable?: boolean; taints: Taint[] };
  status: {
    conditions: { type: string; status: string; lastHeartbeatTime?: string }[];
    nodeInfo: { kubeletVersion: string };
    addresses: { type: string; address: string }[];
  };
}

/** What a starting server or agent registers: its config as that start had it. */
export interface Registration {
  name: string;
  role: "server" | "agent";
  /** The version of the process that registers (its kubelet's version). */
  version: string;
  address: string;
  /** node-label entries, parsed. */
  labels: Record<string, string>;
  /** node-taint entries, parsed. */
  taints: Taint[];
  /** The node's arguments with secrets redacted (k3s.io/node-args). */
  nodeArgs: string[];
}

export interface EtcdMember {
  name: string;
  node: string;
  peerURL: string;
  addedAt: string;
  /**
   * A learner receives the log but does not vote until promoted (K3s adds a joining server with
   * MemberAddAsLearner, pkg/etcd/etcd.go join; its leader promotes it once caught up,
   * pkg/etcd/etcd.go manageLearners).
   */
  isLearner?: boolean;
}

export interface DatastoreState {
  /** sha256 of the server password and of the node (agent) password; null before cluster-init. */
  bootstrap: { server: string; node: string; updatedAt: string } | null;
  nodes: StandInNode[];
  members: EtcdMember[];
  /** node → epoch ms of its last heartbeat. */
  heartbeats: Record<string, number>;
  /** node → sha256 of the credential it got when it joined (its "client certificate"). */
  credentials: Record<string, string>;
  /** etcd's cluster ID: set when the cluster starts, new after a --cluster-reset. */
  clusterId?: string;
  /** Raised by every committed change (etcd's revision; replicas compare it). */
  revision?: number;
}

export class DatastoreError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function emptyState(): DatastoreState {
  return {
    bootstrap: null,
    nodes: [],
    members: [],
    heartbeats: {},
    credentials: {},
  };
}

/** "k=v" node-label entries as a map. */
export function parseLabels(entries: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const i = e.indexOf("=");
    out[i < 0 ? e : e.slice(0, i)] = i < 0 ? "" : e.slice(i + 1);
  }
  return out;
}

/** "key[=value]:Effect" node-taint entries. */
export function parseTaints(entries: string[]): Taint[] {
  return entries.map((e) => {
    const colon = e.lastIndexOf(":");
    const kv = colon < 0 ? e : e.slice(0, colon);
    const effect = colon < 0 ? "" : e.slice(colon + 1);
    const eq = kv.indexOf("=");
    return eq < 0 ? { key: kv, effect } : { key: kv.slice(0, eq), value: kv.slice(eq + 1), effect };
  });
}

export class Datastore {
  constructor(
    readonly state: DatastoreState,
    private readonly now: () => number = Date.now,
  ) {}

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  // ---- bootstrap credentials -------------------------------------------------------------

  /**
   * A server starts. The first one initialises the bootstrap data; every later start must bring
   * the password it is keyed on, else it fails as K3s does ("bootstrap data already found and
   * encrypted with different token": pkg/cluster/storage.go getBootstrapKeyFromStorage).
   */
  serverStart(args: {
    serverSha: string;
    nodeSha: string;
    firstJoin: boolean;
    memberName?: string;
  }): void {
    // A server that still has its etcd data starts as the member it was; etcd refuses a member
    // the cluster no longer lists (removed, or the cluster was reset from a snapshot): "the member
    // has been permanently removed from the cluster". K3s's answer is to back up and delete
    // server/db on that server and start it again, which rejoins it as a new member (the
    // message of pkg/etcd/etcd.go Reset).
    if (
      args.memberName !== undefined &&
      !this.state.members.some((m) => m.name === args.memberName)
    ) {
      throw new DatastoreError(
        409,
        `etcd member ${args.memberName} is not a member of this cluster (removed, or the cluster was reset): the member has been permanently removed from the cluster; back up and delete /var/lib/rancher/k3s/server/db on this server and start it again to rejoin`,
      );
    }
    const b = this.state.bootstrap;
    if (!b) {
      this.state.bootstrap = { server: args.serverSha, node: args.nodeSha, updatedAt: this.iso() };
      this.state.clusterId ??= randomBytes(8).toString("hex");
      return;
    }
    if (b.server !== args.serverSha) {
      throw new DatastoreError(
        401,
        "bootstrap data already found and encrypted with different token",
      );
    }
    // A joining server first validates its agent token against the cluster, as the node user
    // (pkg/cluster/bootstrap.go compareConfig); an existing member only reconciles its passwd,
    // the newer one winning (pkg/cluster/bootstrap.go ReconcileBootstrapData).
    if (args.firstJoin && b.node !== args.nodeSha) {
      throw new DatastoreError(401, "the agent token does not match the cluster's (compareConfig)");
    }
    if (b.node !== args.nodeSha) {
      b.node = args.nodeSha;
      b.updatedAt = this.iso();
    }
  }

  checkServer(serverSha: string): void {
    if (!this.state.bootstrap || this.state.bootstrap.server !== serverSha) {
      throw new DatastoreError(401, "Unauthorized: not the cluster's server token");
    }
  }

  /** Agents authenticate as the node user (pkg/agent/config/config.go WithUser("node")). */
  checkNode(nodeSha: string): "agent-token" | "server-token" {
    const b = this.state.bootstrap;
    if (!b || b.node !== nodeSha) {
      throw new DatastoreError(401, "Unauthorized: token rejected for the node user");
    }
    return b.node === b.server ? "server-token" : "agent-token";
  }

  /**
   * The supervisor's token rotation (pkg/server/handlers/token.go tokenRotate): the server user
   * gets the new password, and the node user too when it had the old one and no agent token is
   * configured.
   */
  rotate(args: { oldSha: string; newSha: string; agentTokenConfigured: boolean }): void {
    const b = this.state.bootstrap;
    if (!b || b.server !== args.oldSha) {
      throw new DatastoreError(500, "server token not found (the current token does not match)");
    }
    const nodeToo = b.node === b.server && !args.agentTokenConfigured;
    b.server = args.newSha;
    if (nodeToo) b.node = args.newSha;
    b.updatedAt = this.iso();
  }

  // ---- nodes ------------------------------------------------------------------------------

  private find(name: string): StandInNode | undefined {
    return this.state.nodes.find((n) => n.metadata.name === name);
  }

  private memberOf(name: string): EtcdMember | undefined {
    return this.state.members.find((m) => m.node === name);
  }

  /** The etcd member name of a server node, if it is a member. */
  memberNameOf(node: string): string | undefined {
    return this.memberOf(node)?.name;
  }

  /**
   * `--cluster-reset` on this server: etcd restarts as a new single-member cluster of this node
   * (pkg/etcd/etcd.go Reset → newCluster(ctx, true): --force-new-cluster), keeping every object
   * of the datastore it runs on (the restored snapshot's, with --cluster-reset-restore-path).
   * Node status updates are not carried over: every node posts again once it reaches the cluster.
   */
  resetMembership(reg: Registration): void {
    this.state.members = this.state.members
      .filter((m) => m.node === reg.name)
      .map((m) => ({ ...m, isLearner: false }));
    this.state.heartbeats = {};
    // A restored snapshot starts a new cluster: etcd gives it a new cluster ID, so the peers of
    // the old one are refused (etcd's rafthttp "cluster ID mismatch").
    this.state.clusterId = randomBytes(8).toString("hex");
    this.register(reg);
  }

  /** A learner that caught up votes from now on (pkg/etcd/etcd.go manageLearners, promoteMember). */
  promote(node: string): boolean {
    const m = this.memberOf(node);
    if (!m?.isLearner) return false;
    m.isLearner = false;
    return true;
  }

  /**
   * A node (re)registers at each start of its process. Taints are applied only when the node
   * object is created (kubelet --register-with-taints; docs.k3s.io cli/agent "Node Labels and
   * Taints": "only add labels and/or taints at registration time"). Labels: the docs say the
   * same, but K3s's agent merges its node-label entries into the existing node's labels on every
   * start (pkg/agent/run.go configureNode → updateMutableLabels) and never removes one; the
   * stand-in does what that code does. A server joins the etcd member list
   * (pkg/etcd/etcd.go join → MemberAdd; its name is <node>-<hex>, pkg/etcd/etcd.go setName) and
   * carries the etcd node-name/address annotations (pkg/etcd/metadata_controller.go).
   */
  register(reg: Registration): { first: boolean; node: StandInNode } {
    const existing = this.find(reg.name);
    const roleLabels: Record<string, string> =
      reg.role === "server"
        ? {
            [CONTROL_PLANE_LABEL]: "true",
            [ETCD_ROLE_LABEL]: "true",
            "node-role.kubernetes.io/master": "true",
          }
        : {};
    const base: Record<string, string> = {
      "kubernetes.io/hostname": reg.name,
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
    };
    const annotations: Record<string, string> = {
      [NODE_ARGS_ANNOTATION]: JSON.stringify(reg.nodeArgs),
      [NODE_CONFIG_HASH_ANNOTATION]: sha256(JSON.stringify(reg.nodeArgs)).slice(0, 52),
      "k3s.io/internal-ip": reg.address,
      "k3s.io/hostname": reg.name,
    };
    let node: StandInNode;
    if (existing) {
      node = existing;
      node.metadata.labels = { ...node.metadata.labels, ...roleLabels, ...reg.labels };
      node.metadata.annotations = { ...node.metadata.annotations, ...annotations };
      node.status.nodeInfo.kubeletVersion = reg.version;
      node.status.addresses = [{ type: "InternalIP", address: reg.address }];
    } else {
      node = {
        metadata: {
          name: reg.name,
          labels: { ...base, ...roleLabels, ...reg.labels },
          annotations,
        },
        spec: { taints: reg.taints.map((t) => ({ ...t })) },
        status: {
          conditions: [{ type: "Ready", status: "True" }],
          nodeInfo: { kubeletVersion: reg.version },
          addresses: [{ type: "InternalIP", address: reg.address }],
        },
      };
      this.state.nodes.push(node);
    }
    if (reg.role === "server" && !this.memberOf(reg.name)) {
      const member: EtcdMember = {
        name: `${reg.name}-${randomBytes(4).toString("hex")}`,
        node: reg.name,
        peerURL: `https://${reg.address}:2380`,
        addedAt: this.iso(),
        // The first member starts the cluster and votes; every later one joins as a learner.
        isLearner: this.state.members.length > 0,
      };
      this.state.members.push(member);
      node.metadata.annotations[ETCD_NODE_NAME_ANNOTATION] = member.name;
      node.metadata.annotations[ETCD_NODE_ADDRESS_ANNOTATION] = reg.address;
      delete node.metadata.annotations[ETCD_REMOVE_ANNOTATION];
      delete node.metadata.annotations[ETCD_REMOVED_ANNOTATION];
    }
    this.state.heartbeats[reg.name] = this.now();
    return { first: !existing, node };
  }

  /** The credential a node uses after it joined (stands for its kubelet client certificate). */
  issueCredential(name: string): string {
    const credential = randomBytes(24).toString("hex");
    this.state.credentials[name] = sha256(credential);
    return credential;
  }

  /**
   * A node's status update, with the node's credential digest or "admin" (a server's own). A
   * deleted node gets 404 (a running kubelet does not register again
   * until it restarts); a server whose etcd member was removed gets 410.
   */
  heartbeat(name: string, credentialSha: string): void {
    const node = this.find(name);
    if (!node) throw new DatastoreError(404, `node ${name} not found`);
    if (credentialSha !== "admin" && this.state.credentials[name] !== credentialSha) {
      throw new DatastoreError(401, `not node ${name}'s credential`);
    }
    if (node.metadata.labels[ETCD_ROLE_LABEL] === "true" && !this.memberOf(name)) {
      throw new DatastoreError(410, `the etcd member of ${name} was removed from the cluster`);
    }
    this.state.heartbeats[name] = this.now();
  }

  /** Node objects as the API shows them: Ready from the last heartbeat. */
  list(): StandInNode[] {
    return this.state.nodes.map((n) => this.withStatus(n));
  }

  private withStatus(n: StandInNode): StandInNode {
    const copy = JSON.parse(JSON.stringify(n)) as StandInNode;
    const last = this.state.heartbeats[n.metadata.name] ?? 0;
    // The node lifecycle controller marks a node that stopped posting status Unknown.
    copy.status.conditions = [
      {
        type: "Ready",
        status: this.now() - last <= NODE_GRACE_MS ? "True" : "Unknown",
        lastHeartbeatTime: new Date(last).toISOString(),
      },
    ];
    return copy;
  }

  get(name: string): StandInNode {
    const n = this.find(name);
    if (!n) throw new DatastoreError(404, `nodes "${name}" not found`);
    return this.withStatus(n);
  }

  /**
   * Annotations and cordon. `etcd.k3s.cattle.io/remove=true` removes the node's etcd member and
   * records its name in removed-node-name (pkg/etcd/member_controller.go etcdMemberHandler.sync,
   * pkg/etcd/controller.go in newer releases).
   */
  patch(
    name: string,
    patch: { annotations?: Record<string, string | null>; unschedulable?: boolean },
  ): StandInNode {
    const node = this.find(name);
    if (!node) throw new DatastoreError(404, `nodes "${name}" not found`);
    for (const [k, v] of Object.entries(patch.annotations ?? {})) {
      if (v === null) delete node.metadata.annotations[k];
      else node.metadata.annotations[k] = v;
    }
    const a = node.metadata.annotations;
    if (
      a[ETCD_REMOVE_ANNOTATION]?.toLowerCase() === "true" &&
      a[ETCD_REMOVED_ANNOTATION] === undefined &&
      node.metadata.labels[ETCD_ROLE_LABEL] !== undefined
    ) {
      const member = this.removeMember(name);
      a[ETCD_REMOVED_ANNOTATION] = member?.name ?? a[ETCD_NODE_NAME_ANNOTATION] ?? name;
      delete a[ETCD_NODE_NAME_ANNOTATION];
      delete a[ETCD_NODE_ADDRESS_ANNOTATION];
    }
    if (patch.unschedulable !== undefined) {
      if (patch.unschedulable) node.spec.unschedulable = true;
      else delete node.spec.unschedulable;
    }
    return this.withStatus(node);
  }

  /**
   * Deleting an etcd node's object removes its member unless the annotation already did
   * (pkg/etcd/member_controller.go onRemove).
   */
  remove(name: string): void {
    const i = this.state.nodes.findIndex((n) => n.metadata.name === name);
    if (i < 0) throw new DatastoreError(404, `nodes "${name}" not found`);
    const node = this.state.nodes[i];
    if (node.metadata.labels[ETCD_ROLE_LABEL] !== undefined) this.removeMember(name);
    this.state.nodes.splice(i, 1);
    delete this.state.heartbeats[name];
    delete this.state.credentials[name];
  }

  private removeMember(name: string): EtcdMember | undefined {
    const i = this.state.members.findIndex((m) => m.node === name);
    if (i < 0) return undefined;
    const [member] = this.state.members.splice(i, 1);
    return member;
  }

  /**
   * The etcd member list as etcd's MemberList gives it (what K3s's /db/info serves): a member's
   * ID, name, peer and client URLs.
   */
  members(): {
    ID: number;
    name: string;
    peerURLs: string[];
    clientURLs: string[];
    isLearner?: boolean;
  }[] {
    return this.state.members.map((m) => ({
      ID: parseInt(sha256(m.name).slice(0, 12), 16),
      name: m.name,
      peerURLs: [m.peerURL],
      clientURLs: [m.peerURL.replace(/:2380$/, ":2379")],
      ...(m.isLearner && { isLearner: true }),
    }));
  }

  /**
   * The apiserver addresses an agent's client-side load balancer uses once joined: servers that
   * are Ready (pkg/server/handlers APIServers, pkg/agent/tunnel watching the endpoints).
   */
  apiservers(): string[] {
    return this.list()
      .filter((n) => n.metadata.labels[CONTROL_PLANE_LABEL] === "true")
      .filter((n) => n.status.conditions[0].status === "True")
      .flatMap((n) => n.status.addresses.map((a) => `${a.address}:6443`));
  }
}

/** The calls a server forwards to the member that applies them (replication.ts leaderOrder). */
export type DatastoreOp =
  | {
      op: "serverStart";
      serverSha: string;
      nodeSha: string;
      firstJoin: boolean;
      reg: Registration;
      /** The etcd member this server was, when it still has its etcd data (a joined server). */
      memberName?: string;
    }
  | { op: "checkServer"; serverSha: string }
  | { op: "join"; nodeSha: string; reg: Registration }
  | { op: "heartbeat"; name: string; credentialSha: string }
  | { op: "rotate"; oldSha: string; newSha: string; agentTokenConfigured: boolean }
  | { op: "list" }
  | { op: "members" }
  | { op: "get"; name: string }
  | { op: "patch"; name: string; patch: Parameters<Datastore["patch"]>[1] }
  | { op: "remove"; name: string }
  | { op: "promote"; node: string }
  | { op: "dump" };

/** Runs one call; returns its JSON answer and whether the state changed (to be saved). */
export function dispatch(ds: Datastore, call: DatastoreOp): { answer: unknown; changed: boolean } {
  switch (call.op) {
    case "serverStart": {
      ds.serverStart(call);
      const { first } = ds.register(call.reg);
      return { answer: { first, member: ds.memberNameOf(call.reg.name) }, changed: true };
    }
    case "checkServer":
      ds.checkServer(call.serverSha);
      return { answer: {}, changed: false };
    case "join": {
      const credential = ds.checkNode(call.nodeSha);
      const { first } = ds.register(call.reg);
      const nodeCredential = ds.issueCredential(call.reg.name);
      return {
        answer: { credential, first, nodeCredential, apiservers: ds.apiservers() },
        changed: true,
      };
    }
    case "heartbeat":
      ds.heartbeat(call.name, call.credentialSha);
      return { answer: { apiservers: ds.apiservers() }, changed: true };
    case "rotate":
      ds.rotate(call);
      return { answer: {}, changed: true };
    case "list":
      return { answer: ds.list(), changed: false };
    case "members":
      return { answer: { members: ds.members() }, changed: false };
    case "get":
      return { answer: ds.get(call.name), changed: false };
    case "patch":
      return { answer: ds.patch(call.name, call.patch), changed: true };
    case "remove":
      ds.remove(call.name);
      return { answer: {}, changed: true };
    case "promote":
      return { answer: {}, changed: ds.promote(call.node) };
    case "dump":
      return { answer: { ...ds.state, nodes: ds.list() }, changed: false };
  }
}
