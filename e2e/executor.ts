/**
 * The e2e executor: a TEST HARNESS that stands in for the Pulumi engine and the command provider's
 * plugin, which cannot be downloaded on these machines. It evaluates the real `index.ts` under
 * `pulumi.runtime.setMocks`; registering a `command:remote:Command` does what the provider's
 * `create` does: dial the resource's own `connection` (host, port, user, private key, pinned host
 * key) over SSH with ssh2, run `create` in an exec channel, write `stdin` and close it, collect
 * stdout/stderr, fail on a non-zero exit, and return stdout/stderr as the resource's state.
 * The SDK registers a resource only once its dependencies are registered, so the order the hosts
 * see is the program's order, with independent steps running concurrently as under the engine.
 *
 * Also: run every recorded step's `delete` in reverse dependency order (what `pulumi destroy`
 * does), and re-evaluate the program against the recorded state to compare inputs.
 *
 * NOT covered (the engine's job): diffing and planning, the state file, `update` (a changed input
 * re-running a step in place), replacements, `triggers` semantics, Docker-mode resources.
 */
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { Client } from "ssh2";
import {
  PROGRAM,
  PROJECT,
  ProgramRun,
  RecordedResource,
  StackConfig,
  recordRegistrations,
  setStackConfig,
} from "../test/support/mocks";
import { stepDependencies } from "../test/support/graph";
import { SshConnection, sshExec } from "./ssh";

export const COMMAND_TYPE = "command:remote:Command";
/** Bound on one step; the program's own waits give up after at most 300 s. */
const STEP_TIMEOUT_MS = 420_000;

export interface StepRecord {
  name: string;
  host: string;
  user: string;
  /** The step handles a secret (`logging: none`). */
  secret: boolean;
  /** ms since the epoch. */
  startedAt: number;
  endedAt: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Set when the step failed; never holds a secret step's output. */
  error?: string;
  /** The test cut this step's SSH connection. */
  interrupted?: boolean;
}

/** One evaluation of the program: what it registered, what ran, what failed. */
export interface Evaluation extends ProgramRun {
  steps: StepRecord[];
  /** Step failures and program errors, in the order they happened. */
  errors: string[];
  /** Each step's outputs (stdout/stderr), as a state file would keep them. */
  state: Map<string, { stdout: string; stderr: string }>;
}

/** Cut one step's SSH connection once `when()` holds while the step runs. */
export interface Interrupt {
  step: string;
  when: () => boolean | Promise<boolean>;
}

export interface EvaluateOptions {
  secretKeys?: string[];
  stack?: string;
  interrupt?: Interrupt;
  /**
   * Outputs from a previous up: steps found here are not run and get these outputs, as the
   * engine does for a resource whose inputs did not change. Steps not found here fail.
   */
  priorState?: Map<string, { stdout: string; stderr: string }>;
}

/** Secret markers from the SDK's wire format, unwrapped. */
export function unwrap(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrap);
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if (o[rpc.specialSigKey] === rpc.specialSecretSig) return unwrap(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

async function runStep(
  name: string,
  inputs: Record<string, unknown>,
  interrupt: Interrupt | undefined,
): Promise<StepRecord> {
  const conn = inputs.connection as SshConnection;
  const secret = inputs.logging === "none";
  const record: StepRecord = {
    name,
    host: conn.host,
    user: conn.user ?? "root",
    secret,
    startedAt: Date.now(),
    endedAt: 0,
    exitCode: null,
    stdout: "",
    stderr: "",
  };
  // The provider sends `environment` over SSH (sshd drops it without AcceptEnv) and, with
  // addPreviousOutputInEnv, the previous stdout too: the program must use neither.
  const env = inputs.environment as Record<string, unknown> | undefined;
  if ((env && Object.keys(env).length > 0) || inputs.addPreviousOutputInEnv !== false) {
    record.error = `${name}: sets environment or addPreviousOutputInEnv; secrets and content go on stdin`;
    record.endedAt = Date.now();
    return record;
  }
  let watcher: NodeJS.Timeout | undefined;
  const onClient =
    interrupt?.step === name
      ? (client: Client) => {
          const check = async () => {
            if (record.interrupted || !(await interrupt.when())) return;
            record.interrupted = true;
            clearInterval(watcher);
            // What a killed `pulumi up` or a dropped network does to the provider's session.
            (client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
            client.end();
          };
          watcher = setInterval(() => void check(), 20);
        }
      : undefined;
  try {
    const result = await sshExec(conn, String(inputs.create), {
      stdin: typeof inputs.stdin === "string" ? inputs.stdin : undefined,
      onClient,
      timeoutMs: STEP_TIMEOUT_MS,
    });
    record.exitCode = result.code;
    record.stdout = result.stdout;
    record.stderr = result.stderr;
    if (result.code !== 0) {
      const how =
        result.code === null
          ? `lost its session (${result.signal ?? "no exit status"})`
          : `exited ${result.code}`;
      record.error = secret
        ? `${name} on ${conn.host} ${how} (output hidden: the step handles a secret)`
        : `${name} on ${conn.host} ${how}:\n${tail(result.stderr)}`;
    }
  } catch (err) {
    record.error = `${name} on ${conn.host}: ${(err as Error).message}`;
  } finally {
    if (watcher) clearInterval(watcher);
    record.endedAt = Date.now();
  }
  return record;
}

/**
 * Evaluates the program once: every `command:remote:Command` runs its `create` over SSH (or takes
 * its outputs from `priorState`). Never throws for a failed step: failures are in `errors`.
 */
export async function evaluate(
  stackConfig: StackConfig,
  opts: EvaluateOptions = {},
): Promise<Evaluation> {
  const stack = opts.stack ?? "e2e";
  const steps: StepRecord[] = [];
  const errors: string[] = [];
  const state = new Map<string, { stdout: string; stderr: string }>();
  const pending: Promise<unknown>[] = [];
  const activity = { inFlight: 0, last: Date.now() };

  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        // Components and the stack: nothing to run.
        const wireInputs = args.inputs as Record<string, unknown>;
        if (!args.custom) return { id: undefined, state: wireInputs };
        if (args.type !== COMMAND_TYPE) {
          throw new Error(`the e2e executor does not run ${args.type} (${args.name})`);
        }
        const inputs = unwrap(args.inputs) as Record<string, unknown>;
        const prior = opts.priorState?.get(args.name);
        if (opts.priorState) {
          if (!prior)
            throw new Error(`${args.name} is not in the prior state: the engine would create it`);
          state.set(args.name, prior);
          return { id: `${args.name}-id`, state: { ...wireInputs, ...prior } };
        }
        const work = runStep(args.name, inputs, opts.interrupt);
        pending.push(work);
        activity.inFlight++;
        const record = await work.finally(() => {
          activity.inFlight--;
          activity.last = Date.now();
        });
        steps.push(record);
        if (record.error) {
          errors.push(record.error);
          throw new Error(record.error);
        }
        const outputs = { stdout: record.stdout, stderr: record.stderr };
        state.set(args.name, outputs);
        return { id: `${args.name}-id`, state: { ...wireInputs, ...outputs } };
      },
      call: (args) => {
        throw new Error(`unexpected provider function call: ${args.token}`);
      },
    },
    PROJECT,
    stack,
  );
  const resources = recordRegistrations(stack);
  setStackConfig(stackConfig, opts.secretKeys ?? []);

  const outputs: Record<string, unknown> = {};
  // A failed step rejects the outputs of every resource that depends on it; the engine reports
  // those once, as the step's failure, and so does this harness (in `errors`).
  const swallow = (reason: unknown) => {
    const message = reason instanceof Error ? reason.message : String(reason);
    if (!errors.some((e) => message.includes(e))) errors.push(message);
  };
  const mochaListeners = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", swallow);
  try {
    delete require.cache[require.resolve(PROGRAM)];
    const program = (await import(PROGRAM)) as Record<string, unknown>;
    // After a failure the SDK never drains its RPC queue (the engine would end the program), so
    // a failed run is over once no step runs and none has started for a while.
    await Promise.race([
      (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs().catch(swallow),
      failedAndQuiet(errors, activity),
    ]);
    await Promise.allSettled(pending);
    for (const [key, value] of Object.entries(program)) {
      outputs[key] = await settle(value, errors.length > 0);
    }
    // Let rejections still in flight reach the handler before the real one comes back.
    await new Promise((r) => setTimeout(r, 50));
  } catch (err) {
    swallow(err);
  } finally {
    process.removeListener("unhandledRejection", swallow);
    for (const l of mochaListeners) process.on("unhandledRejection", l);
  }
  return { resources, outputs, steps, errors, state };
}

const QUIET_MS = 2_000;

async function failedAndQuiet(
  errors: string[],
  activity: { inFlight: number; last: number },
): Promise<void> {
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    if (errors.length > 0 && activity.inFlight === 0 && Date.now() - activity.last > QUIET_MS)
      return;
  }
}

/** An output's value, `{ secret: value }` when secret, or `{ failed: message }` when it rejected. */
async function settle(value: unknown, failedRun: boolean): Promise<unknown> {
  if (!pulumi.Output.isInstance(value)) return value;
  const out = value;
  const internal = out as unknown as { promise(): Promise<unknown> };
  // In a failed run, an output that depends on a failed step never settles.
  const never = new Promise<never>((_, reject) => {
    if (failedRun)
      setTimeout(() => reject(new Error("unresolved: a step it depends on failed")), 1_000);
  });
  try {
    const [plain, secret] = await Promise.race([
      Promise.all([internal.promise(), pulumi.isSecret(out)]),
      never,
    ]);
    return secret ? { secret: plain } : plain;
  } catch (err) {
    return { failed: (err as Error).message };
  }
}

/** Host steps that ran to completion in an evaluation (what a state file would hold). */
export function createdSteps(evaluation: Evaluation): RecordedResource[] {
  return evaluation.resources.filter(
    (r) => r.type === COMMAND_TYPE && evaluation.state.has(r.name),
  );
}

export interface DeleteRecord {
  name: string;
  host: string;
  startedAt: number;
  endedAt: number;
  exitCode: number | null;
  stderr: string;
  error?: string;
}

/**
 * Runs the `delete` of every step the evaluation created, in reverse dependency order: a step is
 * deleted once every step that depends on it is gone (independent deletes run concurrently).
 */
export async function destroy(evaluation: Evaluation): Promise<DeleteRecord[]> {
  const created = createdSteps(evaluation);
  const deps = stepDependencies(evaluation);
  const dependents = new Map<string, Set<string>>(created.map((r) => [r.name, new Set()]));
  for (const r of created) {
    for (const d of deps.get(r.name) ?? []) dependents.get(d)?.add(r.name);
  }
  const records: DeleteRecord[] = [];
  const done = new Map<string, Promise<void>>();
  const byName = new Map(created.map((r) => [r.name, r]));
  const deleteOne = (name: string): Promise<void> => {
    const known = done.get(name);
    if (known) return known;
    const work = (async () => {
      await Promise.all([...(dependents.get(name) ?? [])].map(deleteOne));
      const inputs = unwrap(
        rpc.deserializeProperties(structOf(byName.get(name)!.inputs)),
      ) as Record<string, unknown>;
      if (typeof inputs.delete !== "string") return;
      const conn = inputs.connection as SshConnection;
      const record: DeleteRecord = {
        name,
        host: conn.host,
        startedAt: Date.now(),
        endedAt: 0,
        exitCode: null,
        stderr: "",
      };
      try {
        const result = await sshExec(conn, inputs.delete, { timeoutMs: STEP_TIMEOUT_MS });
        record.exitCode = result.code;
        record.stderr = result.stderr;
        if (result.code !== 0)
          record.error = `${name} delete on ${conn.host} exited ${result.code}:\n${tail(result.stderr)}`;
      } catch (err) {
        record.error = `${name} delete on ${conn.host}: ${(err as Error).message}`;
      }
      record.endedAt = Date.now();
      records.push(record);
    })();
    done.set(name, work);
    return work;
  };
  await Promise.all(created.map((r) => deleteOne(r.name)));
  return records;
}

/** The recorded (wire-format) inputs, as the Struct deserializeProperties reads (it only calls toJavaScript). */
function structOf(
  inputs: Record<string, unknown>,
): Parameters<typeof rpc.deserializeProperties>[0] {
  return { toJavaScript: () => inputs } as unknown as Parameters<
    typeof rpc.deserializeProperties
  >[0];
}

/**
 * The chain of steps that set the run's length: from the step that ended last, back through the
 * dependency each step waited for longest. Each line: start offset, duration, step, host.
 */
export function criticalPath(evaluation: Evaluation): StepRecord[] {
  if (evaluation.steps.length === 0) return [];
  const deps = stepDependencies(evaluation);
  const byName = new Map(evaluation.steps.map((s) => [s.name, s]));
  let current = evaluation.steps.reduce((a, b) => (b.endedAt > a.endedAt ? b : a));
  const chain = [current];
  for (;;) {
    const gating = [...(deps.get(current.name) ?? [])]
      .map((d) => byName.get(d))
      .filter((s): s is StepRecord => s !== undefined);
    if (gating.length === 0) break;
    current = gating.reduce((a, b) => (b.endedAt > a.endedAt ? b : a));
    chain.unshift(current);
  }
  return chain;
}

export function formatTimings(evaluation: Evaluation): string {
  if (evaluation.steps.length === 0) return "no steps ran";
  const t0 = Math.min(...evaluation.steps.map((s) => s.startedAt));
  const t1 = Math.max(...evaluation.steps.map((s) => s.endedAt));
  const lines = criticalPath(evaluation).map(
    (s) =>
      `  +${((s.startedAt - t0) / 1000).toFixed(2).padStart(6)} s  ${((s.endedAt - s.startedAt) / 1000).toFixed(2).padStart(6)} s  ${s.name} (${s.host})`,
  );
  return [
    `${evaluation.steps.length} steps in ${((t1 - t0) / 1000).toFixed(1)} s; critical path:`,
    ...lines,
  ].join("\n");
}
