/**
 * Planning a whole run, as `pulumi preview` does: the registrations of an evaluation against a
 * state, run through the engine model in dry-run mode (providers answer a preview, deletes are
 * generated and scheduled but not applied, the state is not touched).
 */
import { reveal } from "../program/mocks";
import { ResourceDiff } from "./diff";
import { Deployment, ProviderOps } from "./deployment";
import { GeneratorOptions } from "./stepgen";
import { StackState, StateResource } from "./state";
import { Step } from "./steps";
import { Registration, isProviderType, parseProviderRef, providerRef } from "./urns";
import { DiffKind, PropertyMap } from "./values";

export type ChangeOp = "same" | "create" | "update" | "replace" | "delete";

/** One resource's change, as the preview shows it. */
export interface PlannedChange {
  op: ChangeOp;
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  /** `connection.host` of the step (new inputs, or the old state's for a delete). */
  host?: string;
  /** Replace: the old resource is deleted before (delete-before-replace) or after its replacement. */
  replaceMode?: "create-before-delete" | "delete-before-replace";
  /** Top-level keys that changed, and the paths of the detailed diff. */
  changedKeys: string[];
  replaceKeys: string[];
  detailedDiff: Record<string, DiffKind>;
  /** Old and new inputs of the changed keys (for rendering; secrets stay `{ secret }`). */
  oldInputs?: PropertyMap;
  newInputs?: PropertyMap;
  /** Delete: removed from the program, or a pending delete of an earlier run. */
  reason?: string;
  /** An update forced by GeneratorOptions.forceUpdate, not by a diff. */
  forced?: boolean;
}

export interface Plan {
  stack: string;
  changes: PlannedChange[];
  /** The deletes at the end of the run, URNs per antichain, in execution order. */
  deleteSchedule: string[][];
  steps: Step[];
  warnings: string[];
  errors: string[];
}

export function nameOf(urn: string): string {
  return urn.split("::").pop() ?? urn;
}

export function hostOfInputs(inputs: PropertyMap | undefined): string | undefined {
  const conn = reveal(inputs?.connection) as { host?: unknown } | undefined;
  return typeof conn?.host === "string" ? conn.host : undefined;
}

function fromDiff(diff: ResourceDiff | undefined) {
  return {
    changedKeys: diff?.changedKeys ?? [],
    replaceKeys: diff?.replaceKeys ?? [],
    detailedDiff: diff?.detailedDiff ?? {},
  };
}

function resourceChange(
  op: ChangeOp,
  reg: Registration,
  old: StateResource | undefined,
  neu: StateResource,
  diff: ResourceDiff | undefined,
): PlannedChange {
  return {
    op,
    urn: reg.urn,
    type: reg.type,
    name: reg.name,
    custom: reg.custom,
    host: hostOfInputs(neu.inputs),
    ...fromDiff(diff),
    oldInputs: old?.inputs,
    newInputs: neu.inputs,
  };
}

/** The steps of a run, one change per resource (a replacement's steps are one change). */
export function changesOf(steps: Step[]): PlannedChange[] {
  const changes: PlannedChange[] = [];
  const replaced = new Set<StateResource>(
    steps.flatMap((s) => (s.op === "create-replacement" ? [s.old] : [])),
  );
  for (const s of steps) {
    switch (s.op) {
      case "same":
        changes.push(resourceChange("same", s.reg, s.old, s.new, undefined));
        break;
      case "create":
        changes.push(resourceChange("create", s.reg, undefined, s.new, undefined));
        break;
      case "update":
        changes.push({
          ...resourceChange("update", s.reg, s.old, s.new, s.diff),
          ...(s.forced ? { forced: true } : {}),
        });
        break;
      case "create-replacement":
        changes.push({
          ...resourceChange("replace", s.reg, s.old, s.new, s.diff),
          replaceMode: s.pendingDelete ? "create-before-delete" : "delete-before-replace",
          ...(s.diff
            ? {}
            : {
                replaceKeys: s.keys,
                reason: "it depends on a resource replaced delete-before-replace",
              }),
        });
        break;
      case "delete":
      case "delete-replaced":
      case "remove-pending-replace": {
        const reason = s.op === "remove-pending-replace" ? "pending-replacement" : s.reason;
        if (reason === "replaced" || reason === "dbr" || replaced.has(s.old)) break;
        changes.push({
          op: "delete",
          urn: s.urn,
          type: s.type,
          name: nameOf(s.urn),
          custom: s.old.custom,
          host: hostOfInputs(s.old.inputs),
          changedKeys: [],
          replaceKeys: [],
          detailedDiff: {},
          oldInputs: s.old.inputs,
          reason,
        });
        break;
      }
      case "replace":
        break;
    }
  }
  return changes;
}

/** A provider that answers a preview: outputs are the inputs, everything else unknown. */
export const PREVIEW_PROVIDER: ProviderOps = {
  create: (req) => Promise.resolve({ id: "", outputs: { ...req.inputs } }),
  update: (req) => Promise.resolve({ outputs: { ...req.newInputs } }),
  delete: () => Promise.resolve(),
};

/**
 * planRun: what `pulumi preview` of these registrations (in registration order) against this
 * state would show. The state is not changed.
 */
export async function planRun(
  state: StackState,
  registrations: Registration[],
  opts: GeneratorOptions & { provider?: ProviderOps } = {},
): Promise<Plan> {
  const deployment = new Deployment(structuredClone(state), {
    ...opts,
    dryRun: true,
    provider: opts.provider ?? PREVIEW_PROVIDER,
  });
  let programError: string | undefined;
  // A program builds a provider reference from the id its provider's registration returned (the
  // SDK's ProviderResource.register): recorded references carry the recording run's ids.
  const providerIds = new Map<string, string>();
  for (const recorded of registrations) {
    let reg = recorded;
    if (recorded.provider) {
      const { urn, id } = parseProviderRef(recorded.provider);
      const live = providerIds.get(urn);
      if (live !== undefined && live !== id)
        reg = { ...recorded, provider: providerRef(urn, live) };
    }
    try {
      const result = await deployment.register(reg);
      if (isProviderType(reg.type)) providerIds.set(reg.urn, result.id);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!deployment.errors.includes(message)) programError = message;
      break;
    }
  }
  return planOf(deployment, await deployment.finish(programError));
}

/** The plan a (dry-run) deployment generated, once it finished. */
export function planOf(
  deployment: Deployment,
  result: { warnings: string[]; errors: string[] },
): Plan {
  return {
    stack: deployment.prev.stack,
    changes: changesOf(deployment.steps),
    deleteSchedule: deployment.deleteSchedule.map((chain) => chain.map((s) => s.urn)),
    steps: deployment.steps,
    warnings: result.warnings,
    errors: result.errors,
  };
}

export { formatPlan } from "./format";
