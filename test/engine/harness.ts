/**
 * Test helpers for the engine model: registrations as the recorder makes them, test providers
 * (a Diff like the lifecycle tests' DiffF, a fake cloud for Create/Update/Delete), and `up` /
 * `destroy` runs that feed registrations to a Deployment the way a program does.
 */
import { RegistrationOptions } from "../../harness/program/mocks";
import {
  Deployment,
  DeploymentOptions,
  ProviderOps,
  RunResult,
  StepEvent,
} from "../../harness/engine/deployment";
import {
  DiffRequest,
  DiffResult,
  ProviderModel,
  defaultProviders,
} from "../../harness/engine/providers";
import { StackState, emptyState } from "../../harness/engine/state";
import { Registration, newUrn } from "../../harness/engine/urns";
import { PropertyMap } from "../../harness/engine/values";

export const STACK = "test";
export const PROJECT = "test";

/** The engine's URN (resource.NewURN): the parent's full qualified type prefixes the type. */
export function urnOf(type: string, name: string, parent = ""): string {
  return newUrn(STACK, PROJECT, parent, type, name);
}

export interface RegSpec {
  parent?: string;
  custom?: boolean;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
  options?: Partial<RegistrationOptions>;
  /** The provider reference (`<provider URN>::<id>`), as the SDK sends it. */
  provider?: string;
}

/** A registration as harness/program/mocks.ts records it. */
export function reg(
  type: string,
  name: string,
  inputs: PropertyMap = {},
  spec: RegSpec = {},
): Registration {
  const parent = spec.parent ?? "";
  return {
    type,
    name,
    urn: urnOf(type, name, parent),
    parent,
    custom: spec.custom ?? true,
    dependencies: spec.dependencies ?? [],
    propertyDependencies: spec.propertyDependencies ?? {},
    inputs,
    options: {
      replaceOnChanges: [],
      ignoreChanges: [],
      additionalSecretOutputs: [],
      aliases: [],
      protect: false,
      retainOnDelete: false,
      deletedWith: "",
      ...spec.options,
    },
    ...(spec.provider !== undefined ? { provider: spec.provider } : {}),
  };
}

/** A `command:remote:Command` registration as the SDK makes it (its forced options included). */
export function command(name: string, inputs: PropertyMap, spec: RegSpec = {}): Registration {
  return reg("command:remote:Command", name, inputs, {
    ...spec,
    options: {
      replaceOnChanges: ["triggers[*]", ...(spec.options?.replaceOnChanges ?? [])],
      additionalSecretOutputs: ["connection", ...(spec.options?.additionalSecretOutputs ?? [])],
      ...Object.fromEntries(
        Object.entries(spec.options ?? {}).filter(
          ([k]) => k !== "replaceOnChanges" && k !== "additionalSecretOutputs",
        ),
      ),
    },
  });
}

/** A test provider's Diff: fields left out are as in a zero plugin.DiffResult (changes unknown). */
export function testProvider(diff: (req: DiffRequest) => Partial<DiffResult>): ProviderModel {
  return {
    describe: "test provider",
    diff: (req) => ({
      changes: "unknown",
      replaceKeys: [],
      changedKeys: [],
      deleteBeforeReplace: false,
      ...diff(req),
    }),
  };
}

/** Resources "in the cloud": what the fake provider created and has not deleted. */
export class FakeCloud implements ProviderOps {
  readonly resources = new Map<string, PropertyMap>();
  private next = 0;
  failCreate: (urn: string) => boolean = () => false;
  failUpdate: (urn: string) => boolean = () => false;
  failDelete: (urn: string, id: string) => boolean = () => false;
  /** Delay per URN (ms), to make steps overlap. */
  delay: (urn: string) => number = () => 0;

  private async wait(urn: string) {
    const ms = this.delay(urn);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  async create(req: { urn: string; inputs: PropertyMap; preview: boolean }) {
    await this.wait(req.urn);
    if (this.failCreate(req.urn)) throw new Error(`create of ${req.urn} failed`);
    const id = String(this.next++);
    if (!req.preview) this.resources.set(id, req.inputs);
    return { id, outputs: { ...req.inputs } };
  }

  async update(req: { urn: string; id: string; newInputs: PropertyMap; preview: boolean }) {
    await this.wait(req.urn);
    if (this.failUpdate(req.urn)) throw new Error(`update of ${req.urn} failed`);
    if (!req.preview) this.resources.set(req.id, req.newInputs);
    return { outputs: { ...req.newInputs } };
  }

  async delete(req: { urn: string; id: string }) {
    await this.wait(req.urn);
    if (this.failDelete(req.urn, req.id)) throw new Error(`delete of ${req.urn} failed`);
    this.resources.delete(req.id);
  }
}

export interface UpResult extends RunResult {
  deployment: Deployment;
  /** `<op> <name>` of every step that succeeded, sames left out, in order. */
  log: string[];
  events: StepEvent[];
}

const short = (urn: string) => urn.split("::").pop()!;

export interface UpOptions extends Partial<DeploymentOptions> {
  providers?: (type: string) => ProviderModel;
  cloud?: ProviderOps;
}

/**
 * `pulumi up` of a program that registers `program`'s resources one after the other and stops
 * at the first registration that fails (as a program whose RegisterResource never returns).
 * The state passed in is not changed.
 */
export async function up(
  state: StackState | undefined,
  program: Registration[] | ((d: Deployment) => Promise<void>),
  opts: UpOptions = {},
): Promise<UpResult> {
  const log: string[] = [];
  const events: StepEvent[] = [];
  const deployment = new Deployment(structuredClone(state ?? emptyState(STACK)), {
    providers: opts.providers ?? defaultProviders,
    provider: opts.cloud ?? new FakeCloud(),
    ...opts,
    onEvent: (e) => {
      events.push(e);
      if (e.status === "succeeded" && e.step.op !== "same")
        log.push(`${e.step.op} ${short(e.step.urn)}`);
    },
  });
  let programError: string | undefined;
  if (typeof program === "function") {
    // A program whose registration failed stops there (its RegisterResource never returns); a
    // program that throws otherwise fails the run (no deletes), as the language host's error does.
    await program(deployment).catch((err: unknown) => {
      if (!deployment.hasFailed) programError = err instanceof Error ? err.message : String(err);
    });
  } else {
    for (const r of program) {
      try {
        await deployment.register(r);
      } catch {
        break;
      }
    }
  }
  const result = await deployment.finish(programError);
  return { ...result, deployment, log, events };
}

/** `pulumi destroy`: every resource of the state deleted (a program that registers nothing). */
export function destroy(state: StackState, opts: UpOptions = {}): Promise<UpResult> {
  return up(state, [], opts);
}

/** The URNs of a state's resources, with `(delete)` / `(pending-replacement)` marks. */
export function summary(state: StackState): string[] {
  return state.resources.map(
    (r) =>
      `${short(r.urn)}${r.delete ? " (delete)" : ""}${r.pendingReplacement ? " (pending-replacement)" : ""}`,
  );
}
