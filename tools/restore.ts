/**
 * Restores a stack's K3s cluster from an etcd snapshot, as K3s's documentation describes it for
 * several servers (docs.k3s.io cli/etcd-snapshot, "Restoring a snapshot"; pkg/cluster/managed.go
 * start, pkg/etcd/etcd.go Reset and Restore):
 *
 *   npm run restore -- --stack <stack> --snapshot <name|latest> [--yes]
 *
 * It reads Pulumi.<stack>.yaml (no backend, no secret), connects to every server and agent over
 * SSH with the pinned host keys, lists the snapshot files the servers hold, prints the plan and
 * asks (off a terminal it needs --yes); then stops K3s on every server, runs
 * `k3s server --cluster-reset --cluster-reset-restore-path=<file>` on the first server, starts
 * it, moves the other servers' server/db aside and starts them one at a time (they rejoin as new
 * etcd members), and waits until every server is Ready, etcd lists exactly the stack's servers and
 * every agent is Ready. Each step is said as it starts; every wait is bounded. The stack's files
 * and steps are untouched, so the next `pulumi up` has nothing to do.
 */
import * as path from "path";
import * as readline from "readline";
import {
  K3S_DB_DIR,
  PlanArgs,
  RESTORE_USAGE,
  RestoreHost,
  RestoreUsageError,
  Snapshot,
  confirmationMode,
  listingText,
  parseListing,
  pickSnapshot,
  planSteps,
  planText,
  readRestoreOptions,
  readRestoreTargets,
} from "./restore-plan";
import { HostSession, credentialsFor } from "./restore-ssh";
import { readStackText } from "./stack-file";

export const REPO_ROOT = path.resolve(__dirname, "..");

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Bounds, in seconds. */
const STOP_S = 120;
const RESET_S = 600;
const START_S = 300;
const NODE_READY_S = 300;
const CLUSTER_S = 300;
const AGENT_GRACE_S = 60;
const AGENT_RESTART_S = 180;
const COPY_S = 600;
const QUERY_S = 30;

const LIST = `
dir=$1
if [ -d "$dir" ]; then
  cd "$dir" || exit 1
  for f in *; do
    [ -f "$f" ] && printf 'file %s\\n' "$(stat -c '%s %Y %n' -- "$f")"
  done
fi
for f in /etc/rancher/k3s/config.yaml /etc/rancher/k3s/config.yaml.d/*.yaml; do
  if [ -f "$f" ] && grep -Eq '^[[:space:]]*"?etcd-s3"?[[:space:]]*:[[:space:]]*"?[Tt]rue' "$f"; then
    echo s3; break
  fi
done
command -v k3s >/dev/null 2>&1 || echo no-k3s
exit 0
`;

const STOP = `timeout ${STOP_S} systemctl stop k3s`;

const RESET = `
file=$1 s3=$2
set -- --cluster-reset "--cluster-reset-restore-path=$file"
if [ "$s3" = yes ]; then set -- "$@" --etcd-s3=false; fi
timeout ${RESET_S} k3s server "$@" 2>&1
code=$?
if [ "$code" -ne 0 ]; then echo "k3s server --cluster-reset exited $code" >&2; exit 1; fi
[ -f ${K3S_DB_DIR}/reset-flag ] || { echo "k3s exited 0 but wrote no ${K3S_DB_DIR}/reset-flag: no reset happened" >&2; exit 1; }
`;

const START_READY = `
timeout ${START_S} systemctl start k3s || { echo "systemctl start k3s failed or took over ${START_S} s" >&2; exit 1; }
i=0
while [ "$i" -lt ${START_S / 2} ]; do
  k3s kubectl get --raw=/readyz >/dev/null 2>&1 && exit 0
  i=$((i + 1)); sleep 2
done
echo "the API did not answer /readyz within ${START_S} s" >&2; exit 1
`;

const PEER_START = `
db=$1 stamp=$2
if [ -d "$db" ]; then mv "$db" "$db-before-restore-$stamp" || exit 1; fi
timeout ${START_S} systemctl start k3s || { echo "systemctl start k3s failed or took over ${START_S} s" >&2; exit 1; }
`;

const NODES = `k3s kubectl get nodes -o json`;

/** /db/info (etcd's member list) as the server user, with the password K3s keeps in server/token. */
const MEMBERS = `
token=$(cat /var/lib/rancher/k3s/server/token) || exit 1
password=\${token#*::server:}
body=$(mktemp)
code=$(printf 'user = "server:%s"\\n' "$password" | curl -sS -K - --max-time 10 --cacert /var/lib/rancher/k3s/server/tls/server-ca.crt -o "$body" -w '%{http_code}' https://127.0.0.1:6443/db/info) || { rm -f "$body"; exit 1; }
echo "$code"; cat "$body"; rm -f "$body"
`;

const AGENT_RESTART = `timeout ${AGENT_RESTART_S} systemctl restart k3s-agent`;

export interface RestoreIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Whether stdin and stdout are a terminal (a question can be asked). */
  interactive: boolean;
  ask: (question: string) => Promise<string>;
  now: () => number;
}

class StepFailed extends Error {}

function tail(text: string, lines = 15): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

async function must(
  session: HostSession,
  what: string,
  script: string,
  args: string[],
  timeoutS: number,
): Promise<string> {
  const r = await session.run(script, args, timeoutS * 1000);
  if (r.code !== 0) {
    throw new StepFailed(
      `${session.host.name}: ${what} failed (exit ${r.code})${r.stderr || r.stdout ? `:\n${tail(`${r.stdout}\n${r.stderr}`)}` : ""}`,
    );
  }
  return r.stdout;
}

interface NodeState {
  name: string;
  ready: boolean;
}

async function nodes(first: HostSession): Promise<NodeState[]> {
  const r = await first.run(NODES, [], QUERY_S * 1000);
  if (r.code !== 0) return [];
  try {
    const items = (
      JSON.parse(r.stdout) as {
        items: {
          metadata: { name: string };
          status: { conditions?: { type: string; status: string }[] };
        }[];
      }
    ).items;
    return items.map((n) => ({
      name: n.metadata.name,
      ready: n.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true,
    }));
  } catch {
    return [];
  }
}

/** The addresses etcd's members peer on, or why they could not be read. */
async function memberAddresses(first: HostSession): Promise<string[] | string> {
  const r = await first.run(MEMBERS, [], QUERY_S * 1000);
  const [status, ...body] = r.stdout.split("\n");
  if (r.code !== 0 || status !== "200") return `/db/info answered ${status || `exit ${r.code}`}`;
  try {
    const members = (JSON.parse(body.join("\n")) as { members: { peerURLs?: string[] }[] }).members;
    return members.map(
      (m) => /^https:\/\/\[?([^\]/]+?)\]?:\d+/.exec(m.peerURLs?.[0] ?? "")?.[1] ?? "?",
    );
  } catch {
    return "/db/info answered no member list";
  }
}

/** Polls `check` every 2 s until it returns undefined; else fails after `seconds` with its last word. */
async function waitUntil(
  seconds: number,
  what: string,
  check: () => Promise<string | undefined>,
  now: () => number,
): Promise<void> {
  const deadline = now() + seconds * 1000;
  let last = "";
  for (;;) {
    const missing = await check().catch((err: Error) => err.message);
    if (missing === undefined) return;
    last = missing;
    if (now() >= deadline)
      throw new StepFailed(`gave up after ${seconds} s waiting for ${what}: ${last}`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

function notReady(all: NodeState[], wanted: RestoreHost[]): string | undefined {
  const missing = wanted.filter((h) => !all.some((n) => n.name === h.name && n.ready));
  return missing.length === 0 ? undefined : `not Ready: ${missing.map((h) => h.name).join(", ")}`;
}

export async function runRestore(argv: string[], io: RestoreIo): Promise<number> {
  let options;
  let targets;
  try {
    options = readRestoreOptions(argv, REPO_ROOT);
    targets = readRestoreTargets(readStackText(options.file), options.shown);
  } catch (err) {
    const message = (err as Error).message;
    io.err(
      message === ""
        ? `${RESTORE_USAGE}\n`
        : `restore: ${message}\n${message.startsWith("--") ? `\n${RESTORE_USAGE}\n` : ""}`,
    );
    return message === "" ? EXIT_OK : EXIT_USAGE;
  }
  let creds;
  try {
    creds = credentialsFor(targets.user, targets.privateKeyPath, io.env);
  } catch (err) {
    io.err(`restore: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }

  const sessions = new Map<string, HostSession>();
  const say = (text: string) => io.out(`${text}\n`);
  try {
    say(
      `connecting to ${[...targets.servers, ...targets.agents].map((h) => h.name).join(", ")} (pinned host keys)`,
    );
    const all = [...targets.servers, ...targets.agents];
    const connected = await Promise.allSettled(all.map((h) => HostSession.connect(h, creds)));
    const failures: string[] = [];
    connected.forEach((c, i) => {
      if (c.status === "fulfilled") sessions.set(all[i].name, c.value);
      else failures.push((c.reason as Error).message);
    });
    if (failures.length > 0) {
      throw new StepFailed(
        `cannot reach every host; nothing was changed:\n  ${failures.join("\n  ")}`,
      );
    }
    const server = (h: RestoreHost) => sessions.get(h.name)!;

    const snapshots: Snapshot[] = [];
    const s3Servers: string[] = [];
    for (const s of targets.servers) {
      const out = await must(
        server(s),
        "listing the snapshots",
        LIST,
        [targets.snapshotDir],
        QUERY_S,
      );
      if (out.split("\n").includes("no-k3s"))
        throw new StepFailed(`${s.name}: K3s is not installed there`);
      if (out.split("\n").includes("s3")) s3Servers.push(s.name);
      const lines = out
        .split("\n")
        .filter((l) => l.startsWith("file "))
        .map((l) => l.slice(5));
      snapshots.push(...parseListing(s.name, lines.join("\n")));
    }
    say(listingText(snapshots, s3Servers));
    const [first, ...peers] = targets.servers;
    const snapshot = pickSnapshot(snapshots, options.snapshot, first.name);
    const plan: PlanArgs = {
      targets,
      snapshot,
      s3: s3Servers.includes(first.name),
      stamp: Math.floor(io.now() / 1000),
    };
    say(planText(plan));
    if (confirmationMode(options.yes, io.interactive) === "ask") {
      const answer = await io.ask(`Restore ${snapshot.name}? Type yes to go on: `);
      if (answer.trim() !== "yes") {
        say("not confirmed: nothing was changed");
        return EXIT_FAILED;
      }
    }

    const steps = planSteps(plan);
    let n = 0;
    const step = () => say(`==> ${++n}/${steps.length} ${steps[n - 1]}`);
    const started = io.now();

    step();
    for (const s of [...targets.servers].reverse()) {
      await must(server(s), "systemctl stop k3s", STOP, [], STOP_S + 10);
      say(`    ${s.name}: K3s stopped`);
    }
    const file = `${targets.snapshotDir}/${snapshot.name}`;
    if (snapshot.server !== first.name) {
      step();
      await must(
        server(first),
        "creating the snapshot directory",
        `mkdir -p -m 700 "$1"`,
        [targets.snapshotDir],
        QUERY_S,
      );
      await sessions.get(snapshot.server)!.copyFileTo(server(first), file, file, COPY_S * 1000);
      say(`    copied to ${first.name}:${file}`);
    }
    step();
    const reset = await must(
      server(first),
      "the cluster reset",
      RESET,
      [file, plan.s3 ? "yes" : "no"],
      RESET_S + 30,
    );
    const said = reset.split("\n").find((l) => l.includes("restart without --cluster-reset"));
    say(
      `    ${first.name}: ${said ? said.replace(/^.*?(Managed etcd|Etcd is running)/, "$1") : "reset done (reset-flag written)"}`,
    );
    step();
    await must(server(first), "starting K3s", START_READY, [], START_S * 2 + 30);
    say(`    ${first.name}: K3s started, /readyz answers`);
    for (const peer of peers) {
      step();
      await must(
        server(peer),
        "moving server/db aside and starting K3s",
        PEER_START,
        [K3S_DB_DIR, String(plan.stamp)],
        START_S + 30,
      );
      await waitUntil(
        NODE_READY_S,
        `${peer.name}'s node to be Ready`,
        async () => notReady(await nodes(server(first)), [peer]),
        io.now,
      );
      say(`    ${peer.name}: rejoined, Ready`);
    }
    step();
    const wantAddresses = targets.servers.map((s) => s.address).sort();
    await waitUntil(
      CLUSTER_S,
      "every server Ready and etcd listing exactly the stack's servers",
      async () => {
        const down = notReady(await nodes(server(first)), targets.servers);
        if (down) return down;
        const members = await memberAddresses(server(first));
        if (typeof members === "string") return members;
        const got = [...members].sort();
        return JSON.stringify(got) === JSON.stringify(wantAddresses)
          ? undefined
          : `etcd members peer on ${got.join(", ")}, the stack's servers are ${wantAddresses.join(", ")}`;
      },
      io.now,
    );
    say(
      `    etcd members: ${targets.servers.map((s) => `${s.name} (${s.address})`).join(", ")}; every server Ready`,
    );
    if (targets.agents.length > 0) {
      step();
      try {
        await waitUntil(
          AGENT_GRACE_S,
          "the agents to be Ready",
          async () => notReady(await nodes(server(first)), targets.agents),
          io.now,
        );
      } catch {
        const states = await nodes(server(first));
        const late = targets.agents.filter(
          (a) => !states.some((s) => s.name === a.name && s.ready),
        );
        for (const agent of late) {
          say(`    ${agent.name}: not Ready after ${AGENT_GRACE_S} s: systemctl restart k3s-agent`);
          await must(
            sessions.get(agent.name)!,
            "systemctl restart k3s-agent",
            AGENT_RESTART,
            [],
            AGENT_RESTART_S + 10,
          );
        }
        await waitUntil(
          NODE_READY_S,
          "the agents to be Ready",
          async () => notReady(await nodes(server(first)), targets.agents),
          io.now,
        );
      }
      say(`    agents Ready: ${targets.agents.map((a) => a.name).join(", ")}`);
    }
    say(
      `restored ${snapshot.name} in ${Math.round((io.now() - started) / 1000)} s. The peers' earlier data is in ${K3S_DB_DIR}-before-restore-${plan.stamp} on ${peers.map((p) => p.name).join(", ") || "no host"}; remove it once the cluster is as it should be.`,
    );
    return EXIT_OK;
  } catch (err) {
    if (err instanceof RestoreUsageError) {
      io.err(`restore: ${err.message}\n`);
      return EXIT_USAGE;
    }
    io.err(`restore: ${(err as Error).message}\n`);
    return EXIT_FAILED;
  } finally {
    for (const s of sessions.values()) s.end();
  }
}

if (require.main === module) {
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  void runRestore(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
    interactive,
    ask: (question) =>
      new Promise((resolve) => {
        const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
        rl.question(question, (answer) => {
          rl.close();
          resolve(answer);
        });
      }),
    now: Date.now,
  }).then((code) => {
    process.exitCode = code;
  });
}
