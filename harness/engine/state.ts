/**
 * A stack's state (the checkpoint): resources in a valid topological order and pending
 * operations, as pulumi/pulumi `pkg/resource/deploy/snapshot.go` and `pkg/resource/state.go` keep
 * them (the fields this program's resources use). Values are in the recorded form of
 * `harness/program/mocks.ts`; a secret is kept as `{ secret: value }` in clear text (the real
 * backend encrypts it), so a state file must be private (saveState writes it 0600).
 */
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { RecordedResource, RegistrationOptions, isSecretValue } from "../program/mocks";
import { COMMAND_TYPE, LOCAL_COMMAND_TYPE } from "./providers";
import { EngineUrns, Registration, isProviderType, parseProviderRef, providerRef } from "./urns";
import { PropertyMap } from "./values";

export interface StateResource {
  urn: string;
  type: string;
  custom: boolean;
  /** The provider's id ("" for components). */
  id: string;
  parent: string;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  inputs: PropertyMap;
  outputs: PropertyMap;
  /** The registration's options, as the engine stores them with the state. */
  options: RegistrationOptions;
  /**
   * The provider reference (`<provider URN>::<id>`, "" for none or a default provider the model
   * does not name); absent when the registration did not record one.
   */
  provider?: string;
  /**
   * Old URNs this resource was found under this run (State.Aliases): kept in memory for
   * NormalizeURNReferences, never written (snapshot.ts).
   */
  aliases?: string[];
  /** Replaced (create-before-delete) and still to be deleted: deleted at the end of a run. */
  delete?: boolean;
  /** Deleted by a delete-before-replace whose replacement is not created yet. */
  pendingReplacement?: boolean;
  /** Reasons of a partial failure (StatusPartialFailure): the next run updates it again. */
  initErrors?: string[];
}

/** pkg/resource/operation.go OperationType. */
export type OperationType = "creating" | "updating" | "deleting" | "reading" | "importing";

export interface PendingOperation {
  resource: StateResource;
  type: OperationType;
}

export interface StackState {
  stack: string;
  resources: StateResource[];
  pendingOperations: PendingOperation[];
  /**
   * The program's stack outputs (the root stack resource's outputs in the real checkpoint), in
   * the recorded form: a secret is `{ secret: value }`. Absent before the first successful up.
   */
  outputs?: Record<string, unknown>;
}

export function emptyState(stack: string): StackState {
  return { stack, resources: [], pendingOperations: [] };
}

/** The state file's content, or an empty state when there is none (a new stack). */
export function loadState(file: string, stack: string): StackState {
  if (!fs.existsSync(file)) return emptyState(stack);
  const state = JSON.parse(fs.readFileSync(file, "utf8")) as StackState;
  return {
    stack: state.stack ?? stack,
    resources: state.resources ?? [],
    pendingOperations: state.pendingOperations ?? [],
    ...(state.outputs !== undefined && { outputs: state.outputs }),
  };
}

/** Writes the state atomically (a complete file or the previous one, never half of one). */
export function saveState(file: string, state: StackState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(state, null, 1)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** A provider id: pulumi-command uses resource.NewUniqueHex(name, 8, 0). */
export function newId(name: string): string {
  return `${name}${randomBytes(4).toString("hex")}`;
}

/**
 * Outputs as the engine stores them (step_executor.go continueExecuteStep): keys listed in
 * additionalSecretOutputs become secret, and so does every output whose input of the same name
 * is secret.
 */
export function withSecretOutputs(
  inputs: PropertyMap,
  outputs: PropertyMap,
  additionalSecretOutputs: string[],
): PropertyMap {
  const out: PropertyMap = { ...outputs };
  for (const k of additionalSecretOutputs) {
    if (k in out && !isSecretValue(out[k])) out[k] = { secret: out[k] };
  }
  for (const [k, v] of Object.entries(out)) {
    if (!isSecretValue(v) && k in inputs && isSecretValue(inputs[k])) out[k] = { secret: v };
  }
  return out;
}

/**
 * What a provider returns as a resource's state after a successful create with no output of its
 * own: a remote or local Command (CommandOutputs embeds its inputs) with stdout and stderr,
 * every other custom resource its inputs. Components keep no outputs here.
 */
export function outputsOnCreate(
  r: Pick<RecordedResource, "type" | "custom" | "inputs">,
  stdout = "",
  stderr = "",
): PropertyMap {
  if (!r.custom) return {};
  if (r.type === COMMAND_TYPE || r.type === LOCAL_COMMAND_TYPE)
    return { ...r.inputs, stdout, stderr };
  return { ...r.inputs };
}

/** The state resource a successful create or update of a registration leaves. */
export function stateOf(
  r: Registration,
  inputs: PropertyMap,
  outputs: PropertyMap,
  id: string,
): StateResource {
  return {
    urn: r.urn,
    type: r.type,
    custom: r.custom,
    id: r.custom ? id : "",
    parent: r.parent,
    dependencies: [...r.dependencies],
    propertyDependencies: { ...r.propertyDependencies },
    inputs,
    outputs: r.custom
      ? withSecretOutputs(inputs, outputs, r.options.additionalSecretOutputs)
      : outputs,
    options: r.options,
    ...(r.provider !== undefined ? { provider: r.provider } : {}),
  };
}

/**
 * The state a successful `pulumi up` of these registrations leaves on a new stack (every
 * resource created, in registration order, which is a valid topological order). With it a
 * registration snapshot of an older release stands for a user's deployed stack. `outputsOf`
 * gives a resource's provider outputs (default: `outputsOnCreate`, empty stdout/stderr). URNs
 * are the engine's (urns.ts EngineUrns: the recorder's differ below depth two), and a provider
 * reference names the id this state gives its provider (the recorder's mock ids differ).
 */
export function stateFromRegistrations(
  stack: string,
  resources: Registration[],
  outputsOf: (r: RecordedResource) => PropertyMap = (r) => outputsOnCreate(r),
): StackState {
  const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 8);
  const engineUrns = new EngineUrns();
  const states = resources.map((recorded) => {
    const r = engineUrns.translate(recorded);
    return stateOf(r, { ...r.inputs }, outputsOf(recorded), `${r.name}${hash(r.urn)}`);
  });
  const providerIds = new Map(
    states.filter((s) => isProviderType(s.type)).map((s) => [s.urn, s.id] as const),
  );
  for (const s of states) {
    if (!s.provider) continue;
    const { urn } = parseProviderRef(s.provider);
    const id = providerIds.get(urn);
    if (id !== undefined) s.provider = providerRef(urn, id);
  }
  return { stack, resources: states, pendingOperations: [] };
}
