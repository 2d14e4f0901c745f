/**
 * Property values as the engine compares them. Behavioural port of pulumi/pulumi
 * `sdk/go/common/resource/properties_diff.go` (PropertyMap.Diff, PropertyValue.DeepEquals) and
 * `sdk/go/common/resource/plugin/provider.go` (NewDetailedDiffFromObjectDiff).
 *
 * Values are in the recorded form of `harness/program/mocks.ts`: a secret is `{ secret: value }`,
 * an unknown (preview) is the SDK's `rpc.unknownValue`, assets and archives keep the SDK's
 * signature key. What that means for comparisons, as in the engine:
 * - a secret equals only a secret whose value is equal (secret vs plain of equal value differ);
 * - an unknown equals only an unknown, and differs from every known value;
 * - null and absent are the same ("no value");
 * - a secret is compared as a whole: a change inside a secret object is one change of its key.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { isSecretValue } from "../program/mocks";
import { PropertyPath, formatPath } from "./paths";

export type PropertyMap = Record<string, unknown>;

export const UNKNOWN = rpc.unknownValue;

export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

type Special = "asset" | "archive" | "resource";

function specialKind(v: unknown): Special | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const sig = (v as Record<string, unknown>)[rpc.specialSigKey];
  if (sig === rpc.specialAssetSig) return "asset";
  if (sig === rpc.specialArchiveSig) return "archive";
  if (sig === rpc.specialResourceSig) return "resource";
  return undefined;
}

export function isArray(v: unknown): v is unknown[] {
  return Array.isArray(v);
}

/** An object property value: not a secret, not an asset, archive or resource reference. */
export function isObject(v: unknown): v is PropertyMap {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    !isSecretValue(v) &&
    specialKind(v) === undefined
  );
}

/** HasValue: anything but null (absent keys are handled by the callers). */
function hasValue(v: unknown): boolean {
  return v !== null && v !== undefined;
}

/**
 * Assets enjoy value equality: the engine compares content hashes. The recorded form has no
 * hash, so a path asset is hashed from the file it names (as the engine would read it), a text
 * asset by its text.
 */
function assetIdentity(v: Record<string, unknown>): string {
  for (const key of ["hash", "text", "uri"]) {
    if (typeof v[key] === "string") return `${key}:${String(v[key])}`;
  }
  if (typeof v.path === "string") {
    try {
      const content = fs.readFileSync(v.path);
      return `sha256:${crypto.createHash("sha256").update(content).digest("hex")}`;
    } catch {
      return `path:${v.path}`;
    }
  }
  return JSON.stringify(v);
}

/** PropertyValue.DeepEquals. */
export function deepEquals(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEquals(x, b[i]));
  }
  const ka = specialKind(a);
  if (ka === "asset" || ka === "archive") {
    if (specialKind(b) !== ka) return false;
    return (
      assetIdentity(a as Record<string, unknown>) === assetIdentity(b as Record<string, unknown>)
    );
  }
  if (ka === "resource") {
    if (specialKind(b) !== "resource") return false;
    return (a as { urn?: unknown }).urn === (b as { urn?: unknown }).urn;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    return mapsEqual(a, b);
  }
  if (isSecretValue(a)) {
    if (!isSecretValue(b)) return false;
    return deepEquals(a.secret, b.secret);
  }
  if (isSecretValue(b) || isObject(b) || Array.isArray(b) || specialKind(b)) return false;
  // Primitives (and two unknowns, whose elements are equal).
  return (a ?? null) === (b ?? null);
}

/** PropertyMap.DeepEquals: a key with no value equals an absent key. */
export function mapsEqual(a: PropertyMap, b: PropertyMap): boolean {
  for (const [k, v] of Object.entries(a)) {
    if (k in b) {
      if (!deepEquals(v, b[k])) return false;
    } else if (hasValue(v)) return false;
  }
  for (const [k, v] of Object.entries(b)) {
    if (!(k in a) && hasValue(v)) return false;
  }
  return true;
}

export interface ObjectDiff {
  adds: PropertyMap;
  deletes: PropertyMap;
  sames: PropertyMap;
  updates: Record<string, ValueDiff>;
}

export interface ArrayDiff {
  adds: Map<number, unknown>;
  deletes: Map<number, unknown>;
  sames: Map<number, unknown>;
  updates: Map<number, ValueDiff>;
}

export interface ValueDiff {
  old: unknown;
  new: unknown;
  array?: ArrayDiff;
  object?: ObjectDiff;
}

/** PropertyMap.Diff: undefined when there is no difference. */
export function diffMaps(olds: PropertyMap, news: PropertyMap): ObjectDiff | undefined {
  const d: ObjectDiff = { adds: {}, deletes: {}, sames: {}, updates: {} };
  for (const [k, old] of Object.entries(olds)) {
    if (k in news) {
      const neu = news[k];
      const vd = diffValues(old, neu);
      if (vd) {
        if (!hasValue(old)) d.adds[k] = neu;
        else if (!hasValue(neu)) d.deletes[k] = old;
        else d.updates[k] = vd;
      } else d.sames[k] = old;
    } else if (hasValue(old)) d.deletes[k] = old;
  }
  for (const [k, neu] of Object.entries(news)) {
    if (!(k in olds) && hasValue(neu)) d.adds[k] = neu;
  }
  const changed =
    Object.keys(d.adds).length + Object.keys(d.deletes).length + Object.keys(d.updates).length;
  return changed === 0 ? undefined : d;
}

/** PropertyValue.Diff. */
export function diffValues(old: unknown, neu: unknown): ValueDiff | undefined {
  if (Array.isArray(old) && Array.isArray(neu)) {
    const a: ArrayDiff = {
      adds: new Map(),
      deletes: new Map(),
      sames: new Map(),
      updates: new Map(),
    };
    for (let i = old.length; i < neu.length; i++) a.adds.set(i, neu[i]);
    for (let i = neu.length; i < old.length; i++) a.deletes.set(i, old[i]);
    for (let i = 0; i < old.length && i < neu.length; i++) {
      const vd = diffValues(old[i], neu[i]);
      if (vd) a.updates.set(i, vd);
      else a.sames.set(i, old[i]);
    }
    if (a.adds.size + a.deletes.size + a.updates.size === 0) return undefined;
    return { old, new: neu, array: a };
  }
  if (isObject(old) && isObject(neu)) {
    const o = diffMaps(old, neu);
    return o ? { old, new: neu, object: o } : undefined;
  }
  return deepEquals(old, neu) ? undefined : { old, new: neu };
}

/** ObjectDiff.ChangedKeys: sorted top-level keys added, deleted or updated. */
export function changedKeys(d: ObjectDiff | undefined): string[] {
  if (!d) return [];
  return [...Object.keys(d.adds), ...Object.keys(d.deletes), ...Object.keys(d.updates)].sort();
}

export type DiffKind =
  "add" | "add-replace" | "delete" | "delete-replace" | "update" | "update-replace";

export function isReplaceKind(k: DiffKind): boolean {
  return k.endsWith("-replace");
}

export function asReplace(k: DiffKind): DiffKind {
  return isReplaceKind(k) ? k : (`${k}-replace` as DiffKind);
}

/** NewDetailedDiffFromObjectDiff: property path → kind of change, down to the leaves. */
export function detailedDiffOf(d: ObjectDiff | undefined): Record<string, DiffKind> {
  const out: Record<string, DiffKind> = {};
  if (d) objectDetail([], d, out);
  return out;
}

function objectDetail(prefix: PropertyPath, d: ObjectDiff, out: Record<string, DiffKind>): void {
  for (const [k, vd] of Object.entries(d.updates)) valueDetail([...prefix, k], vd, out);
  for (const k of Object.keys(d.adds)) out[formatPath([...prefix, k])] = "add";
  for (const k of Object.keys(d.deletes)) out[formatPath([...prefix, k])] = "delete";
}

function valueDetail(prefix: PropertyPath, vd: ValueDiff, out: Record<string, DiffKind>): void {
  if (vd.object) objectDetail(prefix, vd.object, out);
  else if (vd.array) {
    for (const [i, sub] of vd.array.updates) valueDetail([...prefix, i], sub, out);
    for (const i of vd.array.adds.keys()) out[formatPath([...prefix, i])] = "add";
    for (const i of vd.array.deletes.keys()) out[formatPath([...prefix, i])] = "delete";
  } else if (!hasValue(vd.old) && hasValue(vd.new)) out[formatPath(prefix)] = "add";
  else if (hasValue(vd.old) && !hasValue(vd.new)) out[formatPath(prefix)] = "delete";
  else out[formatPath(prefix)] = "update";
}

/** Strips secret wrappers (unwrapResourceSecretsAndOutputs), for the engine's own diff. */
export function unwrapSecrets(v: unknown): unknown {
  if (isSecretValue(v)) return unwrapSecrets(v.secret);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (isObject(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

/** True when the value is or contains an unknown. */
export function containsUnknowns(v: unknown): boolean {
  if (isUnknown(v)) return true;
  if (isSecretValue(v)) return containsUnknowns(v.secret);
  if (Array.isArray(v)) return v.some(containsUnknowns);
  if (isObject(v)) return Object.values(v).some(containsUnknowns);
  return false;
}
