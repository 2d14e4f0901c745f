/** Compares two recorded program runs the way the engine would: resource by resource, by URN. */
import { ProgramRun, RecordedResource, StackConfig } from "../../harness/program/mocks";
import { testStackConfig, withPinnedHostKeys } from "../../harness/program/stacks";

export interface RunDiff {
  /** Names of resources only in the second run. */
  added: string[];
  /** Names of resources only in the first run (Pulumi deletes them). */
  removed: string[];
  /** Names of resources in both runs whose inputs differ (Pulumi updates them). */
  changed: string[];
}

export function diffRuns(before: ProgramRun, after: ProgramRun): RunDiff {
  const index = (run: ProgramRun) => new Map(run.resources.map((r) => [r.urn, r]));
  const a = index(before);
  const b = index(after);
  const inputs = (r: RecordedResource) => JSON.stringify(r.inputs);
  const names = (list: RecordedResource[]) => list.map((r) => r.name).sort();
  return {
    added: names([...b.values()].filter((r) => !a.has(r.urn))),
    removed: names([...a.values()].filter((r) => !b.has(r.urn))),
    changed: names(
      [...b.values()].filter((r) => a.has(r.urn) && inputs(a.get(r.urn)!) !== inputs(r)),
    ),
  };
}

export const TOKEN = "day2-server-token-5d1e";
export const AGENT_TOKEN = "day2-agent-token-9c07";
export const SECRET_KEYS = ["k3s-ha:token", "k3s-ha:agentToken"];

/** The dev stack (the page's topology) with both tokens set, plus any overrides; every host pinned. */
export function devStack(overrides: StackConfig = {}): StackConfig {
  return withPinnedHostKeys({
    ...testStackConfig("dev"),
    "k3s-ha:token": TOKEN,
    "k3s-ha:agentToken": AGENT_TOKEN,
    ...overrides,
  });
}

/** The two no-op records that remember a host's name and address (components/host/hostRecords.ts). */
export function hostRecordNames(name: string, address: string): string[] {
  return [`${name}-host-record`, `address-${address.replace(/:/g, "-")}-host-record`];
}

/** The dev stack's host list with one more host or one fewer. */
export function devHosts(list: "servers" | "agents"): { name: string; address: string }[] {
  return [...(testStackConfig("dev")[`k3s-ha:${list}`] as { name: string; address: string }[])];
}
