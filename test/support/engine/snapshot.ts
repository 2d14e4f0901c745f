/**
 * The snapshot manager: what the state file holds after each step begins and ends. Behavioural
 * port of pulumi/pulumi `pkg/backend/snapshot.go` (BeginMutation / End of same, create, update,
 * delete and removePendingReplace mutations; markDone, markNew, markOperationPending /
 * Complete; Snap) and `pkg/resource/deploy/snapshot.go` NormalizeURNReferences:
 * - a step's begin records a pending operation, its end clears it (success or not);
 * - success: the new state is appended, the old one is dropped ("done");
 * - a failed create leaves nothing; a failed update or delete leaves the old state;
 * - the state is the new resources in completion order, then the old ones not done;
 * - pending CREATE operations of the previous state are carried into every later state.
 */
import { OperationType, PendingOperation, StackState, StateResource } from "./state";

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
    });
  }
}

/** NormalizeURNReferences: references to an aliased URN point at the resource's new URN. */
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
    if (parent) {
      const parentType = parent.split("::")[2];
      const [prefix, project, qualified, ...name] = r.urn.split("::");
      const type = qualified.split("$").pop()!;
      aliased.set(r.urn, [prefix, project, `${parentType}$${type}`, ...name].join("::"));
    }
  }
  if (aliased.size === 0) return state;
  const fix = (u: string) => aliased.get(u) ?? u;
  for (const r of state.resources) {
    r.urn = fix(r.urn);
    r.parent = r.parent ? fix(r.parent) : r.parent;
    r.dependencies = r.dependencies.map(fix);
    r.propertyDependencies = Object.fromEntries(
      Object.entries(r.propertyDependencies).map(([k, v]) => [k, v.map(fix)]),
    );
    if (r.options.deletedWith)
      r.options = { ...r.options, deletedWith: fix(r.options.deletedWith) };
  }
  return state;
}
