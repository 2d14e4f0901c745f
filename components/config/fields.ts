/**
 * Typed readers for raw configuration values. Each returns `undefined` when the value is absent or
 * wrong (recording the problem), so callers apply defaults or report "missing" themselves.
 */
import { childPath, closestKey, show } from "./display";
import { Problems } from "./problems";

export type RawObject = Record<string, unknown>;

/** `undefined` and `null` both mean "not set". */
export function isAbsent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

export function reportMissing(p: Problems, path: string, expected: string): void {
  p.error(path, `missing (expected ${expected})`);
}

export function readString(
  p: Problems,
  path: string,
  value: unknown,
  expected = "a string",
): string | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== "string") {
    p.error(path, `expected ${expected}, got ${show(value, path)}`);
    return undefined;
  }
  if (value === "") {
    p.error(path, `must not be empty (expected ${expected})`);
    return undefined;
  }
  return value;
}

/** Like readString, but reports a missing value. */
export function readRequiredString(
  p: Problems,
  path: string,
  value: unknown,
  expected: string,
): string | undefined {
  if (isAbsent(value)) {
    reportMissing(p, path, expected);
    return undefined;
  }
  return readString(p, path, value, expected);
}

/** An integer given as a number, or as a string of digits (plain `pulumi config set` values are strings). */
export function readInt(
  p: Problems,
  path: string,
  value: unknown,
  min: number,
  max: number,
): number | undefined {
  if (isAbsent(value)) return undefined;
  const parsed =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^[0-9]{1,15}$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    p.error(path, `expected an integer from ${min} to ${max}, got ${show(value, path)}`);
    return undefined;
  }
  return parsed;
}

/** A boolean, or the strings "true" / "false". */
export function readBool(p: Problems, path: string, value: unknown): boolean | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  p.error(path, `expected true or false, got ${show(value, path)}`);
  return undefined;
}

export function readEnum<T extends string>(
  p: Problems,
  path: string,
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) {
    return value as T;
  }
  p.error(path, `expected one of ${quoteAll(allowed)}, got ${show(value, path)}`);
  return undefined;
}

export function readArray(
  p: Problems,
  path: string,
  value: unknown,
  expected: string,
): unknown[] | undefined {
  if (isAbsent(value)) return undefined;
  if (!Array.isArray(value)) {
    p.error(path, `expected ${expected}, got ${show(value, path)}`);
    return undefined;
  }
  const list: unknown[] = value;
  return list;
}

/** A plain object; with `allowedKeys`, every other key is reported (by name only, never its value). */
export function readObject(
  p: Problems,
  path: string,
  value: unknown,
  expected: string,
  allowedKeys?: readonly string[],
): RawObject | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    p.error(path, `expected ${expected}, got ${show(value, path)}`);
    return undefined;
  }
  const object = value as RawObject;
  if (allowedKeys) reportUnknownKeys(p, path, object, allowedKeys);
  return object;
}

/**
 * Reports every key of `object` not in `allowed`, by name only (never its value), suggesting the
 * key a typo meant. `listAllowed: false` leaves out the list when it would be long.
 */
export function reportUnknownKeys(
  p: Problems,
  path: string,
  object: RawObject,
  allowed: readonly string[],
  listAllowed = true,
): void {
  for (const key of Object.keys(object)) {
    if (allowed.includes(key)) continue;
    const guess = closestKey(key, allowed);
    const hint = guess
      ? `did you mean "${guess}"?`
      : listAllowed
        ? `allowed: ${allowed.join(", ")}`
        : "not a setting this program reads";
    p.error(childPath(path, key), `unknown key (${hint})`);
  }
}

export function quoteAll(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}
