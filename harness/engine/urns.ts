/**
 * URNs and provider references as the engine builds and reads them. Behavioural port of
 * pulumi/pulumi:
 * - `sdk/go/common/resource/urn.go` NewURN (the parent's QUALIFIED type, all of it, prefixes the
 *   type; never the root stack's), QualifiedType, Type (the last `$` segment), Name;
 * - `pkg/resource/deploy/deployment.go` generateURN (a registration's URN from its parent's URN,
 *   its type and name: the ENGINE computes it, the SDK only sends parent, type and name);
 * - `pkg/resource/deploy/providers/reference.go` ParseReference / Reference.String (a provider
 *   reference is `<provider URN>::<provider id>`, split at the LAST `::`).
 *
 * The mock monitor of `@pulumi/pulumi` (runtime/mocks.js MockMonitor.newUrn), and so the
 * recorder (harness/program/mocks.ts), prefixes only the LAST segment of the parent's type: below
 * depth two its URNs differ from the engine's (`A$B$C` in the engine, `B$C` under mocks).
 * `EngineUrns` turns recorded registrations into the engine's URNs and rewrites every reference
 * to a URN of this run (parent, dependencies, property dependencies, deletedWith, alias
 * parents, provider references) to match.
 */
import { RecordedResource } from "../program/mocks";

export const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";
const PREFIX = "urn:pulumi:";

export interface UrnParts {
  stack: string;
  project: string;
  /** The type with its parents' types (`A$B$C`). */
  qualifiedType: string;
  /** The last type segment (`C`). */
  type: string;
  name: string;
}

export function urnParts(urn: string): UrnParts {
  const body = urn.startsWith(PREFIX) ? urn.slice(PREFIX.length) : urn;
  const [stack = "", project = "", qualifiedType = "", ...rest] = body.split("::");
  return {
    stack,
    project,
    qualifiedType,
    type: qualifiedType.split("$").pop() ?? qualifiedType,
    name: rest.join("::"),
  };
}

/** resource.NewURN with generateURN's parent rule: the parent's full qualified type. */
export function newUrn(
  stack: string,
  project: string,
  parent: string,
  type: string,
  name: string,
): string {
  let qualified = type;
  if (parent) {
    const parentType = urnParts(parent).qualifiedType;
    if (parentType !== ROOT_STACK_TYPE) qualified = `${parentType}$${type}`;
  }
  return `${PREFIX}${stack}::${project}::${qualified}::${name}`;
}

/** providers.ParseReference: `<urn>::<id>`, split at the last `::`. */
export function parseProviderRef(ref: string): { urn: string; id: string } {
  const i = ref.lastIndexOf("::");
  if (i < 0) throw new Error(`malformed provider reference: ${ref}`);
  return { urn: ref.slice(0, i), id: ref.slice(i + 2) };
}

/** providers.Reference.String. */
export function providerRef(urn: string, id: string): string {
  return `${urn}::${id}`;
}

/** providers.IsProviderType: `pulumi:providers:<package>`. */
export function isProviderType(type: string): boolean {
  return type.startsWith("pulumi:providers:");
}

/** A registration as the engine model takes it: the recorder's, and its provider reference. */
export interface Registration extends RecordedResource {
  /**
   * RegisterResourceRequest.provider: `<provider URN>::<provider id>` for an explicit provider,
   * "" for the default one. Undefined when the recorder did not record it: the model then
   * cannot compare provider references (see StepGenerator.providerChanged).
   */
  provider?: string;
}

/**
 * The engine's URNs for the registrations of one run, in registration order (parents first, as
 * the engine requires). Recorded URNs this run has seen are mapped to the engine's; any other
 * URN (an old URN a program names in an alias, say) is left as it is.
 */
export class EngineUrns {
  private readonly engineUrnOf = new Map<string, string>();

  /** The engine URN for a URN a registration of this run was recorded with. */
  fix = (urn: string): string => this.engineUrnOf.get(urn) ?? urn;

  private fixRef = (ref: string): string => {
    if (!ref) return ref;
    const { urn, id } = parseProviderRef(ref);
    return providerRef(this.fix(urn), id);
  };

  /** generateURN for `reg`, and its references rewritten to the engine's URNs. */
  translate<R extends Registration>(reg: R): R {
    const parent = this.fix(reg.parent);
    const { stack, project } = urnParts(reg.urn);
    const urn = newUrn(stack, project, parent, reg.type, reg.name);
    this.engineUrnOf.set(reg.urn, urn);
    const fix = this.fix;
    return {
      ...reg,
      urn,
      parent,
      dependencies: reg.dependencies.map(fix),
      propertyDependencies: Object.fromEntries(
        Object.entries(reg.propertyDependencies).map(([k, v]) => [k, v.map(fix)]),
      ),
      options: {
        ...reg.options,
        deletedWith: reg.options.deletedWith ? fix(reg.options.deletedWith) : "",
        aliases: reg.options.aliases.map((a) => ({
          ...a,
          ...(a.urn ? { urn: fix(a.urn) } : {}),
          ...(a.parent ? { parent: fix(a.parent) } : {}),
        })),
      },
      ...(reg.provider !== undefined ? { provider: this.fixRef(reg.provider) } : {}),
    };
  }
}

/** The engine's URN of each recorded registration of one run (registration order), by recorded URN. */
export function engineUrnsOf(resources: readonly RecordedResource[]): Map<string, string> {
  const urns = new EngineUrns();
  return new Map(resources.map((r) => [r.urn, urns.translate(r).urn]));
}
