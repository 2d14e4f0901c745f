/**
 * The diff of one resource: its old state against a new registration, as the step generator
 * computes it. Behavioural port of pulumi/pulumi `pkg/resource/deploy/step_generator.go`:
 * processIgnoreChanges (the registration's ignoreChanges reset to the OLD INPUTS before Check),
 * diff/diffResource (the provider's Diff of old inputs, old outputs and new inputs; an `unknown`
 * answer makes the engine diff the inputs itself, secrets unwrapped), applyReplaceOnChanges (the
 * registration's replaceOnChanges, including the SDK's forced `triggers[*]`, and init errors),
 * and the DeleteBeforeReplace choice of continueStepsFromDiff (the registration's option wins
 * over the provider's answer).
 *
 * `diff`'s provider check comes first for a custom resource: a changed provider reference
 * (StepGenerator.providerChanged) is a replacement blamed on the key `provider`, without asking
 * the resource's provider.
 *
 * Not modelled (this program uses none of them): targeted replaces, replaceWith, replacement
 * triggers, Check's defaults (the command provider's defaults equal the SDK's, so Check returns
 * the inputs unchanged).
 */
import { parsePath, pathContains, resetPath, copyValue, PropertyPath } from "./paths";
import { DiffRequest, DiffResult, ProviderModel } from "./providers";
import { StateResource } from "./state";
import { Registration } from "./urns";
import {
  DiffKind,
  PropertyMap,
  asReplace,
  changedKeys,
  detailedDiffOf,
  diffMaps,
  isReplaceKind,
  mapsEqual,
  unwrapSecrets,
} from "./values";

export interface ResourceDiff {
  /** diff.Changes == DiffSome (after replaceOnChanges and init errors). */
  changes: boolean;
  /** diff.Replace(): a replace-kind entry in the detailed diff, or any replace key. */
  replace: boolean;
  replaceKeys: string[];
  changedKeys: string[];
  detailedDiff: Record<string, DiffKind>;
  /** The registration's deleteBeforeReplace if it set one, else the provider's answer. */
  deleteBeforeReplace: boolean;
  /** The new inputs after ignoreChanges: what the new state keeps. */
  inputs: PropertyMap;
  /** ignoreChanges paths the engine could not reset (it reports them and goes on). */
  invalidIgnorePaths: string[];
}

/** processIgnoreChanges: each ignored path of the new inputs set back to its old value. */
export function processIgnoreChanges(
  inputs: PropertyMap,
  oldInputs: PropertyMap,
  ignoreChanges: string[],
): { inputs: PropertyMap; invalid: string[] } {
  const result = copyValue(inputs);
  const invalid: string[] = [];
  for (const text of ignoreChanges) {
    let p: PropertyPath;
    try {
      p = parsePath(text);
    } catch {
      continue;
    }
    if (!resetPath(p, copyValue(oldInputs), result)) invalid.push(text);
  }
  return { inputs: result, invalid };
}

/** diffResource: the provider's answer, or the engine's own diff when it answers `unknown`. */
export function providerDiff(provider: ProviderModel, req: DiffRequest): DiffResult {
  const diff = provider.diff(req);
  if (diff.changes !== "unknown") return diff;
  const news = processIgnoreChanges(req.newInputs, req.oldInputs, req.ignoreChanges).inputs;
  const objDiff = diffMaps(
    unwrapSecrets(req.oldInputs) as PropertyMap,
    unwrapSecrets(news) as PropertyMap,
  );
  if (!objDiff) return { ...diff, changes: "none" };
  return {
    ...diff,
    changes: "some",
    changedKeys: changedKeys(objDiff),
    detailedDiff: detailedDiffOf(objDiff),
  };
}

const INIT_ERROR_KEY = "#initerror";

/** applyReplaceOnChanges. */
export function applyReplaceOnChanges(
  diff: DiffResult,
  replaceOnChanges: string[],
  hasInitErrors: boolean,
): DiffResult {
  if (diff.changes !== "some" && !hasInitErrors) return diff;
  const paths = replaceOnChanges.map(parsePath);
  const covered = (p: string) => {
    try {
      const parsed = parsePath(p);
      return paths.some((r) => pathContains(r, parsed));
    } catch {
      return false;
    }
  };
  let detailed: Record<string, DiffKind> | undefined;
  if (diff.detailedDiff) {
    detailed = {};
    for (const [p, kind] of Object.entries(diff.detailedDiff)) {
      detailed[p] = covered(p) ? asReplace(kind) : kind;
    }
  }
  const replaceKeys = new Set(diff.replaceKeys);
  for (const k of diff.changedKeys) if (covered(k)) replaceKeys.add(k);
  let changes = diff.changes;
  if (hasInitErrors && paths.some((r) => pathContains(r, [INIT_ERROR_KEY]))) {
    replaceKeys.add(INIT_ERROR_KEY);
    if (detailed) detailed[INIT_ERROR_KEY] = "update-replace";
    changes = "some";
  }
  return { ...diff, changes, replaceKeys: [...replaceKeys], detailedDiff: detailed };
}

/** DiffResult.Replace. */
export function isReplace(diff: DiffResult): boolean {
  return Object.values(diff.detailedDiff ?? {}).some(isReplaceKind) || diff.replaceKeys.length > 0;
}

export interface DiffContext {
  /** URNs this run replaces so far (a resource deletedWith one of them is replaced too). */
  replacing?: (urn: string) => boolean;
  /** step_generator.go providerChanged said so: replace, blaming `provider`. */
  providerChanged?: boolean;
}

/** The whole diff of one registration against its old state. */
export function diffResource(
  old: StateResource,
  reg: Registration,
  provider: ProviderModel,
  ctx: DiffContext = {},
): ResourceDiff {
  const ignored = processIgnoreChanges(reg.inputs, old.inputs, reg.options.ignoreChanges);
  const inputs = ignored.inputs;
  let diff: DiffResult;
  if (reg.options.deletedWith && ctx.replacing?.(reg.options.deletedWith)) {
    diff = {
      changes: "some",
      replaceKeys: ["deletedWith"],
      changedKeys: [],
      deleteBeforeReplace: false,
    };
  } else if (ctx.providerChanged) {
    diff = {
      changes: "some",
      replaceKeys: ["provider"],
      changedKeys: [],
      deleteBeforeReplace: false,
    };
  } else if (!reg.custom) {
    // No provider (components): the engine compares the inputs.
    diff = {
      changes: mapsEqual(old.inputs, inputs) ? "none" : "some",
      replaceKeys: [],
      changedKeys: [],
      deleteBeforeReplace: false,
    };
  } else {
    diff = providerDiff(provider, {
      urn: reg.urn,
      type: reg.type,
      oldInputs: old.inputs,
      oldOutputs: old.outputs,
      newInputs: inputs,
      ignoreChanges: reg.options.ignoreChanges,
    });
  }
  const hasInitErrors = (old.initErrors ?? []).length > 0;
  diff = applyReplaceOnChanges(diff, reg.options.replaceOnChanges, hasInitErrors);
  return {
    changes: diff.changes === "some",
    replace: isReplace(diff),
    replaceKeys: diff.replaceKeys,
    changedKeys: diff.changedKeys,
    detailedDiff: diff.detailedDiff ?? {},
    deleteBeforeReplace: reg.options.deleteBeforeReplace ?? diff.deleteBeforeReplace,
    inputs,
    invalidIgnorePaths: ignored.invalid,
  };
}
