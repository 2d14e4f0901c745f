/**
 * Reads a lab host's state from outside: stand-in records, file hashes, daemon pids, the VIP; for
 * day 2, the stand-ins' datastore (nodes, etcd members), their history per host (starts, failed
 * starts, uninstalls) and which version each node's binary and running process have.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { E2eHost } from "./host";
import { E2eLab } from "./lab";
import { HOST_IF, HostName } from "./constants";
import {
  DATASTORE_PATH,
  Datastore,
  HEARTBEATS_PATH,
  DatastoreState,
  EtcdMember,
  StandInNode,
  Taint,
} from "./stand-in/datastore";
import { EVENTS_FILE, EventKind, StandInEvent, parseEvents } from "./stand-in/events";

/** Where the program writes on a host; teardown and idempotence checks look here. */
export const MANAGED_PATHS = [
  "/etc/rancher",
  "/var/lib/rancher",
  "/var/lib/k3s-ha",
  "/etc/haproxy",
  "/etc/keepalived",
  "/etc/nginx",
  "/etc/init.d",
  "/usr/local/bin",
  // K3s's units and env files, and every unit's enablement links
  "/etc/systemd/system",
];

export interface ServerRecord {
  role: "server";
  version: string;
  argv: string[];
  config: Record<string, unknown>;
  tokenFile: { path: string; sha256: string; mode: string } | null;
  agentTokenFile: { path: string; sha256: string; mode: string } | null;
  tlsSans: string[];
  servingSans: string[];
  join: { server: string; bootstrapFrom: string; tokenCaHashChecked: boolean } | null;
  install: { env: Record<string, string>; args: string[] } | null;
}

export interface AgentRecord {
  role: "agent";
  version: string;
  argv: string[];
  config: Record<string, unknown>;
  tokenFile: { path: string; sha256: string; mode: string } | null;
  join: {
    server: string;
    pingVerifiedTls: boolean;
    tokenCaHashChecked: boolean;
    answeredBy: string;
  };
  install: { env: Record<string, string>; args: string[] } | null;
}

function readText(host: E2eHost, p: string): string | undefined {
  try {
    return fs.readFileSync(host.hostPath(p), "utf8");
  } catch {
    return undefined;
  }
}

export function exists(host: E2eHost, p: string): boolean {
  return fs.existsSync(host.hostPath(p));
}

export function fileMode(host: E2eHost, p: string): string {
  return (fs.statSync(host.hostPath(p)).mode & 0o777).toString(8).padStart(4, "0");
}

export function fileText(host: E2eHost, p: string): string {
  const text = readText(host, p);
  if (text === undefined) throw new Error(`${host.name}: cannot read ${p}`);
  return text;
}

export function standInRecord<T = ServerRecord | AgentRecord>(host: E2eHost): T {
  return JSON.parse(fileText(host, "/var/lib/rancher/k3s/stand-in-record.json")) as T;
}

export function jsonLines(host: E2eHost, p: string): Record<string, unknown>[] {
  return (readText(host, p) ?? "")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export const joinsOf = (host: E2eHost) =>
  jsonLines(host, "/var/lib/rancher/k3s/stand-in-joins.jsonl");
export const installsOf = (host: E2eHost) =>
  jsonLines(host, "/var/lib/rancher/k3s/stand-in-installs.jsonl");

/** Every file under the managed paths: path → "mode sha256" (symlinks: "link target"). */
export function treeHashes(host: E2eHost): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    const full = host.hostPath(p);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(full);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) out[p] = `link ${fs.readlinkSync(full)}`;
    else if (st.isDirectory()) {
      out[p] = `dir ${(st.mode & 0o777).toString(8)}`;
      for (const entry of fs.readdirSync(full).sort()) walk(path.posix.join(p, entry));
    } else {
      const hash = createHash("sha256").update(fs.readFileSync(full)).digest("hex");
      out[p] = `${(st.mode & 0o777).toString(8)} ${hash}`;
    }
  };
  for (const p of MANAGED_PATHS) walk(p);
  return out;
}

/** The pid (in the host's pid namespace) a running K3s stand-in recorded when it became ready. */
function readyPid(host: E2eHost, service: "k3s" | "k3s-agent"): number | undefined {
  const status = readText(host, `/run/k3s-stand-in/${service}.json`);
  return status ? (JSON.parse(status) as { pid: number }).pid : undefined;
}

/** Host-side pids of the LB daemons and the K3s stand-in (its ready record) on a host. */
export function daemonPids(host: E2eHost): Record<string, number[]> {
  const standIn = (["k3s", "k3s-agent"] as const)
    .map((service) => readyPid(host, service))
    .filter((pid): pid is number => pid !== undefined);
  return {
    haproxy: host.pids("haproxy").sort(),
    keepalived: host.pids("keepalived").sort(),
    nginx: host.pids("nginx").sort(),
    // pids inside the host's pid namespace, as the stand-in recorded them
    k3s: standIn.sort(),
  };
}

/** Every process on the host whose command line names one of the daemons the program runs. */
export function runningDaemons(host: E2eHost): string[] {
  const found: string[] = [];
  for (const comm of ["haproxy", "keepalived", "nginx"]) {
    if (host.pids(comm).length > 0) found.push(comm);
  }
  for (const pid of host.pids("node")) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes("/usr/local/bin/k3s")) found.push(`k3s stand-in (${cmd.trim()})`);
    } catch {
      // exited
    }
  }
  return found;
}

export async function hostAddresses(host: E2eHost): Promise<string[]> {
  const out = await host.exec("ip", ["-o", "-4", "addr", "show", "dev", HOST_IF], {
    allowFailure: true,
  });
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
}

/** GETs a URL from inside a host with curl (certificate not checked); "" when it fails. */
export function curlFrom(host: E2eHost, url: string): Promise<string> {
  return host.exec("curl", ["-ksS", "--max-time", "3", url], { allowFailure: true });
}

// ---- day 2: the stand-ins' datastore, history and running versions -------------------------

/** sha256 of a token's password part: how the stand-ins record tokens (never the token). */
export { passwordDigest as tokenDigest } from "./stand-in/tokens";

/** Every recorded install, start, failed start, stop, uninstall, killall, rotation of a host. */
export function standInEvents(host: E2eHost): StandInEvent[] {
  return parseEvents(readText(host, EVENTS_FILE) ?? "");
}

/** The host's events of these kinds, at or after `sinceMs` (epoch ms). */
export function eventsOf(host: E2eHost, kinds: EventKind[], sinceMs = 0): StandInEvent[] {
  return standInEvents(host).filter((e) => kinds.includes(e.kind) && Date.parse(e.at) >= sinceMs);
}

/** Successful starts of the K3s stand-in service (each restart is one). */
export const startsOf = (host: E2eHost, sinceMs = 0) => eventsOf(host, ["start"], sinceMs);
export const failedStartsOf = (host: E2eHost, sinceMs = 0) =>
  eventsOf(host, ["start-failed"], sinceMs);
/** Runs of k3s-uninstall.sh / k3s-agent-uninstall.sh. */
export const uninstallsOf = (host: E2eHost, sinceMs = 0) => eventsOf(host, ["uninstall"], sinceMs);

export interface DatastoreView {
  /** Node objects with Ready as the API shows it now (from each node's last heartbeat). */
  nodes: StandInNode[];
  members: EtcdMember[];
  removedMembers: DatastoreState["removedMembers"];
  registrations: DatastoreState["registrations"];
  rotations: DatastoreState["rotations"];
  /** sha256 digests of the server and node passwords the cluster accepts. */
  bootstrap: DatastoreState["bootstrap"];
  heartbeatAgeMs: Record<string, number>;
}

/**
 * The cluster as the stand-ins' datastore records it (read from the cluster-init server's disk,
 * so it works while processes are down), from the commands the program actually ran.
 */
export function datastoreOf(lab: E2eLab, keeper: HostName = "server-1"): DatastoreView {
  const text = fileText(lab.host(keeper), DATASTORE_PATH);
  const state = JSON.parse(text) as DatastoreState;
  const beats = readText(lab.host(keeper), HEARTBEATS_PATH);
  state.heartbeats = beats ? (JSON.parse(beats) as Record<string, number>) : {};
  const ds = new Datastore(state);
  const now = Date.now();
  return {
    nodes: ds.list(),
    members: state.members,
    removedMembers: state.removedMembers,
    registrations: state.registrations,
    rotations: state.rotations,
    bootstrap: state.bootstrap,
    heartbeatAgeMs: Object.fromEntries(
      Object.entries(state.heartbeats).map(([node, at]) => [node, now - at]),
    ),
  };
}

export interface NodeSummary {
  name: string;
  ready: string;
  kubeletVersion: string;
  labels: Record<string, string>;
  taints: Taint[];
  unschedulable: boolean;
  annotations: Record<string, string>;
}

export function clusterNodes(lab: E2eLab): NodeSummary[] {
  return datastoreOf(lab)
    .nodes.map((n) => ({
      name: n.metadata.name,
      ready: n.status.conditions.find((c) => c.type === "Ready")?.status ?? "",
      kubeletVersion: n.status.nodeInfo.kubeletVersion,
      labels: n.metadata.labels,
      taints: n.spec.taints,
      unschedulable: n.spec.unschedulable === true,
      annotations: n.metadata.annotations,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Node names of the etcd members, sorted. */
export function etcdMemberNodes(lab: E2eLab): string[] {
  return datastoreOf(lab)
    .members.map((m) => m.node)
    .sort();
}

export interface RunningVersion {
  /** What `k3s --version` on the host says (the binary on disk), or null without one. */
  binary: string | null;
  /** The version the running stand-in process reports, or null when none runs. */
  process: string | null;
  service: "k3s" | "k3s-agent" | null;
}

/**
 * Which version the binary on disk and the running process of a K3s host have: the process is
 * the unit's main process as systemd reports it, active, and the stand-in that became ready.
 */
export async function runningVersion(host: E2eHost): Promise<RunningVersion> {
  const out = await host.exec("sh", ["-c", "k3s --version 2>/dev/null | awk 'NR==1 {print $3}'"], {
    allowFailure: true,
  });
  const binary = out.trim() || null;
  for (const service of ["k3s", "k3s-agent"] as const) {
    const status = readText(host, `/run/k3s-stand-in/${service}.json`);
    if (!status) continue;
    const { pid, version } = JSON.parse(status) as { pid: number; version: string };
    const shown = await host.exec(
      "systemctl",
      ["show", "--property=ActiveState", "--property=MainPID", service],
      { allowFailure: true },
    );
    const props = new Map(
      shown
        .trim()
        .split("\n")
        .map((l) => l.split("=", 2) as [string, string]),
    );
    const [active, mainPid] = [props.get("ActiveState"), props.get("MainPID")];
    if (active === "active" && Number(mainPid) === pid)
      return { binary, process: version, service };
  }
  return { binary, process: null, service: null };
}

export interface AgentHeartbeats {
  ok: number;
  failed: number;
  lastOkAt: string;
  lastOkVia: string;
  lastFailure: string;
  deleted: boolean;
}

/** An agent's status updates since its last start (its link to the servers after joining). */
export function agentHeartbeats(host: E2eHost): AgentHeartbeats | null {
  const text = readText(host, "/run/k3s-stand-in/k3s-agent-heartbeats.json");
  return text ? (JSON.parse(text) as AgentHeartbeats) : null;
}
