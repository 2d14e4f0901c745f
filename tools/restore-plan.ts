/**
 * What `npm run restore` decides before it touches a host: its arguments, the stack's servers and
 * agents (pinned host keys required), the snapshots the servers hold, which one to restore, and the
 * plan it prints. Pure, so every refusal is tested without hosts.
 */
import * as path from "path";
import { parseArgs } from "util";
import { parse } from "yaml";
import { readStackHosts, StackHost } from "./hostkeys-stack";

/** K3s's default etcd-snapshot-dir: ${data-dir}/server/db/snapshots (pkg/cli/cmds/server.go). */
export const DEFAULT_SNAPSHOT_DIR = "/var/lib/rancher/k3s/server/db/snapshots";
/** K3s's etcd data lives under here; the peers' copy is moved aside before they rejoin. */
export const K3S_DB_DIR = "/var/lib/rancher/k3s/server/db";

export class RestoreUsageError extends Error {}

export interface RestoreOptions {
  /** The stack file. */
  file: string;
  /** How messages name the stack file. */
  shown: string;
  /** A snapshot's file name, or "latest". */
  snapshot: string;
  yes: boolean;
}

export const RESTORE_USAGE = `usage: npm run restore -- --stack <stack> --snapshot <name|latest> [--yes]
  --stack <stack>        the stack whose servers to restore (Pulumi.<stack>.yaml)
  --file <path>          a stack file elsewhere, instead of --stack
  --snapshot <name>      a snapshot file name as listed (e.g. etcd-snapshot-server-1-1700000000),
                         or latest: the newest one any server holds
  --yes                  do not ask (needed when the input is not a terminal)
Lists the snapshots on every server, prints the plan and asks; then stops K3s on every server,
restores the snapshot on the first server (k3s server --cluster-reset
--cluster-reset-restore-path), starts it, moves the other servers' etcd data aside and starts them
one at a time, and waits until every server and agent is Ready and etcd has exactly the stack's
servers. Every wait is bounded.`;

/** A snapshot file name K3s writes: <name>-<node>-<unix>[.zip], no path, no shell syntax. */
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function readRestoreOptions(argv: string[], repoRoot: string): RestoreOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        stack: { type: "string" },
        file: { type: "string" },
        snapshot: { type: "string" },
        yes: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new RestoreUsageError((err as Error).message);
  }
  if (values.help) throw new RestoreUsageError("");
  const stack = values.stack;
  if (stack !== undefined && !/^[A-Za-z0-9_.-]{1,100}$/.test(stack)) {
    throw new RestoreUsageError(
      `--stack ${JSON.stringify(stack)}: not a stack name (letters, digits, '-', '_' or '.', as in Pulumi.<stack>.yaml)`,
    );
  }
  if (stack !== undefined && values.file !== undefined) {
    throw new RestoreUsageError("--stack and --file name the same thing: give one");
  }
  if (stack === undefined && values.file === undefined) {
    throw new RestoreUsageError("--stack is required (e.g. --stack dev)");
  }
  const snapshot = values.snapshot;
  if (snapshot === undefined) {
    throw new RestoreUsageError(
      "--snapshot is required: a snapshot file name, or latest (run with --snapshot latest to see the list first: it asks before it acts)",
    );
  }
  if (snapshot !== "latest" && !SNAPSHOT_NAME.test(snapshot)) {
    throw new RestoreUsageError(
      `--snapshot ${JSON.stringify(snapshot)}: not a snapshot file name (letters, digits, '.', '_', '-', no path), or latest`,
    );
  }
  return {
    file:
      values.file !== undefined
        ? path.resolve(values.file)
        : path.join(repoRoot, `Pulumi.${stack}.yaml`),
    shown: values.file ?? `Pulumi.${stack}.yaml`,
    snapshot,
    yes: values.yes === true,
  };
}

export interface RestoreHost {
  name: string;
  address: string;
  port: number;
  /** The pinned key, "<type> <base64>". */
  hostKey: string;
}

export interface RestoreTargets {
  servers: RestoreHost[];
  agents: RestoreHost[];
  user: string;
  privateKeyPath?: string;
  /** The etcd-snapshot-dir the servers use (extraServerArgs, else K3s's default). */
  snapshotDir: string;
}

function flagValue(args: unknown, flag: string): string | undefined {
  if (!Array.isArray(args)) return undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as unknown;
    if (typeof a !== "string") continue;
    const m = /^--?([A-Za-z0-9-]+)(?:=(.*))?$/.exec(a);
    if (!m || m[1] !== flag) continue;
    const next = args[i + 1] as unknown;
    return m[2] ?? (typeof next === "string" ? next : undefined);
  }
  return undefined;
}

/**
 * The stack's servers and agents, each with its pinned key; refused (one error naming every
 * problem) when a host is unpinned, a setting is malformed, or the stack goes through a bastion.
 */
export function readRestoreTargets(text: string, shown: string): RestoreTargets {
  let stack;
  try {
    stack = readStackHosts(text);
  } catch (err) {
    throw new RestoreUsageError(`${shown}: ${(err as Error).message}`);
  }
  const problems = [...stack.errors, ...stack.skipped.map((s) => `${s}: no name or address`)];
  if (stack.bastion) {
    problems.push(
      "sshBastion: npm run restore does not go through a bastion yet; run it from a machine that reaches the servers directly",
    );
  }
  const pick = (list: string) =>
    stack.hosts
      .filter((h: StackHost) => h.field.startsWith(`${list}[`))
      .map((h: StackHost) => {
        if (h.pinned === undefined) {
          problems.push(
            `${h.field}: ${h.name} pins no host key; pin it first (npm run hostkeys -- --stack <stack>): the restore sends no secret, but runs as root there`,
          );
        }
        return { name: h.name, address: h.address, port: h.port, hostKey: h.pinned ?? "" };
      });
  const servers = pick("servers");
  const agents = pick("agents");
  if (servers.length === 0) problems.push("servers: the stack lists no server");
  const config = parseArgsConfig(text) ?? {};
  const extra = config["k3s-ha:extraServerArgs"] ?? config.extraServerArgs;
  const dir = flagValue(extra, "etcd-snapshot-dir");
  if (dir !== undefined && !/^\/[A-Za-z0-9._/-]+$/.test(dir)) {
    problems.push(
      `extraServerArgs: --etcd-snapshot-dir ${JSON.stringify(dir)} is not an absolute path`,
    );
  }
  if (problems.length > 0) throw new RestoreUsageError(`${shown}:\n  ${problems.join("\n  ")}`);
  return {
    servers,
    agents,
    user: stack.user,
    ...(stack.privateKeyPath !== undefined && { privateKeyPath: stack.privateKeyPath }),
    snapshotDir: dir ?? DEFAULT_SNAPSHOT_DIR,
  };
}

/** The stack file's config map (the hosts reader already refused malformed YAML). */
function parseArgsConfig(text: string): Record<string, unknown> | undefined {
  const doc = parse(text) as { config?: Record<string, unknown> } | null;
  return doc?.config;
}

export interface Snapshot {
  /** The file name. */
  name: string;
  /** The server that holds it. */
  server: string;
  size: number;
  /** When it was taken: the unix time K3s puts at the end of the name, else the file's mtime. */
  takenAt: number;
}

/**
 * One server's listing, lines "<size> <mtime> <name>" (stat -c '%s %Y %n' in the snapshot dir).
 * K3s names snapshots <name>-<node>-<unix>[.zip] (pkg/etcd/snapshot.go Snapshot), the time they
 * were taken.
 */
export function parseListing(server: string, text: string): Snapshot[] {
  const out: Snapshot[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+) (\d+) (\S+)$/.exec(line.trim());
    if (!m || !SNAPSHOT_NAME.test(m[3])) continue;
    const stamp = /-(\d{9,11})(?:\.zip)?$/.exec(m[3]);
    out.push({
      name: m[3],
      server,
      size: Number(m[1]),
      takenAt: stamp ? Number(stamp[1]) : Number(m[2]),
    });
  }
  return out;
}

/** The snapshot asked for: by name, or the newest; an error lists what there is. */
export function pickSnapshot(snapshots: Snapshot[], wanted: string, firstServer: string): Snapshot {
  if (snapshots.length === 0) {
    throw new RestoreUsageError(
      "no etcd snapshot on any server: nothing to restore (take one with k3s etcd-snapshot save on a server)",
    );
  }
  // A copy on the first server is preferred: that is where the restore runs.
  const rank = (s: Snapshot) => (s.server === firstServer ? 0 : 1);
  if (wanted === "latest") {
    return [...snapshots].sort(
      (a, b) => b.takenAt - a.takenAt || rank(a) - rank(b) || a.name.localeCompare(b.name),
    )[0];
  }
  const found = snapshots.filter((s) => s.name === wanted).sort((a, b) => rank(a) - rank(b));
  if (found.length === 0) {
    const names = [...new Set(snapshots.map((s) => s.name))].sort();
    throw new RestoreUsageError(
      `--snapshot ${wanted}: no server holds it; snapshots found: ${names.join(", ")}`,
    );
  }
  return found[0];
}

function when(unix: number): string {
  return new Date(unix * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** The listing as printed: one line per snapshot and server, newest first. */
export function listingText(snapshots: Snapshot[], s3Servers: string[]): string {
  const lines = [...snapshots]
    .sort((a, b) => b.takenAt - a.takenAt || a.server.localeCompare(b.server))
    .map((s) => `  ${s.name}  on ${s.server}  ${s.size} bytes  taken ${when(s.takenAt)}`);
  if (lines.length === 0) lines.push("  (none)");
  const s3 =
    s3Servers.length > 0
      ? [
          `note: S3 snapshots are configured on ${s3Servers.join(", ")} (etcd-s3 in the secret config); this tool lists and restores local snapshot files only (with --etcd-s3=false, as K3s's docs say for a local file). Restoring from S3: docs/day2.md.`,
        ]
      : [];
  return [
    `etcd snapshots found (local files in each server's snapshot directory):`,
    ...lines,
    ...s3,
  ].join("\n");
}

export interface PlanArgs {
  targets: RestoreTargets;
  snapshot: Snapshot;
  s3: boolean;
  stamp: number;
}

/** The steps, as printed before asking and said again as each one runs. */
export function planSteps(a: PlanArgs): string[] {
  const [first, ...peers] = a.targets.servers;
  const file = `${a.targets.snapshotDir}/${a.snapshot.name}`;
  const steps = [
    `stop K3s on every server (${[...a.targets.servers]
      .reverse()
      .map((s) => s.name)
      .join(", ")}): systemctl stop k3s`,
  ];
  if (a.snapshot.server !== first.name) {
    steps.push(
      `copy ${a.snapshot.name} from ${a.snapshot.server} to ${first.name}:${a.targets.snapshotDir}/`,
    );
  }
  steps.push(
    `on ${first.name}: k3s server --cluster-reset --cluster-reset-restore-path=${file}${a.s3 ? " --etcd-s3=false" : ""} (its etcd data moves to ${K3S_DB_DIR}/etcd-old-<time>; etcd restarts as a cluster of ${first.name} alone)`,
    `on ${first.name}: systemctl start k3s, then wait for /readyz`,
  );
  for (const peer of peers) {
    steps.push(
      `on ${peer.name}: move ${K3S_DB_DIR} to ${K3S_DB_DIR}-before-restore-${a.stamp} (its etcd data and local snapshots), systemctl start k3s, wait until its node is Ready`,
    );
  }
  steps.push(
    `wait until every server is Ready and etcd lists exactly ${a.targets.servers.map((s) => s.name).join(", ")}`,
  );
  if (a.targets.agents.length > 0) {
    steps.push(
      `wait until every agent is Ready (${a.targets.agents.map((s) => s.name).join(", ")}); restart k3s-agent on one that is not after 60 s`,
    );
  }
  return steps;
}

export function planText(a: PlanArgs): string {
  return [
    `restore ${a.snapshot.name} (taken ${when(a.snapshot.takenAt)}, on ${a.snapshot.server}):`,
    ...planSteps(a).map((s, i) => `  ${i + 1}. ${s}`),
    "The cluster's API is down from step 1 until the first server is back; everything written since the snapshot is lost.",
    "The snapshot restores only with the server token that was in use when it was taken.",
  ].join("\n");
}

/** Whether to go on without asking; refuses when it cannot ask. */
export function confirmationMode(yes: boolean, interactive: boolean): "go" | "ask" {
  if (yes) return "go";
  if (!interactive) {
    throw new RestoreUsageError(
      "not a terminal: nothing to ask for a confirmation; read the plan above and run again with --yes to restore",
    );
  }
  return "ask";
}
