/**
 * Writes the stack's kubeconfig where kubectl finds it, with the cluster, user and context named
 * after the stack (or --context), so that two stacks never collide:
 *
 *   npm run kubeconfig -- --stack dev            ~/.kube/dev.yaml (0600), current context dev
 *   npm run kubeconfig -- --stack dev --merge    into ~/.kube/config, or $KUBECONFIG's first file
 *
 * The kubeconfig comes from `scripts/pulumi.sh stack output kubeconfig --show-secrets`: it holds
 * the cluster's admin credentials, so it is never printed, and no message quotes it or the file
 * it goes into. A merge replaces only the entries of its own name and leaves current-context as it
 * was, unless the file names none or --use-context is given (as k3sup --merge does: a merge should
 * not move the kubectl commands someone types next to another cluster).
 */
import { spawn } from "child_process";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import {
  checkContextName,
  checkStackName,
  ClusterEntries,
  KubeconfigError,
  readStackKubeconfig,
} from "./kubeconfig-entries";
import { readTarget, writeTarget } from "./kubeconfig-file";
import { mergeKubeconfig } from "./kubeconfig-merge";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const PULUMI_SCRIPT = path.join(REPO_ROOT, "scripts", "pulumi.sh");

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;

export interface KubeconfigIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** The Pulumi wrapper to run (scripts/pulumi.sh). */
  pulumiScript?: string;
}

const USAGE = `usage: npm run kubeconfig -- --stack <stack> [--merge [--use-context]] [--context <name>]
  (no option)        write ~/.kube/<stack>.yaml (0600): cluster, user and context <stack>
  --merge            merge them into ~/.kube/config, or the first file in $KUBECONFIG,
                     replacing only the entries named <stack>; the current context is
                     kept (set to <stack> when the file has none)
  --use-context      with --merge: also make <stack> the current context
  --context <name>   name the cluster, user and context <name> instead of <stack>`;

class UsageError extends Error {}

interface Options {
  stack: string;
  name: string;
  merge: boolean;
  useContext: boolean;
}

function readOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      stack: { type: "string" },
      merge: { type: "boolean" },
      "use-context": { type: "boolean" },
      context: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  if (values.stack === undefined) throw new UsageError("--stack is required (e.g. --stack dev)");
  try {
    checkStackName(values.stack);
    if (values.context !== undefined) checkContextName(values.context);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values["use-context"] && !values.merge) {
    throw new UsageError(
      "--use-context: only with --merge (the file ~/.kube/<stack>.yaml always uses its context)",
    );
  }
  return {
    stack: values.stack,
    name: values.context ?? values.stack,
    merge: values.merge ?? false,
    useContext: values["use-context"] ?? false,
  };
}

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

/** `~/...` for a path under HOME, as the messages show it. */
function shownPath(file: string, env: NodeJS.ProcessEnv): string {
  const h = home(env);
  return file.startsWith(h + path.sep) ? `~${file.slice(h.length)}` : file;
}

/**
 * The file a merge writes: the first file in $KUBECONFIG (its entries win when kubectl merges the
 * list), else ~/.kube/config. A relative entry is relative to where npm was started (INIT_CWD).
 */
function mergeFile(env: NodeJS.ProcessEnv): string {
  const first = (env.KUBECONFIG ?? "").split(path.delimiter).find((p) => p !== "");
  if (first === undefined) return path.join(home(env), ".kube", "config");
  return path.resolve(env.INIT_CWD ?? process.cwd(), first);
}

interface PulumiResult {
  code: number | null;
  stdout: string;
  stderr: string;
  spawnError?: Error;
}

/** Runs the wrapper: stdout (the secret) kept, stderr passed on as it comes and kept. */
function runPulumi(script: string, args: string[], io: KubeconfigIo): Promise<PulumiResult> {
  return new Promise((resolve) => {
    const child = spawn("bash", [script, ...args], {
      cwd: REPO_ROOT,
      env: io.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let stderr = "";
    let shown = 0;
    const showLines = (all: boolean) => {
      const end = all ? stderr.length : stderr.lastIndexOf("\n") + 1;
      if (end > shown) io.err(stderr.slice(shown, end).replace(/\n$/, ""));
      shown = Math.max(shown, end);
    };
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
      showLines(false);
    });
    child.on("error", (spawnError) => resolve({ code: null, stdout: "", stderr, spawnError }));
    child.on("close", (code) => {
      showLines(true);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr });
    });
  });
}

async function readEntries(options: Options, io: KubeconfigIo): Promise<ClusterEntries> {
  const { stack } = options;
  const script = io.pulumiScript ?? PULUMI_SCRIPT;
  const args = ["stack", "output", "kubeconfig", "--show-secrets", "--stack", stack];
  const shown = `scripts/pulumi.sh ${args.join(" ")}`;
  const result = await runPulumi(script, args, io);
  if (result.spawnError) {
    throw new KubeconfigError(`cannot run ${script}: ${result.spawnError.message}`);
  }
  const deployFirst = `deploy it first: scripts/up.sh ${stack}`;
  if (result.code !== 0) {
    if (result.stderr.includes(`no stack named '${stack}' found`)) {
      throw new KubeconfigError(
        `stack ${stack} does not exist in this Pulumi backend: ${deployFirst} ` +
          "(a stack deployed with another PULUMI_BACKEND_URL or K3S_HA_STATE_DIR needs the same one here)",
      );
    }
    if (result.stderr.includes("does not have output property 'kubeconfig'")) {
      throw new KubeconfigError(
        `stack ${stack} has no kubeconfig output yet (never deployed, or its last up stopped ` +
          `before the cluster was ready): ${deployFirst}`,
      );
    }
    throw new KubeconfigError(
      `${shown} failed (exit ${result.code ?? "by signal"}); its messages are above`,
    );
  }
  return readStackKubeconfig(result.stdout);
}

export async function runKubeconfig(argv: string[], io: KubeconfigIo): Promise<number> {
  let options: Options;
  try {
    options = readOptions(argv);
  } catch (err) {
    const message =
      err instanceof UsageError || err instanceof TypeError ? err.message : String(err);
    if (message) io.err(`${message}\n${USAGE}`);
    else io.out(USAGE);
    return message ? EXIT_FAILED : EXIT_OK;
  }
  try {
    run(options, await readEntries(options, io), io);
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof KubeconfigError)) throw err;
    io.err(`kubeconfig: ${err.message}`);
    return EXIT_FAILED;
  }
}

function run(options: Options, entries: ClusterEntries, io: KubeconfigIo): void {
  const { name } = options;
  const file = options.merge
    ? mergeFile(io.env)
    : path.join(home(io.env), ".kube", `${options.stack}.yaml`);
  const shown = shownPath(file, io.env);
  const target = readTarget(file, shown);
  const result = mergeKubeconfig(target.text, shown, name, entries, {
    currentContext: options.merge && !options.useContext ? "if-unset" : "set",
  });
  const what = `cluster, user and context ${name} (server ${String(entries.cluster.server)})`;
  if (result.text === target.text) {
    io.out(`${shown} already holds the ${what}: nothing to change`);
  } else {
    writeTarget(target, result.text, shown);
    const mode = (target.mode ?? 0o600).toString(8).padStart(4, "0");
    io.out(`${result.replaced ? "replaced" : "added"} the ${what} in ${shown} (mode ${mode})`);
    if (result.previousServer !== undefined && result.previousServer !== entries.cluster.server) {
      io.out(`note: the cluster ${name} it replaced had the server ${result.previousServer}`);
    }
  }
  if (target.mode !== undefined && (target.mode & 0o077) !== 0) {
    io.out(
      `note: ${shown} can be read by other users and holds cluster-admin credentials: chmod 600 ${shown}`,
    );
  }
  if (!options.merge) {
    io.out(`KUBECONFIG=${shown} kubectl get nodes`);
    return;
  }
  if (result.currentContext !== name) {
    io.out(
      `current context left at ${result.currentContext ?? "(none)"}; to switch: kubectl config use-context ${name}`,
    );
  }
  io.out(`kubectl --context ${name} get nodes`);
}

if (require.main === module) {
  const io: KubeconfigIo = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
  };
  runKubeconfig(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // An unexpected error: its message never quotes the kubeconfig (no code here puts it in one).
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT_FAILED;
    },
  );
}
