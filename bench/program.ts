/**
 * Evaluates the program under mocks for 3 servers and 3, 30, 100 and 300 agents, for the previous
 * release (a git worktree of --baseline, 2fd9c21 by default) and this tree side by side: each
 * evaluation in its own child process, --repeats of each (3 by default), the two trees interleaved.
 * Writes bench/results/program.json and program.md and prints the markdown.
 * Usage: npm run bench:program [-- --baseline <git ref>] [--repeats N] [--sizes 3,30,300]
 * Child mode (one evaluation, one JSON line), as the run starts it (transpile-only: a type-checking
 * ts-node adds its own memory to the child's peak RSS):
 *   node -r ts-node/register/transpile-only bench/program.ts --agents N
 *     [--program <index.ts>] [--stack-file <Pulumi.dev.yaml>]
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROGRAM, runProgram } from "../harness/program/mocks";
import { criticalPath } from "../harness/program/graph";
import { commands } from "../harness/program/queries";
import { REPO_ROOT } from "../harness/program/stacks";
import { ChildOptions, RunOptions, parseArgs } from "./program/options";
import { ProgramBenchReport, RunError, TreeInfo, renderMarkdown } from "./program/report";
import { Measurement, RunResult, TARGETS, Tree, summarize } from "./program/summary";
import { Worktree, addWorktree, resolveCommit } from "../harness/shared/worktree";
import { checkoutState, fileDigest, programDigest } from "./program/checkout";
import { DEV_STACK_FILE, SERVERS, devStackWithAgents } from "./topology";

const RESULTS_DIR = path.join(REPO_ROOT, "bench", "results");
const CHILD_TIMEOUT_MS = 600_000;
/** What runs before the recorded ones (flags.warmup in program.json). */
const WARMUP = "one unrecorded evaluation per tree at the smallest size";

async function measure(opts: ChildOptions): Promise<Measurement> {
  const config = devStackWithAgents(opts.agents, opts.stackFile);
  const program = path.resolve(opts.program ?? PROGRAM);
  const started = process.hrtime.bigint();
  const run = await runProgram(config, [], "bench", program);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  return {
    agents: opts.agents,
    resources: run.resources.length,
    hostSteps: commands(run).length,
    wallMs: Math.round(wallMs),
    peakRssMiB,
    criticalPath: criticalPath(run),
  };
}

let current: ChildProcess | null = null;

/** One evaluation in a child process; resolves to its measurement or rejects with its stderr. */
function inChild(agents: number, program: string, stackFile: string): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        __filename,
        "--agents",
        String(agents),
        "--program",
        program,
        "--stack-file",
        stackFile,
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    current = child;
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      current = null;
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      current = null;
      if (code !== 0) {
        const why = signal ? `killed by ${signal}` : `exit ${code}`;
        reject(new Error(`${why}\n${stderr.slice(-4000)}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split("\n").pop()!) as Measurement);
      } catch (err) {
        reject(new Error(`unreadable output (${String(err)}):\n${stdout.slice(-2000)}`));
      }
    });
  });
}

/** The run's child processes in order: per repeat, per size, both trees, alternating who goes first. */
export function schedule(
  sizes: number[],
  repeats: number,
): { tree: Tree; agents: number; repeat: number }[] {
  const out: { tree: Tree; agents: number; repeat: number }[] = [];
  for (let repeat = 1; repeat <= repeats; repeat++) {
    sizes.forEach((agents, i) => {
      const trees: Tree[] =
        (repeat + i) % 2 === 1 ? ["baseline", "thisTree"] : ["thisTree", "baseline"];
      for (const tree of trees) out.push({ tree, agents, repeat });
    });
  }
  return out;
}

function commandLine(): string {
  const args = process.argv.slice(2).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`));
  if (process.env.npm_lifecycle_event === "bench:program")
    return ["npm run bench:program", ...(args.length ? ["--", ...args] : [])].join(" ");
  return ["npx ts-node bench/program.ts", ...args].join(" ");
}

/** What `nproc` prints (the CPUs this process may use). */
function nproc(): number {
  try {
    return Number(execFileSync("nproc", { encoding: "utf8" }).trim());
  } catch {
    return os.availableParallelism();
  }
}

function dependencyNotes(baselineDir: string): string[] {
  const deps = (dir: string) =>
    (
      JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
        dependencies?: Record<string, string>;
      }
    ).dependencies ?? {};
  const ours = deps(REPO_ROOT);
  const theirs = deps(baselineDir);
  const names = [...new Set([...Object.keys(ours), ...Object.keys(theirs)])].sort();
  return names
    .filter((n) => ours[n] !== theirs[n])
    .map(
      (n) =>
        `package.json dependency ${n}: baseline ${theirs[n] ?? "none"}, this tree ${ours[n] ?? "none"} ` +
        "(both evaluated with this checkout's node_modules)",
    );
}

async function runAll(opts: RunOptions): Promise<number> {
  const started = new Date();
  const loadavgStart = os.loadavg();
  const baselineCommit = resolveCommit(
    REPO_ROOT,
    opts.baseline,
    "baseline",
    "; or name another baseline with --baseline <git ref>",
  );
  const here = checkoutState(REPO_ROOT);
  let worktree: Worktree | null = null;
  const cleanUp = () => worktree?.remove();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nbench:program: ${signal}: stopping, removing the baseline worktree\n`);
    current?.kill("SIGKILL");
    cleanUp();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("exit", cleanUp);
  try {
    worktree = addWorktree(REPO_ROOT, baselineCommit, "bench-baseline");
    for (const f of ["index.ts", DEV_STACK_FILE]) {
      if (!fs.existsSync(path.join(worktree.dir, f))) {
        throw new Error(`baseline ${opts.baseline} has no ${f}`);
      }
    }
    const programs: Record<Tree, { program: string; stackFile: string; info: TreeInfo }> = {
      baseline: {
        program: path.join(worktree.dir, "index.ts"),
        stackFile: path.join(worktree.dir, DEV_STACK_FILE),
        info: {
          ref: opts.baseline,
          commit: baselineCommit,
          programDir: worktree.dir,
          programDigest: programDigest(worktree.dir),
          stackFileDigest: fileDigest(path.join(worktree.dir, DEV_STACK_FILE)),
        },
      },
      thisTree: {
        program: PROGRAM,
        stackFile: path.join(REPO_ROOT, DEV_STACK_FILE),
        info: {
          ref: "working tree",
          commit: here.commit,
          programDir: REPO_ROOT,
          programDigest: programDigest(REPO_ROOT),
          stackFileDigest: fileDigest(path.join(REPO_ROOT, DEV_STACK_FILE)),
          status: here.status,
        },
      },
    };
    const notes = dependencyNotes(worktree.dir);
    if (programs.baseline.info.stackFileDigest !== programs.thisTree.info.stackFileDigest)
      notes.push(
        `the trees' ${DEV_STACK_FILE} differ: each program got its own tree's (plus the generated agents)`,
      );
    const plan = schedule(opts.sizes, opts.repeats);
    process.stderr.write(
      `bench:program: ${plan.length} evaluations (${opts.sizes.join(", ")} agents x ${opts.repeats} x 2 trees); ` +
        `baseline ${opts.baseline} = ${baselineCommit.slice(0, 12)} in ${worktree.dir}\n`,
    );
    // One evaluation per tree first, not recorded, so neither tree's first run pays for cold caches.
    for (const tree of ["baseline", "thisTree"] as const) {
      try {
        await inChild(opts.sizes[0], programs[tree].program, programs[tree].stackFile);
        process.stderr.write(`warm-up: ${tree} ${opts.sizes[0]} agents (not recorded)\n`);
      } catch (err) {
        process.stderr.write(
          `warm-up: ${tree} FAILED (the runs will record it): ${String(err).split("\n")[0]}\n`,
        );
      }
    }
    const runs: RunResult[] = [];
    const errors: RunError[] = [];
    for (const [i, p] of plan.entries()) {
      const seq = i + 1;
      const what = `[${seq}/${plan.length}] ${p.tree === "baseline" ? "baseline " : "this tree"} ${String(p.agents).padStart(4)} agents, repeat ${p.repeat}`;
      try {
        const dir = programs[p.tree].info.programDir;
        const programDigestBefore = programDigest(dir);
        const m = await inChild(p.agents, programs[p.tree].program, programs[p.tree].stackFile);
        const programChanged = programDigest(dir) !== programDigestBefore;
        runs.push({
          tree: p.tree,
          repeat: p.repeat,
          seq,
          ...m,
          programDigest: programDigestBefore,
          programChanged,
        });
        process.stderr.write(
          `${what}: ${m.resources} resources, ${m.wallMs} ms, ${m.peakRssMiB} MiB` +
            (programChanged ? " (its program's source changed while it ran)" : "") +
            (programDigestBefore !== programs[p.tree].info.programDigest
              ? " (not the source this run started with)"
              : "") +
            "\n",
        );
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        errors.push({ tree: p.tree, agents: p.agents, repeat: p.repeat, seq, message });
        process.stderr.write(`${what}: FAILED: ${message.split("\n").slice(0, 12).join("\n")}\n`);
      }
    }
    const report: ProgramBenchReport = {
      schema: 1,
      command: commandLine(),
      flags: {
        baseline: opts.baseline,
        repeats: opts.repeats,
        sizes: opts.sizes,
        servers: SERVERS,
        warmup: WARMUP,
      },
      date: started.toISOString(),
      durationS: Math.round((Date.now() - started.getTime()) / 100) / 10,
      machine: {
        nproc: nproc(),
        cpuModel: os.cpus()[0]?.model ?? "unknown",
        node: process.version,
        platform: os.platform(),
        kernel: os.release(),
        loadavgStart,
        loadavgEnd: os.loadavg(),
      },
      trees: { baseline: programs.baseline.info, thisTree: programs.thisTree.info },
      notes,
      targets: TARGETS,
      runs,
      errors,
      summary: summarize(runs),
    };
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    fs.writeFileSync(
      path.join(RESULTS_DIR, "program.json"),
      JSON.stringify(report, null, 1) + "\n",
    );
    const md = renderMarkdown(report);
    fs.writeFileSync(path.join(RESULTS_DIR, "program.md"), md);
    console.log(md);
    process.stderr.write(
      `wrote bench/results/program.json and program.md` +
        (errors.length ? `; ${errors.length} evaluation(s) failed (listed there)\n` : "\n"),
    );
    return errors.length ? 1 : 0;
  } finally {
    cleanUp();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.mode === "child") {
    process.stdout.write(`${JSON.stringify(await measure(opts))}\n`);
    return;
  }
  process.exitCode = await runAll(opts);
}

if (require.main === module) {
  main().catch((err: Error) => {
    // A child's failure goes to the parent whole; the parent's own (a missing ref) is its message.
    console.error(process.argv.includes("--agents") ? err : (err.message ?? err));
    process.exit(1);
  });
}
