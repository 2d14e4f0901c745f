/**
 * The steps the engine generates (pulumi/pulumi `pkg/resource/deploy/step.go`): what each one
 * is, not how it runs (see deployment.ts).
 */
import { Registration } from "./urns";
import { ResourceDiff } from "./diff";
import { StateResource } from "./state";

interface StepBase {
  urn: string;
  type: string;
}

/** Nothing runs; the old id and outputs are carried over. */
export interface SameStep extends StepBase {
  op: "same";
  reg: Registration;
  old: StateResource;
  new: StateResource;
}

export interface CreateStep extends StepBase {
  op: "create";
  reg: Registration;
  new: StateResource;
}

/** The provider's Update with the old state and the new inputs. */
export interface UpdateStep extends StepBase {
  op: "update";
  reg: Registration;
  old: StateResource;
  new: StateResource;
  diff?: ResourceDiff;
  /** A forced re-run of an unchanged resource (GeneratorOptions.forceUpdate). */
  forced?: boolean;
}

/** The replacement's Create. pendingDelete: create-before-delete (the old is marked `delete`). */
export interface CreateReplacementStep extends StepBase {
  op: "create-replacement";
  reg: Registration;
  old: StateResource;
  new: StateResource;
  diff?: ResourceDiff;
  pendingDelete: boolean;
  /** Keys that made the engine replace it (a dependent of a delete-before-replace: its own). */
  keys: string[];
}

/** The logical "replace" (no provider call). */
export interface ReplaceStep extends StepBase {
  op: "replace";
  reg: Registration;
  old: StateResource;
  diff?: ResourceDiff;
  pendingDelete: boolean;
}

/**
 * The provider's Delete of an old resource: `delete` (no longer registered), `delete-replaced`
 * (a replaced resource, at the end of the run or, with delete-before-replace, right away).
 */
export interface DeleteStep extends StepBase {
  op: "delete" | "delete-replaced";
  old: StateResource;
  /** Delete-before-replace: the old resource stays in the state until its replacement exists. */
  pendingReplacement: boolean;
  /** Why: removed from the program, replaced, a pending delete, or a DBR dependent. */
  reason: "removed" | "replaced" | "pending-delete" | "dbr" | "dbr-dependent";
}

/** A resource deleted by a delete-before-replace whose replacement never came: dropped. */
export interface RemovePendingReplaceStep extends StepBase {
  op: "remove-pending-replace";
  old: StateResource;
}

export type Step =
  | SameStep
  | CreateStep
  | UpdateStep
  | CreateReplacementStep
  | ReplaceStep
  | DeleteStep
  | RemovePendingReplaceStep;

export type EndStep = DeleteStep | RemovePendingReplaceStep;
