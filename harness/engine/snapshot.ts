/**
 * The snapshot manager: what the state file holds after each step begins and ends. Behavioural
 * port of pulumi/pulumi `pkg/backend/snapshot.go` (BeginMutation / End of same, create, update,
 * delete and removePendingReplace mutations; markDone, markNew, markOperationPending /
 * Complete; Snap, saveSnapshot) and `pkg/resource/deploy/snapshot.go` NormalizeURNReferences:
 * - a step's begin records a pending operation, its end clears it (success or not);
 * - success: the new state is appended, the old one is dropped ("done");
 * - a failed create leaves nothing; a failed update or delete leaves the old state;
 * - the state is the new resources in completion order, then the old ones not done;
 * - pending CREATE operations of the previous state are carried into every later state.
 */
import { OperationType, PendingOperation, StackState, StateResource } from "./state";
import { ROOT_STACK_TYPE, newUrn, parseProviderRef, providerRef, urnParts } from "./urns";

export class SnapshotManager {
  private readonly dones = new Set<StateResource>();
  private readonly news: StateResource[] = [];
  private readonly operations: PendingOperation[] = [];
  private readonly completeOps = new Set<StateResource>();

  constructor(private readonly base: StackState) {}

  begin(resource: StateResource, type: OperationType): void {
    this.operations.push({ resource, type });
  }

  /** Clears the pending operation of `resource` (success or failure). */
  complete(resource: StateResource): void {
    this.completeOps.add(resource);
  }

  markDone(resource: StateResource): void {
    this.dones.add(resource);
  }

  markNew(resource: StateResource): void {
    this.news.push(resource);
  }

  snap(): StackState {
    const resources = [
      ...this.news.filter((r) => !this.dones.has(r)),
      ...this.base.resources.filter((r) => !this.dones.has(r)),
    ];
    const pendingOperations = [
      ...this.operations.filter((op) => !this.completeOps.has(op.resource)),
      ...this.base.pendingOperations.filter((op) => op.type === "creating"),
    ];
    return normalizeUrnReferences({
      stack: this.base.stack,
      resources: structuredClone(resources),
      pendingOperations: structuredClone(pendingOperations),
      // The stack's outputs change only when the program's run ends (executor.ts).
      ...(this.base.outputs !== undefined && { outputs: structuredClone(this.base.outputs) }),
    });
  }
}

/**
 * NormalizeURNReferences, run on every snapshot the manager writes (saveSnapshot). First pass, in
 * state order: each resource's aliases map the old URN to its URN ("Two resources ... aliased to
 * the same" when two claim one); a resource whose parent is so mapped is mapped to the URN under
 * the parent's new qualified type, with its own name (a child not registered yet follows a moved
 * parent, TestSplitUpdateComponentAliases). Then every URN, parent, dependency, property
 * dependency, deletedWith and provider reference (its URN part; the id is kept) is rewritten,
 * and the aliases are dropped: the engine no longer writes them (stateBuilder.withUpdatedAliases,
 * TestFailDeleteDuplicateAliases).
 */
export function normalizeUrnReferences(state: StackState): StackState {
  const aliased = new Map<string, string>();
  for (const r of state.resources) {
    for (const alias of r.aliases ?? []) {
      const other = aliased.get(alias);
      if (other !== undefined && other !== r.urn) {
        throw new Error(
          `Two resources ('${other}' and '${r.urn}') aliased to the same: '${alias}'`,
        );
      }
      aliased.set(alias, r.urn);
    }
    const parent = aliased.get(r.parent);
    if (parent && urnParts(parent).qualifiedType !== ROOT_STACK_TYPE) {
      const { stack, project, type, name } = urnParts(r.urn);
      aliased.set(r.urn, newUrn(stack, project, parent, type, name));
    }
  }
  const fix = (u: string) => aliased.get(u) ?? u;
  for (const r of state.resources) {
    delete r.aliases;
    if (aliased.size === 0) continue;
    r.urn = fix(r.urn);
    r.parent = r.parent ? fix(r.parent) : r.parent;
    r.dependencies = r.dependencies.map(fix);
    r.propertyDependencies = Object.fromEntries(
      Object.entries(r.propertyDependencies).map(([k, v]) => [k, v.map(fix)]),
    );
    if (r.options.deletedWith)
      r.options = { ...r.options, deletedWith: fix(r.options.deletedWith) };
    if (r.provider) {
      const ref = parseProviderRef(r.provider);
      r.provider = providerRef(fix(ref.urn), ref.id);
    }
  }
  return state;
}
