/**
 * Reads a lab host's state from outside, as an operator reads a real host, so that every check
 * holds against real K3s and its real installer as well as against the stand-ins: files (hashes,
 * modes, birth times), the K3s units the installer writes and the process each runs (its argument
 * list, start time, the binary it runs and what that binary says its version is), systemd's
 * journal of each unit, the LB daemons and the VIP, what a client sees over HTTPS. Where K3s's own
 * API is the only place a thing shows (node objects, etcd members, which token the cluster
 * accepts), it asks that API on server-1 as a user would: `k3s kubectl` with the admin kubeconfig,
 * the supervisor's /db/info with the server token K3s keeps. Nothing here reads a record kept for
 * tests (the stand-ins keep none).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { E2eHost } from "./host";
import { E2eLab } from "./lab";
import { HOST_ADDRESSES, HOST_IF, HostName } from "./constants";
import { parentPid, pidsInPidNamespace } from "../shared/processes";
import { sleep } from "../shared/sh";

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

/** What the installer installs and K3s keeps, at the installer's default paths. */
export const K3S_BINARY = "/usr/local/bin/k3s";
export const K3S_DATA_DIR = "/var/lib/rancher/k3s";
export const K3S_CONFIG_DIR = "/etc/rancher/k3s";
export const K3S_SERVER_CA = `${K3S_DATA_DIR}/server/tls/server-ca.crt`;
/** The full server token (K10<CA hash>::server:<password>) K3s keeps on every server. */
export const K3S_SERVER_TOKEN = `${K3S_DATA_DIR}/server/token`;
/** The CA an agent trusts for its servers, as K3s keeps it. */
export const K3S_AGENT_CA = `${K3S_DATA_DIR}/agent/server-ca.crt`;

export type K3sUnit = "k3s" | "k3s-agent";
export const K3S_UNITS: readonly K3sUnit[] = ["k3s", "k3s-agent"];

/** The files install.sh writes for a unit (create_systemd_service_file, create_env_file, ...). */
export function installedFiles(unit: K3sUnit) {
  return {
    unit: `/etc/systemd/system/${unit}.service`,
    env: `/etc/systemd/system/${unit}.service.env`,
    uninstall: `/usr/local/bin/${unit}-uninstall.sh`,
    killall: "/usr/local/bin/k3s-killall.sh",
  };
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

/** When a file or directory was created (epoch ms, statx birth time); undefined when absent. */
export function bornAtMs(host: E2eHost, p: string): number | undefined {
  try {
    const st = fs.statSync(host.hostPath(p));
    if (!st.birthtimeMs)
      throw new Error(`${host.name}: no birth time for ${p} on this file system`);
    return st.birthtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

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

// ---- processes --------------------------------------------------------------------------------

/**
 * A process's argument list from K3s's binary on: `/usr/local/bin/k3s server ...` (a K3s binary
 * runs as itself; the stand-in, a node script, runs as `node /usr/local/bin/k3s server ...`).
 */
function k3sArgv(cmdline: string[]): string[] | undefined {
  const i = cmdline.indexOf(K3S_BINARY);
  return i >= 0 ? cmdline.slice(i) : undefined;
}

/** Host-side pids of the long-running K3s processes on a host (`k3s server`, `k3s agent`). */
export function k3sPids(host: E2eHost): number[] {
  const pids: number[] = [];
  for (const pid of pidsInPidNamespace(host.pid1)) {
    try {
      const argv = k3sArgv(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"));
      if (argv && ["server", "agent"].includes(argv[1])) pids.push(pid);
    } catch {
      // exited while scanning
    }
  }
  return pids.sort((a, b) => a - b);
}

/**
 * Host-side pids of a daemon's long-lived processes: its main process and their direct children
 * (HAProxy's worker, KeepAlived's VRRP child, Nginx's workers). A process named like the daemon
 * whose parent and grandparent are too is a transient fork and is left out: KeepAlived's VRRP
 * process forks every second to run the check script, and the fork is named keepalived until it
 * execs (a run caught one: lb-1 keepalived 11606,11609,13855 before an up, 11606,11609 after).
 */
export function daemonProcesses(host: E2eHost, comm: string): number[] {
  const pids = host.pids(comm);
  const named = new Set(pids);
  return pids
    .filter((pid) => {
      try {
        const parent = parentPid(pid);
        return !named.has(parent) || !named.has(parentPid(parent));
      } catch {
        return false; // exited while we looked
      }
    })
    .sort((a, b) => a - b);
}

/** Host-side pids of the LB daemons and of K3s (`k3s server|agent`) on a host. */
export function daemonPids(host: E2eHost): Record<string, number[]> {
  return {
    haproxy: daemonProcesses(host, "haproxy"),
    keepalived: daemonProcesses(host, "keepalived"),
    nginx: daemonProcesses(host, "nginx"),
    k3s: k3sPids(host),
  };
}

/** Every daemon the program runs that still runs on the host. */
export function runningDaemons(host: E2eHost): string[] {
  const found: string[] = [];
  for (const comm of ["haproxy", "keepalived", "nginx"]) {
    if (host.pids(comm).length > 0) found.push(comm);
  }
  for (const pid of k3sPids(host)) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      found.push(`k3s (${cmd.trim()})`);
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

/** GETs a URL from inside a host, the server's certificate verified against `caFile` there. */
export function curlVerified(host: E2eHost, url: string, caFile: string): Promise<string> {
  return host.exec("curl", ["-sS", "--max-time", "3", "--cacert", caFile, url], {
    allowFailure: true,
  });
}

/**
 * The subject alternative names of the certificate `address`:6443 serves, as a client on `from`
 * receives it ("IP:10.77.0.100", "DNS:localhost", ...).
 */
export async function servedSans(from: E2eHost, address: string): Promise<string[]> {
  const out = await from.exec(
    "sh",
    [
      "-c",
      'openssl s_client -connect "$1:6443" </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName',
      "sh",
      address,
    ],
    { allowFailure: true },
  );
  return [...out.matchAll(/(IP Address|DNS):([^,\s]+)/g)].map(
    (m) => `${m[1] === "DNS" ? "DNS" : "IP"}:${m[2]}`,
  );
}

// ---- K3s on a host, as the host shows it ------------------------------------------------------

/** The ExecStart of a K3s unit file, unquoted: [binary, command, ...arguments]; null without one. */
export function unitExecStart(host: E2eHost, unit: K3sUnit): string[] | null {
  const text = readText(host, installedFiles(unit).unit);
  if (text === undefined) return null;
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith("ExecStart="));
  if (start < 0) return null;
  const words: string[] = [];
  for (let i = start, line = lines[i].slice("ExecStart=".length); ; line = lines[++i]) {
    const more = /\s\\$/.test(line);
    const word = line.replace(/\s\\$/, "").trim();
    // install.sh quote(): each argument in single quotes, a quote inside as '\''.
    if (word) words.push(word.replace(/^'(.*)'$/s, "$1").replace(/'\\''/g, "'"));
    if (!more || i + 1 >= lines.length) break;
  }
  return words;
}

/**
 * K3s's configuration file as K3s reads it: config.yaml, then each config.yaml.d/*.yaml in name
 * order (a key replaces, `key+` appends; docs.k3s.io installation/configuration).
 */
export function k3sConfig(host: E2eHost): Record<string, unknown> {
  const files = [`${K3S_CONFIG_DIR}/config.yaml`];
  const dropIns = host.hostPath(`${K3S_CONFIG_DIR}/config.yaml.d`);
  if (fs.existsSync(dropIns)) {
    for (const f of fs.readdirSync(dropIns).sort()) {
      if (/\.ya?ml$/.test(f)) files.push(`${K3S_CONFIG_DIR}/config.yaml.d/${f}`);
    }
  }
  const config: Record<string, unknown> = {};
  for (const file of files) {
    const text = readText(host, file);
    const doc = text ? ((parse(text) as Record<string, unknown> | null) ?? {}) : {};
    for (const [key, value] of Object.entries(doc)) {
      if (key.endsWith("+")) {
        const k = key.slice(0, -1);
        const before = config[k] === undefined ? [] : [config[k]].flat();
        config[k] = [...before, ...[value].flat()];
      } else config[key] = value;
    }
  }
  return config;
}

export interface UnitStatus {
  unit: K3sUnit;
  /** LoadState: loaded, not-found (no unit file, or systemd forgot it), ... */
  loadState: string;
  /** ActiveState: active (a Type=notify unit: its main process said READY=1), activating, ... */
  activeState: string;
  /** UnitFileState: enabled, disabled, "" when there is no unit file. */
  unitFileState: string;
  /** The main process's pid inside the host, 0 when none. */
  mainPid: number;
}

/** systemd's view of a unit. */
export async function unitStatus(host: E2eHost, unit: K3sUnit): Promise<UnitStatus> {
  const out = await host.exec(
    "systemctl",
    ["show", "-p", "LoadState", "-p", "ActiveState", "-p", "UnitFileState", "-p", "MainPID", unit],
    { allowFailure: true },
  );
  const props = new Map(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
  );
  return {
    unit,
    loadState: props.get("LoadState") ?? "",
    activeState: props.get("ActiveState") ?? "",
    unitFileState: props.get("UnitFileState") ?? "",
    mainPid: Number(props.get("MainPID") ?? 0),
  };
}

export interface K3sProcess {
  unit: K3sUnit;
  /** The unit's state (active: it reported ready). */
  activeState: string;
  /** Pid inside the host's pid namespace (the unit's MainPID). */
  pid: number;
  /** Its arguments from the K3s binary on: ["/usr/local/bin/k3s", "server", ...]. */
  argv: string[];
  /** When it started (epoch ms, from /proc/<pid>/stat; ±10 ms). */
  startedAtMs: number;
  /** The file it runs, as /proc shows it: "/usr/local/bin/k3s", or "... (deleted)" once replaced. */
  runs: string;
  /** What that very binary says its version is (`--version`), null when unreadable. */
  version: string | null;
}

/**
 * Run inside a host with the main pid: the clock and uptime, /proc/<pid>/stat, the argument list,
 * the binary the process runs (/proc/<pid>/exe when that is a K3s binary; a process run by an
 * interpreter has its script open instead) and that binary's `--version`, run from a copy.
 */
const PROCESS_PROBE = `
pid=$1
printf 'now %s %s %s\\n' "$(date +%s%N)" "$(cut -d' ' -f1 /proc/uptime)" "$(getconf CLK_TCK)"
printf 'stat %s\\n' "$(cat /proc/$pid/stat)"
tr '\\0' '\\n' </proc/$pid/cmdline | sed 's/^/arg /'
runs=
for link in /proc/$pid/exe /proc/$pid/fd/*; do
  target=$(readlink "$link") || continue
  case "$target" in
    */k3s | */k3s" (deleted)" | */k3s-server | */k3s-agent) runs=$link; printf 'runs %s\\n' "$target"; break ;;
  esac
done
[ -n "$runs" ] || exit 0
copy=$(mktemp /run/k3sha-e2e-running.XXXXXX)
cat "$runs" >"$copy" && chmod 700 "$copy" && printf 'version %s\\n' "$("$copy" --version 2>/dev/null | awk 'NR==1 {print $3}')"
rm -f "$copy"
`;

/**
 * The K3s unit on the host that has a main process (k3s, else k3s-agent), and that process; null
 * when neither has one (stopped, failed, uninstalled).
 */
export async function k3sProcess(host: E2eHost): Promise<K3sProcess | null> {
  for (const unit of K3S_UNITS) {
    const status = await unitStatus(host, unit);
    if (status.mainPid <= 0) continue;
    const out = await host.exec("sh", ["-c", PROCESS_PROBE, "sh", String(status.mainPid)], {
      allowFailure: true,
    });
    const lines = out.split("\n");
    const field = (key: string) =>
      lines.filter((l) => l.startsWith(`${key} `)).map((l) => l.slice(key.length + 1));
    const [nowNs, uptime, ticks] = (field("now")[0] ?? "").split(" ");
    const stat = field("stat")[0] ?? "";
    const startTicks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const argv = k3sArgv(field("arg"));
    if (!argv || !Number.isFinite(startTicks)) continue; // exited meanwhile, or not K3s
    const nowMs = Number(BigInt(nowNs) / 1_000_000n);
    return {
      unit,
      activeState: status.activeState,
      pid: status.mainPid,
      argv,
      startedAtMs: Math.round(nowMs - (Number(uptime) - startTicks / Number(ticks)) * 1000),
      runs: field("runs")[0] ?? "",
      version: field("version")[0] || null,
    };
  }
  return null;
}

export interface RunningVersion {
  /** What `k3s --version` on the host says (the binary on disk), or null without one. */
  binary: string | null;
  /** The version of the binary the unit's main process runs, or null when no unit is active. */
  process: string | null;
  service: K3sUnit | null;
}

/**
 * Which version the binary on disk and the running process of a K3s host have: the process is
 * the main process of a unit systemd reports active (for a Type=notify unit: ready), and its
 * version is what the binary it runs says (a binary replaced under it still answers).
 */
export async function runningVersion(host: E2eHost): Promise<RunningVersion> {
  const out = await host.exec(
    "sh",
    ["-c", `${K3S_BINARY} --version 2>/dev/null | awk 'NR==1 {print $3}'`],
    { allowFailure: true },
  );
  const binary = out.trim() || null;
  const running = await k3sProcess(host);
  if (!running || running.activeState !== "active") {
    return { binary, process: null, service: null };
  }
  return { binary, process: running.version, service: running.unit };
}

// ---- systemd's journal of the K3s units ------------------------------------------------------

/** systemd's catalogue message ids (systemd/sd-messages.h) for a unit's jobs and results. */
const UNIT_MESSAGES: Record<string, UnitRecord["kind"]> = {
  "7d4958e842da4a758f6c1cdc7b36dcc5": "starting", // SD_MESSAGE_UNIT_STARTING
  "39f53479d3a045ac8e11786248231fbf": "started", // SD_MESSAGE_UNIT_STARTED (job done)
  be02cf6855d2428ba40df7e9d022f03d: "start-failed", // SD_MESSAGE_UNIT_FAILED (start job failed)
  de5b426a63be47a7b6ac3eaac82e2f6f: "stopping", // SD_MESSAGE_UNIT_STOPPING
  "9d1aaa27d60140bd96365438aad20286": "stopped", // SD_MESSAGE_UNIT_STOPPED
  "7ad2d189f7e94e70a38c781354912448": "succeeded", // SD_MESSAGE_UNIT_SUCCESS (deactivated)
  d9b373ed55a64feb8242e02dbe79a49c: "failed", // SD_MESSAGE_UNIT_FAILURE_RESULT
  "98e322203f7a4ed290d09fe03c09fe15": "exited", // SD_MESSAGE_UNIT_PROCESS_EXIT
  "5eb03494b6584870a536b337290809b3": "restart-scheduled", // SD_MESSAGE_UNIT_RESTART_SCHEDULED
};

export interface UnitRecord {
  unit: K3sUnit;
  /** Epoch ms (the journal's realtime timestamp). */
  at: number;
  kind:
    | "starting"
    | "started"
    | "start-failed"
    | "stopping"
    | "stopped"
    | "succeeded"
    | "failed"
    | "exited"
    | "restart-scheduled"
    /** A line the unit's own processes wrote (K3s's log). */
    | "log";
  message: string;
}

/** systemd's records of a unit and its processes' output, at or after `sinceMs`, oldest first. */
export async function unitJournal(
  host: E2eHost,
  unit: K3sUnit,
  sinceMs: number,
): Promise<UnitRecord[]> {
  const since = `@${Math.floor(sinceMs / 1000)}`;
  const out = await host.exec(
    "sh",
    [
      "-c",
      'journalctl --sync 2>/dev/null; journalctl --no-pager -o json -u "$1" --since "$2" --output-fields=MESSAGE_ID,MESSAGE,_PID',
      "sh",
      `${unit}.service`,
      since,
    ],
    { allowFailure: true, timeoutMs: 60_000 },
  );
  const records: UnitRecord[] = [];
  for (const line of out.split("\n")) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    const at = Number(entry.__REALTIME_TIMESTAMP) / 1000;
    if (at < sinceMs) continue;
    const raw = entry.MESSAGE;
    const message = Array.isArray(raw) ? Buffer.from(raw as number[]).toString() : String(raw);
    const id = typeof entry.MESSAGE_ID === "string" ? entry.MESSAGE_ID : undefined;
    if (id && UNIT_MESSAGES[id]) records.push({ unit, at, kind: UNIT_MESSAGES[id], message });
    else if (!id && entry._PID !== "1") records.push({ unit, at, kind: "log", message });
  }
  return records;
}

export interface K3sStart {
  unit: K3sUnit;
  /** When systemd started the start job, and when it was done (the unit reported ready). */
  startingAt: number;
  startedAt: number;
}

/** Every successful start (or restart) of the host's K3s units since `sinceMs`, oldest first. */
export async function k3sStarts(host: E2eHost, sinceMs: number): Promise<K3sStart[]> {
  const starts: K3sStart[] = [];
  for (const unit of K3S_UNITS) {
    let startingAt: number | undefined;
    for (const r of await unitJournal(host, unit, sinceMs)) {
      if (r.kind === "starting") startingAt = r.at;
      if (r.kind === "started")
        starts.push({ unit, startingAt: startingAt ?? r.at, startedAt: r.at });
    }
  }
  return starts.sort((a, b) => a.startedAt - b.startedAt);
}

/**
 * systemd's failure records of the host's K3s units since `sinceMs` (a main process that exited
 * with a failure, a start job that failed), each with the last line K3s wrote before it.
 */
export async function k3sFailures(host: E2eHost, sinceMs: number): Promise<string[]> {
  const failures: string[] = [];
  for (const unit of K3S_UNITS) {
    let said = "";
    for (const r of await unitJournal(host, unit, sinceMs)) {
      if (r.kind === "log") said = r.message;
      if (r.kind === "failed" || r.kind === "start-failed") {
        failures.push(`${r.message}${said ? ` (K3s: ${said})` : ""}`);
      }
    }
  }
  return failures;
}

// ---- the cluster, as K3s's API answers on a server -------------------------------------------

/** Runs a script on a server, again for up to `retryMs` while it fails (K3s restarting). */
async function onServer(host: E2eHost, script: string, args: string[], retryMs = 20_000) {
  const deadline = Date.now() + retryMs;
  for (;;) {
    const out = await host.exec("sh", ["-c", `${script}\necho "exit=$?"`, "sh", ...args], {
      allowFailure: true,
    });
    const m = /exit=(\d+)\n?$/.exec(out);
    if (m?.[1] === "0") return out.replace(/exit=\d+\n?$/, "");
    if (Date.now() > deadline) {
      throw new Error(`${host.name}: ${script.trim().split("\n")[0]} failed: ${out.trim()}`);
    }
    await sleep(500);
  }
}

export interface NodeSummary {
  name: string;
  ready: string;
  /** When the node last posted status (its Ready condition's lastHeartbeatTime), epoch ms. */
  lastHeartbeatMs: number;
  kubeletVersion: string;
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
  unschedulable: boolean;
  annotations: Record<string, string>;
  /** The arguments the node's K3s started with, config file entries included (k3s.io/node-args). */
  nodeArgs: string[];
}

interface ApiNode {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { unschedulable?: boolean; taints?: NodeSummary["taints"] };
  status: {
    conditions?: { type: string; status: string; lastHeartbeatTime?: string }[];
    nodeInfo: { kubeletVersion: string };
  };
}

/** The node objects, as `kubectl get nodes -o json` on a server (the admin kubeconfig) lists them. */
export async function clusterNodes(
  lab: E2eLab,
  via: HostName = "server-1",
): Promise<NodeSummary[]> {
  const out = await onServer(lab.host(via), "k3s kubectl get nodes -o json", []);
  const items = (JSON.parse(out) as { items: ApiNode[] }).items;
  return items
    .map((n) => {
      const ready = n.status.conditions?.find((c) => c.type === "Ready");
      const annotations = n.metadata.annotations ?? {};
      const args = annotations["k3s.io/node-args"];
      return {
        name: n.metadata.name,
        ready: ready?.status ?? "",
        lastHeartbeatMs: ready?.lastHeartbeatTime ? Date.parse(ready.lastHeartbeatTime) : 0,
        kubeletVersion: n.status.nodeInfo.kubeletVersion,
        labels: n.metadata.labels ?? {},
        taints: n.spec.taints ?? [],
        unschedulable: n.spec.unschedulable === true,
        annotations,
        nodeArgs: args ? (JSON.parse(args) as string[]) : [],
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Asks a server's supervisor for /db/info as the server user, with the password in $1 or, without
 * one, the one K3s keeps in server/token (read here, so it is in no argument list); prints the
 * HTTP status, then the body. Fails when nothing answers.
 */
const DB_INFO = `
password=$1
if [ -z "$password" ]; then token=$(cat ${K3S_SERVER_TOKEN}) && password=\${token#*::server:}; fi
body=$(mktemp)
code=$(printf 'user = "server:%s"\\n' "$password" | curl -sS -K - --max-time 5 --cacert ${K3S_SERVER_CA} -o "$body" -w '%{http_code}' https://127.0.0.1:6443/db/info) || { rm -f "$body"; exit 1; }
echo "$code"; cat "$body"; rm -f "$body"
`;

export interface EtcdMember {
  name: string;
  /** The lab host whose address the member's peer URL names. */
  node: string;
  peerURLs: string[];
  /** Set for a member that does not vote yet (etcd's MemberList: isLearner). */
  isLearner?: boolean;
}

/**
 * The etcd members as the cluster lists them: /db/info (etcd's MemberList), asked on a server as
 * the server user with the token K3s keeps in server/token.
 */
export async function etcdMembers(lab: E2eLab, via: HostName = "server-1"): Promise<EtcdMember[]> {
  const out = await onServer(lab.host(via), DB_INFO, [""]);
  const [status, ...body] = out.split("\n");
  if (status !== "200") throw new Error(`${via}: /db/info answered ${status}: ${body.join(" ")}`);
  const byAddress = new Map(Object.entries(HOST_ADDRESSES).map(([name, a]) => [a, name]));
  const members = (JSON.parse(body.join("\n")) as { members: Omit<EtcdMember, "node">[] }).members;
  return members.map((m) => ({
    ...m,
    node: byAddress.get(/^https:\/\/([^:/]+)/.exec(m.peerURLs[0] ?? "")?.[1] ?? "") ?? "",
  }));
}

/** Node names of the etcd members, sorted. */
export async function etcdMemberNodes(lab: E2eLab, via: HostName = "server-1"): Promise<string[]> {
  return (await etcdMembers(lab, via)).map((m) => m.node).sort();
}

/**
 * Whether a server's supervisor accepts `password` as the server user's (what a joining server
 * sends): /db/info answers 200, or 401.
 */
export async function serverPasswordAccepted(host: E2eHost, password: string): Promise<boolean> {
  const out = await onServer(host, DB_INFO, [password]);
  const status = out.split("\n")[0];
  if (status === "200") return true;
  if (status === "401") return false;
  throw new Error(`${host.name}: /db/info answered ${status}`);
}
