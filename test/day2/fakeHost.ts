/**
 * A FAKE K3s host for running the day-2 scripts locally: `k3s` (version, kubectl, etcd-snapshot,
 * token), `service`/`systemctl`, a `curl` that answers the local /ping and otherwise is the real
 * one, and a `sleep` that returns at once but advances the host's clock, which `date +%s` reads (so
 * bounded waits, which count wall time, end in milliseconds). State lives in
 * files in a temp dir; every command is recorded in order. It is not K3s: it answers only the
 * calls these scripts make, from the state the test sets up.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** One Kubernetes node as the fake kubectl reports it. */
export interface FakeNode {
  name: string;
  ready: boolean;
  etcd: boolean;
  kubeletVersion?: string;
}

export interface FakeHostState {
  /** Installed K3s version; absent means no k3s binary at all. */
  version?: string;
  /** Services that run (k3s, k3s-agent). */
  running?: string[];
  nodes?: FakeNode[];
  /** The local apiserver does not answer (a removed etcd member, a stopped server). */
  localApiDown?: boolean;
  drainFails?: boolean;
  /** `k3s token --help` lists no `rotate` (K3s before October 2023). */
  noTokenRotate?: boolean;
  /**
   * The node this host runs: its kubeletVersion is the version the running K3s process started
   * with (set at each start or restart), not the binary's.
   */
  self?: string;
  /** The running process's version when it differs from the binary's (a restart not yet done). */
  processVersion?: string;
  /** A restart leaves the old process running (its version does not change). */
  restartKeepsOldProcess?: boolean;
  /** A start or restart never reports ready (it blocks). */
  startHangs?: boolean;
  /** The next reload of a service fails (once). */
  reloadFailsOnce?: boolean;
}

const FAKE_K3S = `#!/bin/sh
D=$FAKE_K3S_STATE
echo "k3s $*" >>"$D/calls"
case "$1" in
  --version) [ -f "$D/version" ] || exit 1; echo "k3s version $(cat "$D/version") (fake)"; exit 0 ;;
  token) if [ -e "$D/no-token-rotate" ]; then echo "COMMANDS: create delete generate list"; else echo "COMMANDS: create delete generate list rotate"; fi; exit 0 ;;
  etcd-snapshot) exit 0 ;;
  kubectl) shift ;;
  *) exit 2 ;;
esac
server=""
if [ "$1" = --server ]; then server=$2; shift 2; fi
if [ -z "$server" ] && [ -e "$D/api-down" ]; then echo "connection refused" >&2; exit 1; fi
nodes="$D/nodes"
touch "$nodes"
has_node() { awk -v n="$1" '$1 == n {f = 1} END {exit !f}' "$nodes"; }
case "$1 $2" in
  "get --raw=/readyz" | "get --raw=/readyz/etcd") echo ok ;;
  "get nodes") awk '$3 == "etcd" {print $1 "=" $2}' "$nodes" ;;
  "get node")
    name=$3; has_node "$name" || { echo "NotFound" >&2; exit 1; }
    case "$*" in
      *conditions*) awk -v n="$name" '$1 == n {printf "%s", $2}' "$nodes" ;;
      *kubeletVersion*)
        if [ "$name" = "\${FAKE_SELF:-}" ] && [ -f "$D/process-version" ]; then cat "$D/process-version"
        else awk -v n="$name" '$1 == n {printf "%s", $4}' "$nodes"; fi ;;
      *removed-node-name*) if [ -e "$D/removed-$name" ]; then printf 'member-%s' "$name"; fi ;;
      *drained-for-upgrade*) if [ -e "$D/drained-$name" ]; then cat "$D/drained-$name"; fi ;;
      *) echo "$name" ;;
    esac ;;
  "annotate --overwrite")
    name=$4; has_node "$name" || exit 1
    case "$5" in
      etcd.k3s.cattle.io/remove=true) touch "$D/removed-$name" ;;
      k3s-ha/drained-for-upgrade=*) printf '%s' "\${5#*=}" >"$D/drained-$name" ;;
    esac ;;
  "annotate node") rm -f "$D/drained-$3" ;;
  "drain "*) [ ! -e "$D/drain-fails" ] || exit 1 ;;
  "uncordon "*) : ;;
  "delete node")
    awk -v n="$3" '$1 != n' "$nodes" >"$nodes.new"; mv "$nodes.new" "$nodes" ;;
  *) echo "fake kubectl: unexpected $*" >&2; exit 3 ;;
esac
`;

const FAKE_SERVICE = `#!/bin/sh
D=$FAKE_K3S_STATE
echo "service $*" >>"$D/calls"
case "$2" in
  status) [ -e "$D/running-$1" ] ;;
  start | restart)
    if [ -e "$D/start-hangs" ]; then exec /bin/sleep 600; fi
    touch "$D/running-$1"
    if [ -f "$D/version" ] && [ ! -e "$D/restart-keeps-old" ]; then cp "$D/version" "$D/process-version"; fi ;;
  reload) if [ -e "$D/reload-fails-once" ]; then rm -f "$D/reload-fails-once"; exit 1; fi ;;
  stop) rm -f "$D/running-$1" ;;
esac
`;

const FAKE_SYSTEMCTL = `#!/bin/sh
D=$FAKE_K3S_STATE
echo "systemctl $*" >>"$D/calls"
case "$1" in
  is-active) [ -e "$D/running-$3" ] ;;
  start | restart) touch "$D/running-$2"; if [ -f "$D/version" ]; then cp "$D/version" "$D/process-version"; fi ;;
  stop) rm -f "$D/running-$2" ;;
  *) : ;;
esac
`;

const FAKE_CURL = `#!/bin/sh
for arg in "$@"; do
  case "$arg" in https://127.0.0.1:6443/ping) echo "curl ping" >>"$FAKE_K3S_STATE/calls"; printf pong; exit 0 ;; esac
done
exec ${fs.existsSync("/usr/bin/curl") ? "/usr/bin/curl" : "curl"} "$@"
`;

export interface RunOptions {
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  isolated?: boolean;
  /** Shell commands run inside the isolated namespace before the script. */
  setup?: string;
}

const ISOLATION =
  'set -e; for d in /var/lib /usr/local/bin; do mount -t tmpfs k3sha-test "$d"; done';

/** Returns at once; adds its whole seconds to the host's clock. */
const FAKE_SLEEP = `#!/bin/sh
c=$(cat "$FAKE_K3S_STATE/clock" 2>/dev/null || echo 0)
echo $((c + \${1%%[!0-9]*}0 / 10)) >"$FAKE_K3S_STATE/clock"
`;

/** \`date +%s\` reads the host's clock (a fixed start plus the fake sleeps); anything else is date. */
const FAKE_DATE = `#!/bin/sh
if [ "$*" = "+%s" ]; then echo $((1700000000 + $(cat "$FAKE_K3S_STATE/clock" 2>/dev/null || echo 0))); else exec /bin/date "$@"; fi
`;

/** A fake host: a bin dir to put first on PATH and the state files behind it. */
export class FakeHost {
  readonly dir: string;
  readonly bin: string;
  readonly state: string;
  private readonly self: string;

  constructor(initial: FakeHostState) {
    this.self = initial.self ?? "";
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-fake-host-"));
    this.bin = path.join(this.dir, "bin");
    this.state = path.join(this.dir, "state");
    fs.mkdirSync(this.bin);
    fs.mkdirSync(this.state);
    const tool = (name: string, text: string) =>
      fs.writeFileSync(path.join(this.bin, name), text, { mode: 0o755 });
    if (initial.version !== undefined) tool("k3s", FAKE_K3S);
    tool("service", FAKE_SERVICE);
    tool("systemctl", FAKE_SYSTEMCTL);
    tool("curl", FAKE_CURL);
    tool("sleep", FAKE_SLEEP);
    tool("date", FAKE_DATE);
    this.set(initial);
  }

  set(s: FakeHostState): void {
    const file = (name: string) => path.join(this.state, name);
    if (s.version !== undefined) fs.writeFileSync(file("version"), s.version);
    for (const service of s.running ?? []) fs.writeFileSync(file(`running-${service}`), "");
    // A running K3s runs the installed version unless the test says otherwise.
    const processVersion =
      s.processVersion ?? ((s.running ?? []).length > 0 ? s.version : undefined);
    if (processVersion !== undefined) fs.writeFileSync(file("process-version"), processVersion);
    if (s.nodes) {
      const line = (n: FakeNode) =>
        `${n.name} ${n.ready ? "True" : "False"} ${n.etcd ? "etcd" : "worker"} ${n.kubeletVersion ?? "-"}`;
      fs.writeFileSync(file("nodes"), s.nodes.map(line).join("\n") + "\n");
    }
    const flag = (name: string, on: boolean | undefined) => {
      if (on) fs.writeFileSync(file(name), "");
      else if (on === false) fs.rmSync(file(name), { force: true });
    };
    flag("api-down", s.localApiDown);
    flag("drain-fails", s.drainFails);
    flag("no-token-rotate", s.noTokenRotate);
    flag("restart-keeps-old", s.restartKeepsOldProcess);
    flag("start-hangs", s.startHangs);
    flag("reload-fails-once", s.reloadFailsOnce);
  }

  /** Every command the fakes saw, in order. */
  calls(): string[] {
    const file = path.join(this.state, "calls");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [];
  }

  nodeNames(): string[] {
    const file = path.join(this.state, "nodes");
    return fs.existsSync(file)
      ? fs
          .readFileSync(file, "utf8")
          .trim()
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => l.split(" ")[0])
      : [];
  }

  running(service: string): boolean {
    return fs.existsSync(path.join(this.state, `running-${service}`));
  }

  /** The version the running K3s process started with ("" when it never started). */
  processVersion(): string {
    const file = path.join(this.state, "process-version");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  }

  /**
   * Runs a script with the fakes first on PATH; asynchronous, so a test server can answer it.
   * `isolated` runs it in a private mount namespace with empty /var/lib and /usr/local/bin (root
   * only), after the `setup` commands, so scripts that write there leave this machine alone.
   */
  run(
    text: string,
    options: RunOptions = {},
  ): Promise<{ status: number; stdout: string; stderr: string }> {
    const [file, args]: [string, string[]] = options.isolated
      ? [
          "unshare",
          [
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            `${ISOLATION}\n${options.setup ?? ""}\nexec sh -c "$1"`,
            "isolated",
            text,
          ],
        ]
      : ["sh", ["-c", text]];
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        env: {
          ...process.env,
          ...options.env,
          PATH: `${this.bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
          FAKE_K3S_STATE: this.state,
          FAKE_SELF: this.self,
        },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ status: code ?? -1, stdout, stderr });
      });
      // A script that reads no stdin may have exited already: its closed pipe is no failure.
      child.stdin.on("error", () => {});
      child.stdin.end(options.stdin ?? "");
    });
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
