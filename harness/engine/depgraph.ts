/**
 * The dependency graph of a state's resources, and the delete schedule built on it.
 * Behavioural port of pulumi/pulumi `pkg/resource/graph/dependency_graph.go` (DependingOn,
 * DependenciesOf) and `pkg/resource/deploy/step_generator.go` ScheduleDeletes. Edges: a
 * resource's parent, provider (the URN of its provider reference), dependencies, property
 * dependencies and deletedWith (resource.State.GetAllDependencies). The list must be in
 * topological order, as a state's resources are.
 */
import { StateResource } from "./state";
import { parseProviderRef } from "./urns";

/**
 * GetAllDependencies without the parent: the provider's URN, dependencies, property
 * dependencies, deletedWith.
 */
export function dependencyUrns(r: StateResource): Set<string> {
  const urns = new Set<string>(r.dependencies);
  if (r.provider) urns.add(parseProviderRef(r.provider).urn);
  for (const deps of Object.values(r.propertyDependencies)) for (const u of deps) urns.add(u);
  if (r.options.deletedWith) urns.add(r.options.deletedWith);
  return urns;
}

export class DependencyGraph {
  private readonly index = new Map<StateResource, number>();
  /** Transitive children of each URN, as indexes. */
  private readonly childrenOf = new Map<string, number[]>();

  constructor(readonly resources: StateResource[]) {
    const urnIndex = new Map<string, number>();
    resources.forEach((r, i) => {
      this.index.set(r, i);
      urnIndex.set(r.urn, i);
      let parent = r.parent;
      while (parent) {
        this.childrenOf.set(parent, [...(this.childrenOf.get(parent) ?? []), i]);
        const p = urnIndex.get(parent);
        if (p === undefined) throw new Error(`parent ${parent} not found before ${r.urn}`);
        parent = resources[p].parent;
      }
    });
  }

  contains(r: StateResource): boolean {
    return this.index.has(r);
  }

  /**
   * Every resource that depends on `r` directly or indirectly (children only with
   * includeChildren), in topological order; resources whose URN is in `ignore` are skipped.
   */
  dependingOn(r: StateResource, ignore: Set<string>, includeChildren = false): StateResource[] {
    const start = this.index.get(r);
    if (start === undefined) throw new Error(`${r.urn} is not in the dependency graph`);
    const dependents: StateResource[] = [];
    const set = new Set([r.urn]);
    for (let i = start + 1; i < this.resources.length; i++) {
      const c = this.resources[i];
      if (ignore.has(c.urn)) continue;
      const isDependent =
        (includeChildren && set.has(c.parent)) || [...dependencyUrns(c)].some((u) => set.has(u));
      if (isDependent) {
        dependents.push(c);
        set.add(c.urn);
      }
    }
    return dependents;
  }

  /**
   * The resources `r` depends on directly: its parent, its dependencies, and, for a dependency
   * on a component, the component's children that come before `r`.
   */
  dependenciesOf(r: StateResource): Set<StateResource> {
    const set = new Set<StateResource>();
    const urns = dependencyUrns(r);
    const cursor = this.index.get(r);
    if (cursor === undefined) throw new Error(`${r.urn} is not in the dependency graph`);
    for (let i = cursor - 1; i >= 0; i--) {
      const c = this.resources[i];
      if (urns.has(c.urn)) {
        set.add(c);
        if (!c.custom) {
          for (const j of this.childrenOf.get(c.urn) ?? []) {
            if (j < cursor) set.add(this.resources[j]);
          }
        }
      }
      if (c.urn === r.parent) set.add(c);
    }
    return set;
  }
}

/**
 * ScheduleDeletes: the condemned resources in antichains, each deletable in parallel once every
 * earlier antichain is done; a resource is deleted only after everything that depends on it.
 * `graph` is the OLD state's graph.
 */
export function scheduleDeletes<T extends { old: StateResource }>(
  graph: DependencyGraph,
  deletes: T[],
): T[][] {
  const condemned = new Map<StateResource, T>(deletes.map((d) => [d.old, d]));
  const antichains: T[][] = [];
  while (condemned.size > 0) {
    const chain: T[] = [];
    for (const [res, step] of condemned) {
      const deps = graph.dependenciesOf(res);
      if (![...deps].some((d) => condemned.has(d))) chain.push(step);
    }
    if (chain.length === 0) throw new Error("dependency cycle among the resources to delete");
    for (const step of chain) condemned.delete(step.old);
    antichains.push(chain);
  }
  return antichains.reverse();
}
