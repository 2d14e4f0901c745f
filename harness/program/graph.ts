/** The dependency graph of host steps in a recorded run. */
import { ProgramRun, RecordedResource } from "./mocks";

/** Resources that do something on a host. */
export const HOST_STEP_TYPES = new Set([
  "command:remote:Command",
  "docker:index/remoteImage:RemoteImage",
  "docker:index/container:Container",
]);

/** For each host step, the host steps it depends on (through components and other resources). */
export function stepDependencies(run: ProgramRun): Map<string, Set<string>> {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  const children = new Map<string, RecordedResource[]>();
  for (const r of run.resources) {
    if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  }
  // A dependency on a component is a dependency on everything inside it.
  const expand = (urn: string, out: Set<string>, seen: Set<string>) => {
    if (seen.has(urn)) return;
    seen.add(urn);
    const r = byUrn.get(urn);
    if (!r) return;
    if (HOST_STEP_TYPES.has(r.type)) {
      out.add(r.name);
      return;
    }
    for (const d of r.dependencies) expand(d, out, seen);
    for (const c of children.get(urn) ?? []) expand(c.urn, out, seen);
  };
  const deps = new Map<string, Set<string>>();
  for (const r of run.resources.filter((x) => HOST_STEP_TYPES.has(x.type))) {
    const out = new Set<string>();
    const seen = new Set<string>([r.urn]);
    for (const d of r.dependencies) expand(d, out, seen);
    deps.set(r.name, out);
  }
  return deps;
}

/** The longest chain of dependent host steps, first step first. */
export function criticalPath(run: ProgramRun): string[] {
  const deps = stepDependencies(run);
  const memo = new Map<string, string[]>();
  const longest = (name: string): string[] => {
    const known = memo.get(name);
    if (known) return known;
    let best: string[] = [];
    for (const d of deps.get(name) ?? []) {
      const chain = longest(d);
      if (chain.length > best.length) best = chain;
    }
    const result = [...best, name];
    memo.set(name, result);
    return result;
  };
  let best: string[] = [];
  for (const name of deps.keys()) {
    const chain = longest(name);
    if (chain.length > best.length) best = chain;
  }
  return best;
}

/** True when host step `a` depends on host step `b`, directly or transitively. */
export function dependsOn(run: ProgramRun, a: string, b: string): boolean {
  const deps = stepDependencies(run);
  const seen = new Set<string>();
  const stack = [...(deps.get(a) ?? [])];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (name === b) return true;
    if (seen.has(name)) continue;
    seen.add(name);
    stack.push(...(deps.get(name) ?? []));
  }
  return false;
}
