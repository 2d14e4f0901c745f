/**
 * One run of the engine (`pulumi up`, `pulumi preview`, `pulumi destroy`) over a state, driven
 * by registrations as the program makes them. Behavioural port of pulumi/pulumi:
 * - `pkg/resource/deploy/step.go` Apply of each step: Same keeps the old id and outputs; Create
 *   and Update call the provider (a plain error fails the step and records nothing; a partial
 *   failure keeps the resource with init errors, an update's with its OLD inputs, as
 *   `pkg/engine/update.go` OnResourceStepPost does); a create-before-delete CreateReplacement
 *   marks the old resource `delete`; Delete skips the provider for retainOnDelete and for a
 *   resource deletedWith one deleted in this run, refuses a protected resource, and marks a
 *   delete-before-replace's old resource pendingReplacement;
 * - `pkg/resource/deploy/step_executor.go`: a registration's steps run as one chain; after a
 *   failed step no step starts (running ones finish);
 * - `pkg/resource/deploy/deployment_executor.go`: the pending-operations warning at the start of
 *   an update; deletes (GenerateDeletes, ScheduleDeletes) only once the program finished and no
 *   step failed, one antichain at a time, none after a failure.
 */
import { scheduleDeletes } from "./depgraph";
import { SnapshotManager } from "./snapshot";
import { EndStep, Step } from "./steps";
import { GeneratorOptions, StepGenerationError, StepGenerator } from "./stepgen";
import { StackState, StateResource, withSecretOutputs } from "./state";
import { Registration } from "./urns";
import { PropertyMap } from "./values";

export interface CreateRequest {
  urn: string;
  type: string;
  name: string;
  inputs: PropertyMap;
  preview: boolean;
}

export interface UpdateRequest {
  urn: string;
  type: string;
  name: string;
  id: string;
  oldInputs: PropertyMap;
  oldOutputs: PropertyMap;
  newInputs: PropertyMap;
  ignoreChanges: string[];
  preview: boolean;
}

export interface DeleteRequest {
  urn: string;
  type: string;
  name: string;
  id: string;
  inputs: PropertyMap;
  outputs: PropertyMap;
}

/** A custom resource's provider, as the engine calls it. Throwing fails the step. */
export interface ProviderOps {
  create(req: CreateRequest): Promise<{ id: string; outputs: PropertyMap }>;
  update(req: UpdateRequest): Promise<{ outputs: PropertyMap }>;
  delete(req: DeleteRequest): Promise<void>;
}

/** A provider error with StatusPartialFailure: the resource exists, with init errors. */
export class PartialFailure extends Error {
  constructor(
    message: string,
    readonly outputs: PropertyMap,
    readonly reasons: string[],
    readonly id = "",
  ) {
    super(message);
  }
}

/** A registration refused because the run is over (a step failed or the CLI was stopped). */
export class CanceledError extends Error {
  static readonly MARK = "canceled: the run stopped";
  constructor(urn: string) {
    super(`${urn}: ${CanceledError.MARK}`);
  }
}

export type StepStatus = "started" | "succeeded" | "failed";

export interface StepEvent {
  step: Step;
  status: StepStatus;
  error?: string;
}

export interface DeploymentOptions extends GeneratorOptions {
  /** A preview: providers are called with preview=true, deletes are not applied, no state is written. */
  dryRun?: boolean;
  provider: ProviderOps;
  /** Called with the state after every mutation (the snapshot manager's checkpoint writes). */
  onCheckpoint?: (state: StackState) => void;
  onEvent?: (e: StepEvent) => void;
}

export interface RegisterResult {
  /** The resource-level operation (the last resource step of the chain). */
  op: "same" | "create" | "update" | "create-replacement";
  id: string;
  outputs: PropertyMap;
}

export interface RunResult {
  ok: boolean;
  errors: string[];
  warnings: string[];
  state: StackState;
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** printPendingOperationsWarning. */
export function pendingOperationsWarning(state: StackState): string {
  const ops = state.pendingOperations.map(
    (op) => `  * ${op.resource.urn}, interrupted while ${op.type}\n`,
  );
  return (
    "Attempting to deploy or update resources " +
    `with ${state.pendingOperations.length} pending operations from previous deployment.\n` +
    ops.join("") +
    "These resources are in an unknown state because the Pulumi CLI was interrupted while " +
    "waiting for changes to these resources to complete. You should confirm whether or not the " +
    "operations listed completed successfully by checking the state of the appropriate provider. " +
    "For example, if you are using AWS, you can confirm using the AWS Console.\n" +
    "\n" +
    "Once you have confirmed the status of the interrupted operations, you can repair your stack " +
    "using `pulumi refresh` which will refresh the state from the provider you are using and " +
    "clear the pending operations if there are any.\n" +
    "\n" +
    "Note that `pulumi refresh` will need to be run interactively to clear pending CREATE operations."
  );
}

export class Deployment {
  readonly generator: StepGenerator;
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  /** Every generated step, in generation order (deletes last). */
  readonly steps: Step[] = [];
  /** The deletes at the end of the run, as ScheduleDeletes ordered them. */
  deleteSchedule: EndStep[][] = [];
  private readonly snapshots: SnapshotManager;
  private failed = false;
  private terminated = false;
  private readonly running = new Set<Promise<unknown>>();

  /** `prev` is mutated as the engine mutates its base snapshot: pass a copy to keep it. */
  constructor(
    readonly prev: StackState,
    private readonly opts: DeploymentOptions,
  ) {
    this.generator = new StepGenerator(prev, opts);
    this.snapshots = new SnapshotManager(prev);
    if (prev.pendingOperations.length > 0 && !opts.dryRun) {
      this.warnings.push(pendingOperationsWarning(prev));
    }
  }

  get hasFailed(): boolean {
    return this.failed;
  }

  get isTerminated(): boolean {
    return this.terminated;
  }

  /** Steps running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** The state as the snapshot manager would write it now. */
  snapshot(): StackState {
    return this.snapshots.snap();
  }

  private checkpoint(): void {
    if (this.opts.dryRun || this.terminated) return;
    this.opts.onCheckpoint?.(this.snapshots.snap());
  }

  private fail(message: string): void {
    this.failed = true;
    this.errors.push(message);
  }

  /**
   * The CLI is stopped (killed): no step starts, and nothing more is written; steps in flight
   * keep their pending operations in the last state written.
   */
  terminate(): void {
    this.terminated = true;
  }

  /** RegisterResource: generates the registration's steps and runs them as one chain. */
  async register(reg: Registration): Promise<RegisterResult> {
    if (this.failed || this.terminated) throw new CanceledError(reg.urn);
    let chain: Step[];
    try {
      chain = this.generator.generate(reg);
    } catch (err) {
      if (err instanceof StepGenerationError) this.fail(err.message);
      throw err;
    }
    this.steps.push(...chain);
    let result: RegisterResult | undefined;
    for (const step of chain) {
      if (this.failed || this.terminated) throw new CanceledError(step.urn);
      await this.track(this.apply(step));
      if (
        step.op === "same" ||
        step.op === "create" ||
        step.op === "update" ||
        step.op === "create-replacement"
      ) {
        this.generator.news.set(step.new.urn, step.new);
        result = { op: step.op, id: step.new.id, outputs: step.new.outputs };
      }
    }
    if (!result) throw new Error(`no resource step for ${reg.urn}`);
    return result;
  }

  private async track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    try {
      return await p;
    } finally {
      this.running.delete(p);
    }
  }

  /** Waits for the steps in flight (a failed run ends once they are done). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * The end of the run: after the program finished (`programError` unset) and no step failed,
   * the deletes, one antichain at a time; then the final state.
   */
  async finish(programError?: string): Promise<RunResult> {
    if (programError !== undefined) this.fail(programError);
    await this.drain();
    if (!this.failed && !this.terminated) {
      const deletes = this.generator.generateDeletes();
      this.steps.push(...deletes);
      this.deleteSchedule = scheduleDeletes(this.generator.graph, deletes);
      for (const chain of this.deleteSchedule) {
        if (this.failed || this.terminated) break;
        await Promise.allSettled(
          chain.map((s) => this.track(this.apply(s).catch(() => undefined))),
        );
      }
    }
    this.checkpoint();
    return {
      ok: !this.failed && !this.terminated,
      errors: [...this.errors],
      warnings: [...this.warnings],
      state: this.snapshots.snap(),
    };
  }

  private event(step: Step, status: StepStatus, error?: string): void {
    this.opts.onEvent?.({ step, status, ...(error !== undefined ? { error } : {}) });
  }

  /** Step.Apply plus the snapshot mutation around it. Rejects when the step failed. */
  private async apply(step: Step): Promise<void> {
    const sm = this.snapshots;
    switch (step.op) {
      case "replace":
        return;
      case "same":
        step.new.id = step.old.id;
        step.new.outputs = step.old.outputs;
        sm.markDone(step.old);
        sm.markNew(step.new);
        this.event(step, "succeeded");
        this.checkpoint();
        return;
      case "remove-pending-replace":
        sm.markDone(step.old);
        this.checkpoint();
        return;
      case "create":
      case "create-replacement":
        return this.applyCreate(step);
      case "update":
        return this.applyUpdate(step);
      case "delete":
      case "delete-replaced":
        return this.applyDelete(step);
    }
  }

  private async run<T>(step: Step, call: () => Promise<T>): Promise<T> {
    this.event(step, "started");
    try {
      const value = await call();
      this.event(step, "succeeded");
      return value;
    } catch (err) {
      this.event(step, "failed", messageOf(err));
      throw err;
    }
  }

  private async applyCreate(
    step: Extract<Step, { op: "create" | "create-replacement" }>,
  ): Promise<void> {
    const sm = this.snapshots;
    const neu = step.new;
    sm.begin(neu, "creating");
    this.checkpoint();
    try {
      const { id, outputs } = step.reg.custom
        ? await this.run(step, () =>
            this.opts.provider.create({
              urn: neu.urn,
              type: neu.type,
              name: step.reg.name,
              inputs: neu.inputs,
              preview: this.opts.dryRun ?? false,
            }),
          )
        : { id: "", outputs: {} };
      this.recordCreated(step, id, outputs);
    } catch (err) {
      if (this.terminated) throw err;
      sm.complete(neu);
      if (err instanceof PartialFailure) {
        neu.initErrors = err.reasons;
        this.recordCreated(step, err.id, err.outputs);
      }
      this.fail(messageOf(err));
      this.checkpoint();
      throw err;
    }
  }

  private recordCreated(
    step: Extract<Step, { op: "create" | "create-replacement" }>,
    id: string,
    outputs: PropertyMap,
  ): void {
    const sm = this.snapshots;
    const neu = step.new;
    neu.id = id;
    neu.outputs = step.reg.custom
      ? withSecretOutputs(neu.inputs, outputs, neu.options.additionalSecretOutputs)
      : outputs;
    if (step.op === "create-replacement" && step.pendingDelete) step.old.delete = true;
    sm.complete(neu);
    sm.markNew(neu);
    if (step.op === "create-replacement" && step.old.pendingReplacement) sm.markDone(step.old);
    this.checkpoint();
  }

  private async applyUpdate(step: Extract<Step, { op: "update" }>): Promise<void> {
    const sm = this.snapshots;
    const { old, new: neu } = step;
    neu.id = old.id;
    sm.begin(neu, "updating");
    this.checkpoint();
    const done = (outputs: PropertyMap) => {
      neu.outputs = step.reg.custom
        ? withSecretOutputs(neu.inputs, outputs, neu.options.additionalSecretOutputs)
        : outputs;
      sm.complete(neu);
      sm.markDone(old);
      sm.markNew(neu);
      this.checkpoint();
    };
    if (!step.reg.custom) return done({});
    try {
      const { outputs } = await this.run(step, () =>
        this.opts.provider.update({
          urn: neu.urn,
          type: neu.type,
          name: step.reg.name,
          id: old.id,
          oldInputs: old.inputs,
          oldOutputs: old.outputs,
          newInputs: neu.inputs,
          ignoreChanges: step.reg.options.ignoreChanges,
          preview: this.opts.dryRun ?? false,
        }),
      );
      done(outputs);
    } catch (err) {
      if (this.terminated) throw err;
      if (err instanceof PartialFailure) {
        neu.inputs = { ...old.inputs };
        neu.initErrors = err.reasons;
        done(err.outputs);
      } else {
        sm.complete(neu);
        this.checkpoint();
      }
      this.fail(messageOf(err));
      throw err;
    }
  }

  private async applyDelete(
    step: Extract<EndStep, { op: "delete" | "delete-replaced" }>,
  ): Promise<void> {
    const sm = this.snapshots;
    const old: StateResource = step.old;
    sm.begin(old, "deleting");
    this.checkpoint();
    const deletedWith = old.options.deletedWith;
    try {
      if (step.op === "delete" && old.options.protect) {
        throw new Error(
          `resource "${old.urn}" cannot be deleted\nbecause it is protected. To unprotect the resource, ` +
            "either remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`",
        );
      }
      const skipProvider =
        this.opts.dryRun ||
        !old.custom ||
        old.options.retainOnDelete ||
        (deletedWith !== "" && this.generator.deletes.has(deletedWith));
      if (skipProvider) this.event(step, "succeeded");
      else {
        await this.run(step, () =>
          this.opts.provider.delete({
            urn: old.urn,
            type: old.type,
            name: old.urn.split("::").pop()!,
            id: old.id,
            inputs: old.inputs,
            outputs: old.outputs,
          }),
        );
      }
    } catch (err) {
      if (this.terminated) throw err;
      sm.complete(old);
      this.fail(messageOf(err));
      this.checkpoint();
      throw err;
    }
    if (step.pendingReplacement) old.pendingReplacement = true;
    sm.complete(old);
    if (!old.pendingReplacement) sm.markDone(old);
    this.checkpoint();
  }
}
