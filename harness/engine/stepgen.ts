/**
 * The step generator: the steps for each registration as it arrives, and the deletes at the end.
 * Behavioural port of pulumi/pulumi `pkg/resource/deploy/step_generator.go`: generateURN (the
 * engine's URN, urns.ts), generateAliases / collapseAliasToUrn / inheritedChildAlias /
 * generateSteps' old-resource lookup (aliases), providerChanged (a resource's provider
 * reference), continueStepsFromImport (recreating after a delete-before-replace, create),
 * continueStepsFromDiff (same / update / replace, create-before-delete or delete-before-replace
 * with calculateDependentReplacements and findDependentCascadeReplacements), GenerateDeletes,
 * isOperatedOn.
 */
import { DependencyGraph } from "./depgraph";
import { ResourceDiff, applyReplaceOnChanges, diffResource, isReplace, providerDiff } from "./diff";
import { ProviderRegistry, defaultProviders } from "./providers";
import { StackState, StateResource, stateOf } from "./state";
import { EndStep, Step } from "./steps";
import { EngineUrns, Registration, newUrn, parseProviderRef, urnParts } from "./urns";
import { PropertyMap, UNKNOWN } from "./values";

export interface GeneratorOptions {
  providers?: ProviderRegistry;
  /**
   * Registrations to update even when their diff finds nothing: what a program upgrade that
   * changes every script would do. Replacements stay replacements.
   */
  forceUpdate?: (reg: Registration) => boolean;
}

/** A step generation error: the engine reports it and ends the run (no deletes). */
export class StepGenerationError extends Error {}

export class StepGenerator {
  readonly olds = new Map<string, StateResource>();
  readonly graph: DependencyGraph;
  private readonly providers: ProviderRegistry;
  private readonly urns = new Set<string>();
  /** Old URN → the new URN that claimed it through an alias. */
  private readonly aliased = new Map<string, string>();
  /** New URN → the old URN it was found under. */
  private readonly aliases = new Map<string, string>();
  readonly sames = new Set<string>();
  readonly creates = new Set<string>();
  readonly updates = new Set<string>();
  readonly replaces = new Set<string>();
  readonly deletes = new Set<string>();
  private readonly pendingDeletes = new Set<StateResource>();
  private readonly dependentReplaceKeys = new Map<string, string[]>();
  /** New states of this run (for deletedWith cascades). */
  readonly news = new Map<string, StateResource>();
  /** Resources already pending deletion when the run started. */
  private readonly pendingAtStart: Set<StateResource>;
  /** The engine's URNs of this run's registrations (generateURN; the recorder's differ). */
  private readonly engineUrns = new EngineUrns();

  constructor(
    readonly prev: StackState,
    private readonly opts: GeneratorOptions = {},
  ) {
    this.providers = opts.providers ?? defaultProviders;
    for (const r of prev.resources) {
      if (r.delete) continue;
      if (this.olds.has(r.urn))
        throw new StepGenerationError(`unexpected duplicate resource '${r.urn}'`);
      this.olds.set(r.urn, r);
    }
    this.graph = new DependencyGraph(prev.resources);
    this.pendingAtStart = new Set(prev.resources.filter((r) => r.delete));
  }

  /**
   * collapseAliasToUrn: an alias spec's unset name and type are the resource's; an unset parent is
   * the resource's NEW parent as it is (the Node SDK sends that parent itself, see
   * mapAliasesForRequest, and then it counts as set); a set parent that was itself found through
   * an alias this run is replaced by its OLD URN; noParent (recorded as parent "") or the root
   * stack means no parent. Project and stack are the run's.
   */
  private collapseAlias(
    reg: Registration,
    alias: Registration["options"]["aliases"][number],
  ): string {
    if (alias.urn) return alias.urn;
    const { stack, project } = urnParts(reg.urn);
    let parent = alias.parent === undefined ? reg.parent : alias.parent;
    if (alias.parent) parent = this.aliases.get(alias.parent) ?? alias.parent;
    return newUrn(stack, project, parent, alias.type ?? reg.type, alias.name ?? reg.name);
  }

  /**
   * inheritedChildAlias: the child's URN under its parent's OLD URN, its name with the parent's
   * new name as a prefix replaced by the parent's old name (`newapp-fn` under `newapp`, aliased
   * from `app`, becomes `app-fn`); a name without that prefix is kept as it is.
   */
  private inheritedChildAlias(
    type: string,
    name: string,
    parentName: string,
    parentAlias: string,
  ): string {
    const { stack, project } = urnParts(parentAlias);
    const aliasName = name.startsWith(parentName)
      ? urnParts(parentAlias).name + name.slice(parentName.length)
      : name;
    return `urn:pulumi:${stack}::${project}::${urnParts(parentAlias).qualifiedType}$${type}::${aliasName}`;
  }

  /**
   * generateAliases: the resource's own aliases collapsed to URNs; then, only when its parent was
   * found through an alias IN THIS RUN (sg.aliases), the inherited child alias of its own type and
   * name, and one inherited alias per own alias (the own alias's type and name under the
   * parent's old URN). A parent found by its own URN (a retry after a partial move, say) gives
   * its children nothing.
   */
  aliasUrns(reg: Registration): string[] {
    const out: string[] = [];
    const add = (u: string) => {
      if (!out.includes(u)) out.push(u);
    };
    for (const a of reg.options.aliases) add(this.collapseAlias(reg, a));
    const parentAlias = reg.parent ? this.aliases.get(reg.parent) : undefined;
    if (reg.parent && parentAlias) {
      const parentName = urnParts(reg.parent).name;
      add(this.inheritedChildAlias(reg.type, reg.name, parentName, parentAlias));
      for (const a of reg.options.aliases) {
        const child = urnParts(this.collapseAlias(reg, a));
        const childType = child.qualifiedType.split("$").pop()!;
        add(this.inheritedChildAlias(childType, child.name, parentName, parentAlias));
      }
    }
    return out;
  }

  /** getOldResource: by URN first, then by each alias. */
  private oldResource(reg: Registration): { old?: StateResource; alias?: string } {
    const urn = reg.urn;
    if (this.aliased.has(urn)) {
      throw new StepGenerationError(
        `Duplicate resource URN '${urn}'; it was already claimed as an alias by '${this.aliased.get(urn)}'`,
      );
    }
    for (const candidate of [urn, ...this.aliasUrns(reg)]) {
      const old = this.olds.get(candidate);
      if (!old) continue;
      if (candidate !== urn) {
        if (this.urns.has(candidate) || this.aliased.has(candidate)) {
          throw new StepGenerationError(
            `Duplicate resource alias '${candidate}' applied to resource '${urn}'`,
          );
        }
        this.aliased.set(candidate, urn);
        this.aliases.set(urn, candidate);
        return { old, alias: candidate };
      }
      return { old };
    }
    return {};
  }

  private newState(reg: Registration, inputs: PropertyMap, alias?: string): StateResource {
    const s = stateOf(reg, inputs, {}, "");
    if (alias) s.aliases = [alias];
    return s;
  }

  /**
   * providerChanged: whether the resource's provider reference changed in a way that replaces it.
   * Equal references, or a reference whose provider URN was claimed through an alias by the new
   * provider URN this run (`sg.aliased[oldRef.URN()] == newRef.URN()`; the ids are not compared),
   * are no change. A reference set or cleared is a change. Any other change replaces here: engines
   * before pulumi/pulumi#18509 replaced for every explicit provider; later ones ask the new
   * provider's DiffConfig (old provider inputs against new), so the model is at least as strict.
   * Not compared when either side was not recorded (undefined).
   */
  providerChanged(old: StateResource, reg: Registration): boolean {
    if (old.provider === undefined || reg.provider === undefined) return false;
    if (old.provider === reg.provider) return false;
    if (old.provider === "" || reg.provider === "") return true;
    const oldRef = parseProviderRef(old.provider);
    const newRef = parseProviderRef(reg.provider);
    return this.aliased.get(oldRef.urn) !== newRef.urn;
  }

  /** GenerateSteps for one registration. Throws StepGenerationError. */
  generate(recorded: Registration): Step[] {
    // generateURN: the engine computes the URN from the parent's URN, type and name.
    const reg = this.engineUrns.translate(recorded);
    if (this.urns.has(reg.urn))
      throw new StepGenerationError(`Duplicate resource URN '${reg.urn}'`);
    if (reg.parent && !this.urns.has(reg.parent)) {
      throw new StepGenerationError(`could not find parent resource ${reg.parent}`);
    }
    this.urns.add(reg.urn);
    const recreating = this.deletes.has(reg.urn);
    const { old, alias } = this.oldResource(reg);
    const base = { urn: reg.urn, type: reg.type };

    if (!old) {
      this.creates.add(reg.urn);
      return [{ ...base, op: "create", reg, new: this.newState(reg, { ...reg.inputs }) }];
    }
    const diff = diffResource(old, reg, this.providers(reg.type), {
      replacing: (u) => this.replaces.has(u),
      providerChanged: reg.custom && !recreating && this.providerChanged(old, reg),
    });
    const neu = this.newState(reg, diff.inputs, alias);

    if (recreating) {
      // Case 1: deleted earlier in this run by a delete-before-replace: it must be replaced.
      this.deletes.delete(reg.urn);
      this.replaces.add(reg.urn);
      const keys = this.dependentReplaceKeys.get(reg.urn) ?? [];
      return [
        { ...base, op: "replace", reg, old, pendingDelete: false },
        { ...base, op: "create-replacement", reg, old, new: neu, pendingDelete: false, keys },
      ];
    }

    if (diff.changes || old.pendingReplacement) {
      if (diff.replace || old.pendingReplacement) return this.replaceSteps(reg, old, neu, diff);
      this.updates.add(reg.urn);
      return [{ ...base, op: "update", reg, old, new: neu, diff }];
    }
    if ((old.initErrors ?? []).length > 0) {
      this.updates.add(reg.urn);
      return [{ ...base, op: "update", reg, old, new: neu, diff }];
    }
    if (reg.custom && this.opts.forceUpdate?.(reg)) {
      this.updates.add(reg.urn);
      return [{ ...base, op: "update", reg, old, new: neu, diff, forced: true }];
    }
    this.sames.add(reg.urn);
    return [{ ...base, op: "same", reg, old, new: neu }];
  }

  private replaceSteps(
    reg: Registration,
    old: StateResource,
    neu: StateResource,
    diff: ResourceDiff,
  ): Step[] {
    const base = { urn: reg.urn, type: reg.type };
    if (reg.options.protect && old.options.protect) {
      throw new StepGenerationError(
        `unable to replace resource "${reg.urn}"\nas it is currently marked for protection.`,
      );
    }
    this.replaces.add(reg.urn);
    const keys = diff.replaceKeys;
    if (!diff.deleteBeforeReplace) {
      // Create-before-delete: the old resource is deleted with the other deletes at the end.
      return [
        { ...base, op: "create-replacement", reg, old, new: neu, diff, pendingDelete: true, keys },
        { ...base, op: "replace", reg, old, diff, pendingDelete: true },
      ];
    }
    const steps: Step[] = [];
    const toReplace = [
      ...this.dependentReplacements(old),
      ...this.cascadeReplacements(new Set([reg.urn, old.urn])),
    ];
    for (let i = toReplace.length - 1; i >= 0; i--) {
      const { res, keys: depKeys } = toReplace[i];
      if (this.pendingDeletes.has(res)) continue;
      this.dependentReplaceKeys.set(res.urn, depKeys);
      if (res.delete) {
        steps.push({
          urn: res.urn,
          type: res.type,
          op: "delete",
          old: res,
          pendingReplacement: false,
          reason: "pending-delete",
        });
      } else {
        if (res.options.protect) {
          throw new StepGenerationError(
            `unable to replace resource "${res.urn}" as part of replacing "${reg.urn}" as it is currently marked for protection.`,
          );
        }
        steps.push({
          urn: res.urn,
          type: res.type,
          op: "delete-replaced",
          old: res,
          pendingReplacement: true,
          reason: "dbr-dependent",
        });
      }
      this.deletes.add(res.urn);
      this.pendingDeletes.add(res);
    }
    if (!old.pendingReplacement) {
      this.deletes.add(old.urn);
      // DeleteStep.URN is the OLD resource's (an aliased resource deletes its old URN).
      steps.push({
        urn: old.urn,
        type: old.type,
        op: "delete-replaced",
        old,
        pendingReplacement: true,
        reason: "dbr",
      });
    }
    steps.push(
      { ...base, op: "replace", reg, old, diff, pendingDelete: false },
      { ...base, op: "create-replacement", reg, old, new: neu, diff, pendingDelete: false, keys },
    );
    return steps;
  }

  /** calculateDependentReplacements: the old dependents a delete-before-replace of root replaces. */
  private dependentReplacements(root: StateResource): { res: StateResource; keys: string[] }[] {
    const replaceSet = new Set([root.urn]);
    const impossible = new Set([
      ...this.creates,
      ...this.sames,
      ...this.updates,
      ...this.deletes,
      ...this.replaces,
    ]);
    const out: { res: StateResource; keys: string[] }[] = [];
    if (!this.graph.contains(root)) return out;
    for (const d of this.graph.dependingOn(root, impossible, false)) {
      const r = this.requiresReplacement(d, replaceSet);
      if (r.replace) {
        out.push({ res: d, keys: r.keys });
        replaceSet.add(d.urn);
      }
    }
    return out;
  }

  private requiresReplacement(
    r: StateResource,
    replaceSet: Set<string>,
  ): { replace: boolean; keys: string[] } {
    if (!r.custom) return { replace: false, keys: [] };
    // A resource whose provider is in the replace set is replaced with it.
    if (r.provider && replaceSet.has(parseProviderRef(r.provider).urn)) {
      return { replace: true, keys: [] };
    }
    if (r.options.deletedWith && replaceSet.has(r.options.deletedWith)) {
      return { replace: true, keys: [] };
    }
    let dependsOnReplaced = false;
    const inputs: PropertyMap = {};
    for (const [k, v] of Object.entries(r.inputs)) {
      const replaced = (r.propertyDependencies[k] ?? []).some((u) => replaceSet.has(u));
      if (replaced) dependsOnReplaced = true;
      inputs[k] = replaced ? UNKNOWN : v;
    }
    if (!dependsOnReplaced) return { replace: false, keys: [] };
    let diff = providerDiff(this.providers(r.type), {
      urn: r.urn,
      type: r.type,
      oldInputs: r.inputs,
      oldOutputs: r.outputs,
      newInputs: inputs,
      ignoreChanges: r.options.ignoreChanges,
    });
    diff = applyReplaceOnChanges(diff, r.options.replaceOnChanges, false);
    return { replace: isReplace(diff), keys: diff.replaceKeys };
  }

  /**
   * findDependentCascadeReplacements: resources deleted with the replaced one. `urns` holds its
   * new URN and its old one (an aliased root: old states name the old URN).
   */
  private cascadeReplacements(urns: Set<string>): { res: StateResource; keys: string[] }[] {
    const seen = new Set<string>();
    const out: { res: StateResource; keys: string[] }[] = [];
    for (const [u, s] of [...this.news, ...this.olds]) {
      if (!seen.has(u) && urns.has(s.options.deletedWith)) {
        out.push({ res: s, keys: [] });
        seen.add(u);
      }
    }
    return out;
  }

  /** isOperatedOn: registered this run as same, update or replace (an alias counts). */
  isOperatedOn(urn: string): boolean {
    const u = this.aliased.get(urn) ?? urn;
    return this.sames.has(u) || this.updates.has(u) || this.replaces.has(u);
  }

  /** GenerateDeletes: removed resources, replaced ones marked `delete`, dropped pending replacements. */
  generateDeletes(): EndStep[] {
    const steps: EndStep[] = [];
    for (const res of this.prev.resources) {
      const base = { urn: res.urn, type: res.type };
      if (res.delete) {
        if (this.pendingDeletes.has(res)) continue;
        this.deletes.add(res.urn);
        const reason = this.pendingAtStart.has(res) ? "pending-delete" : "replaced";
        steps.push({ ...base, op: "delete-replaced", old: res, pendingReplacement: false, reason });
      } else if (!this.isOperatedOn(res.urn)) {
        this.deletes.add(res.urn);
        if (!res.pendingReplacement) {
          steps.push({
            ...base,
            op: "delete",
            old: res,
            pendingReplacement: false,
            reason: "removed",
          });
        } else {
          steps.push({ ...base, op: "remove-pending-replace", old: res });
        }
      }
    }
    return steps;
  }
}
