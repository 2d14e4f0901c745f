/**
 * Evaluates the real `index.ts` under `pulumi.runtime.setMocks` with every registration handed to
 * the engine model (harness/engine/deployment.ts) as the language host hands it to the
 * engine: the registration's resource options are read from the request itself (the recorder in
 * harness/program/mocks.ts), the resource's outputs go back to the program once its steps are done,
 * a failed or canceled registration rejects the resource's outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { CanceledError, Deployment } from "../engine/deployment";
import { PropertyMap } from "../engine/values";
import {
  PROGRAM,
  PROJECT,
  RecordedResource,
  StackConfig,
  isSecretValue,
  markSecrets,
  recordRegistrations,
  setStackConfig,
} from "../program/mocks";

export interface ProgramEvaluation {
  resources: RecordedResource[];
  /** The stack outputs; a secret is `{ secret: value }`, a rejected one `{ failed: message }`. */
  outputs: Record<string, unknown>;
  /** Program errors (not step failures: those are the deployment's), in the order they happened. */
  programErrors: string[];
}

/** Recorded form → wire form, for the state handed back to the SDK. */
function wire(v: unknown): unknown {
  if (isSecretValue(v)) return { [rpc.specialSigKey]: rpc.specialSecretSig, value: wire(v.secret) };
  if (Array.isArray(v)) return v.map(wire);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wire(x)]));
  }
  return v;
}

const QUIET_MS = 2_000;

/**
 * After a failure (or a stopped CLI) the SDK never drains its RPC queue (the engine would end
 * the program): the run is over once nothing runs and nothing started for a while. So is a run
 * whose program failed: Node's language host exits on an unhandled rejection.
 */
async function stoppedAndQuiet(
  deployment: Deployment,
  activity: { last: number },
  programErrors: string[],
): Promise<void> {
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const stopped = deployment.hasFailed || deployment.isTerminated || programErrors.length > 0;
    if (stopped && deployment.inFlight === 0 && Date.now() - activity.last > QUIET_MS) return;
  }
}

/** An output's value, `{ secret: value }` when secret, or `{ failed: message }` when it rejected. */
async function settle(value: unknown, stopped: boolean): Promise<unknown> {
  if (!pulumi.Output.isInstance(value)) return value;
  const internal = value as unknown as { promise(): Promise<unknown> };
  // In a failed run, an output that depends on a failed step never settles.
  const never = new Promise<never>((_, reject) => {
    if (stopped)
      setTimeout(() => reject(new Error("unresolved: a step it depends on failed")), 1_000);
  });
  try {
    const [plain, secret] = await Promise.race([
      Promise.all([internal.promise(), pulumi.isSecret(value)]),
      never,
    ]);
    return secret ? { secret: plain } : plain;
  } catch (err) {
    return { failed: (err as Error).message };
  }
}

export interface EvaluateProgramOptions {
  stack: string;
  secretKeys: string[];
  preview: boolean;
  /**
   * The program's entry (default PROGRAM, this checkout's index.ts), e.g. a worktree of an earlier
   * release. It must resolve `@pulumi/pulumi` to this checkout's module instance (the worktree's
   * node_modules a symlink to this checkout's), or the mocks set here never reach it.
   */
  program?: string;
}

/** One evaluation of the program against `deployment` (which runs the steps). Never throws. */
export async function evaluateProgram(
  stackConfig: StackConfig,
  deployment: Deployment,
  opts: EvaluateProgramOptions,
): Promise<ProgramEvaluation> {
  const programErrors: string[] = [];
  const activity = { last: Date.now() };
  const claimed = new Set<RecordedResource>();
  let resources: RecordedResource[] = [];

  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        const r = resources.find(
          (x) => !claimed.has(x) && x.type === args.type && x.name === args.name,
        );
        if (!r) throw new Error(`no recorded registration for ${args.type} ${args.name}`);
        claimed.add(r);
        try {
          const result = await deployment.register(r);
          const state: PropertyMap = args.custom ? result.outputs : r.inputs;
          return { id: result.id || undefined, state: wire(state) as Record<string, unknown> };
        } finally {
          activity.last = Date.now();
        }
      },
      call: (args) => {
        throw new Error(`unexpected provider function call: ${args.token}`);
      },
    },
    PROJECT,
    opts.stack,
    opts.preview,
  );
  resources = recordRegistrations(opts.stack, markSecrets);
  setStackConfig(stackConfig, opts.secretKeys);

  // A failed step rejects the outputs of every resource that depends on it; the engine reports
  // those once, as the step's failure; cancellations are not errors of their own.
  const swallow = (reason: unknown) => {
    const message = reason instanceof Error ? reason.message : String(reason);
    if (reason instanceof CanceledError || message.includes(CanceledError.MARK)) return;
    if ([...deployment.errors, ...programErrors].some((e) => message.includes(e))) return;
    programErrors.push(message);
  };
  const outputs: Record<string, unknown> = {};
  const mochaListeners = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", swallow);
  try {
    const entry = opts.program ?? PROGRAM;
    delete require.cache[require.resolve(entry)];
    const program = (await import(entry)) as Record<string, unknown>;
    await Promise.race([
      (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs().catch(swallow),
      stoppedAndQuiet(deployment, activity, programErrors),
    ]);
    await deployment.drain();
    const stopped = deployment.hasFailed || deployment.isTerminated || programErrors.length > 0;
    for (const [key, value] of Object.entries(program)) outputs[key] = await settle(value, stopped);
    // Let rejections still in flight reach the handler before the real one comes back.
    await new Promise((r) => setTimeout(r, 50));
  } catch (err) {
    swallow(err);
  } finally {
    process.removeListener("unhandledRejection", swallow);
    for (const l of mochaListeners) process.on("unhandledRejection", l);
  }
  return { resources, outputs, programErrors };
}
