/**
 * The e2e executor: a TEST HARNESS that stands in for the Pulumi CLI, its engine and the command
 * provider's plugin, none of which can be downloaded on these machines. It evaluates the real
 * `index.ts` (or another program, UpOptions.program: a worktree of an earlier release) under
 * `pulumi.runtime.setMocks` (harness/e2e/engine-runner.ts) and hands every registration
 * to a behavioural model of the engine (harness/engine/), which decides per resource what
 * the real engine decides and calls the command provider, run over real SSH with ssh2
 * (harness/e2e/host-commands.ts). Each stack has a state file kept between runs (harness/e2e/state-file.ts).
 *
 * `up` is `pulumi up`: a preview pass first (setMocks preview=true; nothing runs; created and
 * updated resources' stdout/stderr unknown) whose plan is printed per host, then the real pass.
 * `preview` is the preview alone. `destroy` is `pulumi destroy`.
 *
 * | engine behaviour reproduced                                     | source (pulumi/pulumi unless named)                                   | exercised by |
 * | --------------------------------------------------------------- | --------------------------------------------------------------------- | ------------ |
 * | old INPUTS (state) vs new inputs, provider Diff                 | step_generator.go diff/diffResource; go-provider infer/resource.go diff | test/engine/diff.test.ts |
 * | secret vs plain differ, secret→secret compared by value         | properties_diff.go DeepEquals                                          | test/engine/values.test.ts, diff.test.ts |
 * | changed `triggers` element REPLACES (SDK forces triggers[*])    | @pulumi/command remote/command.js; applyReplaceOnChanges               | diff.test.ts ("a changed trigger REPLACES") |
 * | `triggers` added/removed replaces (schema replaceOnChanges)     | pulumi-command common/inputs.go; infer Diff forceReplace               | diff.test.ts |
 * | ignoreChanges resets to OLD inputs (path Reset)                 | step_generator.go processIgnoreChanges; properties_path.go Reset       | diff.test.ts TestSingleResourceIgnoreChanges |
 * | create/update/stdin/connection change → update in place         | infer Diff (Command has Update)                                        | diff.test.ts |
 * | same: nothing runs, old id and outputs returned                 | step.go SameStep.Apply                                                 | lifecycle.test.ts; haproxy.test.ts 3 |
 * | update runs `update` else `create` with NEW inputs              | pulumi-command commandController.go Update                             | haproxy.test.ts 3 (rerunAll) |
 * | create-before-delete: new create now, OLD delete at the end     | continueStepsFromDiff; CreateStep.Apply (old.Delete); GenerateDeletes  | dbr.test.ts, lifecycle.test.ts TestPendingDeleteOrder |
 * | delete-before-replace: dependents and old deleted first         | continueStepsFromDiff; calculateDependentReplacements                 | dbr.test.ts |
 * | deletes only after the program and every step succeeded         | deployment_executor.go Execute/performPostSteps                       | lifecycle.test.ts ("no deletes after a failure") |
 * | deletes in reverse dependency order of the OLD state, antichains | ScheduleDeletes; dependency_graph.go DependenciesOf                   | plan.test.ts; haproxy.test.ts 5 |
 * | no step starts after a failed step; running ones finish         | step_executor.go executeChain/cancelDueToError                        | lifecycle.test.ts; nginx.test.ts (checksum) |
 * | failed create: nothing in state; failed update: old state kept  | step.go CreateStep/UpdateStep.Apply; backend/snapshot.go End           | lifecycle.test.ts; haproxy.test.ts 4 |
 * | failed delete kept (`delete: true`), retried at the next end    | snapshot.go deleteSnapshotMutation; GenerateDeletes (res.Delete)       | lifecycle.test.ts TestPendingDeleteReplacement |
 * | state written after every step (begin: pending op, end: result) | backend/snapshot.go BeginMutation/End/Snap                             | lifecycle.test.ts ("CLI stopped mid-step") |
 * | CLI stopped mid-step: pending op kept, warned at the next run   | snapshot.go Snap (pending CREATE carried); printPendingOperationsWarning | lifecycle.test.ts; haproxy.test.ts 4b |
 * | `pulumi up` stops when its preview fails                        | pkg/backend/apply.go PreviewThenPromptThenExecute                       | (up(); no test) |
 * | aliases: the old resource found by URN first, then under each alias | step_generator.go generateSteps (old-resource lookup), generateAliases | aliases.test.ts |
 * | alias specs: unset name/type are the resource's; a set parent moved this run is its OLD URN; noParent (SDK: `parent: rootStackResource`) or the stack: none | step_generator.go collapseAliasToUrn; source_eval.go RegisterResource; nodejs runtime/resource.ts mapAliasesForRequest | aliases.test.ts |
 * | inherited child aliases, only under a parent found through an alias IN THIS RUN: the parent's old qualified type, the parent-name prefix of the child's name replaced | step_generator.go generateAliases/inheritedChildAlias | aliases.test.ts (the move; "a move cut short, then retried") |
 * | an alias claiming a URN registered or claimed in the run fails the run | step_generator.go generateSteps (GetDuplicateResourceAliasError, GetDuplicateResourceAliasedError) | aliases.test.ts TestDuplicatesDueToAliases |
 * | engine URNs: the parent's FULL qualified type prefixes the type (the mock monitor keeps its last segment; recorded URNs and references are rewritten) | deployment.go generateURN; resource/urn.go NewURN | aliases.test.ts ("URNs are the engine's below depth two") |
 * | provider reference: equal, or the old provider URN aliased to the new one (ids not compared), is no change; any other change replaces (key `provider`; engines since pulumi#18509 ask DiffConfig: the model is stricter) | step_generator.go providerChanged/diff; providers/registry.go RegisterAlias/setProvider | aliases.test.ts ("provider moved through an alias", "renamed with no alias", "also replaced") |
 * | a resource whose provider is replaced delete-before-replace goes with it; a provider reference is a graph edge (delete order) | step_generator.go calculateDependentReplacements; graph/dependency_graph.go DependingOn/DependenciesOf | aliases.test.ts ("delete-before-replace takes its resources"), "alias misses" |
 * | state written normalized: URNs, parents, dependencies, property deps, deletedWith, provider refs follow aliases; an unregistered child follows its moved parent; aliases not written | snapshot.go NormalizeURNReferences; state_builder.go withUpdatedAliases | aliases.test.ts (TestSplitUpdateComponentAliases, TestFailDeleteDuplicateAliases, TestAliasesInProvidersAreNormalized) |
 * | Command with no `create` never dials; no `delete`, nothing      | pulumi-command commandController.go Create/Delete                      | test/engine/host-commands.test.ts |
 * | local record Commands (no command) run nothing                  | pulumi-command local/commandController.go                             | host-commands.test.ts; every e2e up |
 * | Delete runs the OLD state's delete, connection and stdin        | commandController.go Delete (req.State)                               | haproxy.test.ts 5 |
 * | stack outputs: kept after a successful up, the previous ones after a failed one, none after a destroy | nodejs runtime/stack.ts (outputs registered once the exports resolve); stack/stack_output.go | test/engine/cli.test.ts; test/e2e/quickstart.test.ts |
 * | CopyToRemote: SFTP copy; update copies only on a changed asset or remotePath; no delete | remote/copyController.go Create/Update/sftpCopy | faults.test.ts (air gap); test/engine/host-commands.test.ts |
 *
 * Not covered: CopyToRemote of a text asset or an archive, docker types (a clear "not covered" error), a
 * refresh, targets, protect beyond refusing a delete, the real provider's error text (see
 * host-commands.ts). Provider references are compared only when the registration carries one:
 * harness/program/mocks.ts does not record RegisterResourceRequest.provider yet, so under the
 * executor and the day-2 guard a changed provider of a docker resource is not seen. The model's
 * provider for types other than the command provider's (provider resources included) replaces
 * on any change (stricter than real).
 */
import { ProgramRun, StackConfig } from "../program/mocks";
import { stepDependencies } from "../program/graph";
import { Deployment } from "../engine/deployment";
import { formatPlan } from "../engine/format";
import { Plan, PlannedChange, changesOf, planOf } from "../engine/plan";
import { COMMAND_TYPE } from "../engine/providers";
import { StackState } from "../engine/state";
import { evaluateProgram } from "./engine-runner";
import { HostCommands, Interrupt, PREVIEW_COMMANDS, StepRecord } from "./host-commands";
import { readStack, stateFile, writeStack } from "./state-file";

export { COMMAND_TYPE };
export type { Interrupt, StepRecord };
/** A delete that ran (same record as a create or update). */
export type DeleteRecord = StepRecord;

export const DEFAULT_STACK = "e2e";

export interface UpOptions {
  /** The stack (its state file); default "e2e". */
  stack?: string;
  secretKeys?: string[];
  interrupt?: Interrupt;
  /**
   * Every Command already in the state is updated (its `update`, else `create`, runs again) as
   * if every input had changed: what a program upgrade that changes every script does.
   */
  rerunAll?: boolean;
  /** Skip the preview pass. */
  skipPreview?: boolean;
  /** Print the preview's plan per host (default: true). */
  printPlan?: boolean;
  /**
   * The program to evaluate (default: this checkout's index.ts), e.g. `<worktree>/index.ts` of an
   * earlier release whose node_modules is a symlink to this checkout's (see EvaluateProgramOptions).
   */
  program?: string;
}

/** One `pulumi up`: what the program registered, what ran, what failed, the state after. */
export interface Evaluation extends ProgramRun {
  stack: string;
  /** Creates and updates that ran over SSH, in the order they ended. */
  steps: StepRecord[];
  /** Deletes that ran over SSH (replaced, removed or delete-before-replace). */
  deletes: DeleteRecord[];
  /** Step failures and program errors, in the order they happened. */
  errors: string[];
  /** Engine warnings (pending operations of an earlier run). */
  warnings: string[];
  /** What the preview pass planned (undefined with skipPreview). */
  plan?: Plan;
  /** What the real pass did, per resource. */
  changes: PlannedChange[];
  /** The state file's content after the run. */
  state: StackState;
  stateFile: string;
  /** The CLI was stopped mid-run (a `kill-cli` interrupt). */
  interrupted: boolean;
}

const forceUpdate = (rerunAll: boolean | undefined) =>
  rerunAll ? (r: { type: string }) => r.type === COMMAND_TYPE : undefined;

/** `pulumi preview`: the plan of this config against the stack's state. Nothing runs. */
export async function preview(
  stackConfig: StackConfig,
  opts: UpOptions = {},
): Promise<Plan & ProgramRun> {
  const stack = opts.stack ?? DEFAULT_STACK;
  const deployment = new Deployment(structuredClone(readStack(stack)), {
    dryRun: true,
    provider: PREVIEW_COMMANDS,
    forceUpdate: forceUpdate(opts.rerunAll),
  });
  const evaluation = await evaluateProgram(stackConfig, deployment, {
    stack,
    secretKeys: opts.secretKeys ?? [],
    preview: true,
    program: opts.program,
  });
  const result = await deployment.finish(evaluation.programErrors[0]);
  const plan = planOf(deployment, result);
  return { ...plan, resources: evaluation.resources, outputs: evaluation.outputs };
}

/** `pulumi up`. Never throws for a failed step: failures are in `errors`. */
export async function up(stackConfig: StackConfig, opts: UpOptions = {}): Promise<Evaluation> {
  const stack = opts.stack ?? DEFAULT_STACK;
  let plan: (Plan & ProgramRun) | undefined;
  if (!opts.skipPreview) {
    plan = await preview(stackConfig, opts);
    if (opts.printPlan ?? true) console.log(indent(formatPlan(plan)));
    if (plan.errors.length > 0) {
      // `pulumi up` does not update after a failed preview.
      const state = readStack(stack);
      return {
        stack,
        resources: plan.resources,
        outputs: plan.outputs,
        steps: [],
        deletes: [],
        errors: plan.errors,
        warnings: plan.warnings,
        plan,
        changes: [],
        state,
        stateFile: stateFile(stack),
        interrupted: false,
      };
    }
  }
  const prev = readStack(stack);
  // A `kill-cli` interrupt stops the engine (the CLI) at the cut.
  const commands = new HostCommands(opts.interrupt, () => deployment.terminate());
  const deployment = new Deployment(prev, {
    provider: commands,
    forceUpdate: forceUpdate(opts.rerunAll),
    onCheckpoint: writeStack,
  });
  for (const w of deployment.warnings) console.log(indent(`warning: ${w}`));
  const evaluation = await evaluateProgram(stackConfig, deployment, {
    stack,
    secretKeys: opts.secretKeys ?? [],
    preview: false,
    program: opts.program,
  });
  const result = await deployment.finish(evaluation.programErrors[0]);
  const ran = commands.records;
  const failed = !result.ok || evaluation.programErrors.length > 0 || deployment.isTerminated;
  if (!failed) keepStackOutputs(stack, evaluation.outputs);
  return {
    stack,
    resources: evaluation.resources,
    outputs: evaluation.outputs,
    steps: ran.filter((r) => r.op !== "delete"),
    deletes: ran.filter((r) => r.op === "delete"),
    errors: [
      ...result.errors,
      ...evaluation.programErrors.filter((e) => !result.errors.includes(e)),
    ],
    warnings: result.warnings,
    plan,
    changes: changesOf(deployment.steps),
    state: readStack(stack),
    stateFile: stateFile(stack),
    interrupted: deployment.isTerminated,
  };
}

/** The former name of `up`. */
export const evaluate = up;

/**
 * `pulumi destroy`: every resource of the stack's state deleted in the order ScheduleDeletes
 * gives (reverse dependency order, independent deletes concurrently); the state emptied on
 * success. Returns the deletes that ran; throws when the run failed without a delete to show it.
 */
export async function destroy(
  target: string | { stack: string } = DEFAULT_STACK,
): Promise<DeleteRecord[]> {
  const stack = typeof target === "string" ? target : target.stack;
  const commands = new HostCommands();
  const deployment = new Deployment(readStack(stack), {
    provider: commands,
    onCheckpoint: writeStack,
  });
  for (const w of deployment.warnings) console.log(indent(`warning: ${w}`));
  const result = await deployment.finish();
  if (result.ok) keepStackOutputs(stack, undefined);
  if (!result.ok && !commands.records.some((r) => r.error)) {
    throw new Error(`destroy of ${stack} failed: ${result.errors.join("\n")}`);
  }
  return commands.records;
}

/**
 * The program's stack outputs kept in the state after an up that succeeded (the root stack
 * resource's RegisterResourceOutputs, which the SDK sends once the program's exports resolve;
 * nodejs runtime/stack.ts), dropped by a destroy that deleted everything. A failed up keeps the
 * previous ones.
 */
function keepStackOutputs(stack: string, outputs: Record<string, unknown> | undefined): void {
  const state = readStack(stack);
  if (outputs === undefined) delete state.outputs;
  else state.outputs = JSON.parse(JSON.stringify(outputs)) as Record<string, unknown>;
  writeStack(state);
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
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
