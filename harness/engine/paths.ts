/**
 * Property paths (`triggers[*]`, `connection.host`, `f.g["h"]`) as the engine parses, prints,
 * matches and resets them. Behavioural port of pulumi/pulumi
 * `sdk/go/common/resource/properties_path.go`: parsePropertyPath (non-strict), String,
 * Contains, Reset. Values are in the recorded form of `harness/program/mocks.ts` (a secret is
 * `{ secret: value }`).
 */
import { isSecretValue } from "../program/mocks";

export type PathElement = string | number;
export type PropertyPath = PathElement[];

/** parsePropertyPath(path, strict=false). Throws on the errors the engine reports. */
export function parsePath(text: string): PropertyPath {
  const elements: PropertyPath = [];
  let path = text;
  if (path.startsWith(".")) throw new Error("expected property path to start with a name or index");
  while (path.length > 0) {
    if (path[0] === ".") {
      path = path.slice(1);
      if (path.length === 0) throw new Error("expected property path to end with a name or index");
      continue;
    }
    if (path[0] === "[") {
      if (path.length > 1 && path[1] === '"') {
        let key = "";
        let i = 2;
        for (;;) {
          if (i >= path.length) throw new Error("missing closing quote in property name");
          if (path[i] === '"') {
            i++;
            break;
          }
          if (path[i] === "\\" && path[i + 1] === '"') {
            key += '"';
            i += 2;
          } else {
            key += path[i];
            i++;
          }
        }
        if (path[i] !== "]") throw new Error("missing closing bracket in property access");
        elements.push(key);
        path = path.slice(i + 1);
      } else {
        const close = path.indexOf("]");
        if (close === -1) throw new Error("missing closing bracket in array index");
        const segment = path.slice(1, close);
        if (segment === "*") elements.push("*");
        else {
          if (!/^[+-]?\d+$/.test(segment)) throw new Error(`invalid array index: ${segment}`);
          elements.push(Number(segment));
        }
        path = path.slice(close + 1);
      }
      continue;
    }
    let i = 0;
    while (i < path.length && path[i] !== "." && path[i] !== "[") i++;
    elements.push(path.slice(0, i));
    path = path.slice(i);
  }
  return elements;
}

const needsQuote = (c: string) => !/[A-Za-z0-9_]/.test(c);

/** PropertyPath.String(). */
export function formatPath(path: PropertyPath): string {
  let out = "";
  path.forEach((k, i) => {
    if (typeof k === "number") {
      out += `[${k}]`;
      return;
    }
    const quoted = [...k].some(needsQuote);
    if (!quoted) out += i === 0 ? k : `.${k}`;
    else out += `["${k.replace(/"/g, '\\"')}"]`;
  });
  return out;
}

/** PropertyPath.Contains: `p` matches `other` or a prefix of it; `*` matches any one element. */
export function pathContains(p: PropertyPath, other: PropertyPath): boolean {
  if (other.length < p.length) return false;
  return p.every((pp, i) => {
    if (pp === "*") return true;
    return other[i] === pp;
  });
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !isSecretValue(v);

function unwrap(v: unknown): [unknown, boolean] {
  if (isSecretValue(v)) return [unwrap(v.secret)[0], true];
  return [v, false];
}

/** Sets `v` at `key` of the (possibly secret-wrapped) container `holder`. */
function setIn(container: unknown, key: string | number, v: unknown): void {
  const [inner] = unwrap(container);
  (inner as Record<string | number, unknown>)[key] = v;
}

function resetValue(
  p: PropertyPath,
  oldIn: unknown,
  newIn: unknown,
  oldSecret: boolean,
  newSecret: boolean,
): boolean {
  if (p.length === 0) return false;
  const [old, os] = unwrap(oldIn);
  const [neu, ns] = unwrap(newIn);
  oldSecret ||= os;
  newSecret ||= ns;
  const mark = (v: unknown) => (oldSecret && !newSecret ? { secret: v } : v);
  const key = p[0];
  if (typeof key === "number") {
    if (key < 0) return false;
    if (p.length === 1) {
      if (!Array.isArray(old) && !Array.isArray(neu)) return true;
      if (!Array.isArray(old) || !Array.isArray(neu)) return false;
      if (key >= old.length && key >= neu.length) return true;
      if (key >= old.length || key >= neu.length) return false;
      setIn(neu, key, mark(old[key]));
      return true;
    }
    if (!Array.isArray(old) || !Array.isArray(neu))
      return !Array.isArray(old) && !Array.isArray(neu);
    if (key >= old.length || key >= neu.length) return false;
    return resetValue(p.slice(1), old[key], neu[key], oldSecret, newSecret);
  }
  if (key === "*") {
    if (p.length === 1) {
      if (isObject(neu)) {
        if (isObject(old)) {
          for (const k of Object.keys(old)) neu[k] = mark(old[k]);
          for (const k of Object.keys(neu)) if (!(k in old)) delete neu[k];
        }
        return true;
      }
      if (Array.isArray(neu)) {
        if (Array.isArray(old)) {
          for (let i = 0; i < old.length && i < neu.length; i++) neu[i] = mark(old[i]);
          if (old.length !== neu.length) return false;
        }
        return true;
      }
      return false;
    }
    if (isObject(old) && isObject(neu)) {
      for (const k of Object.keys(old)) {
        if (!(k in neu)) return false;
        if (!resetValue(p.slice(1), old[k], neu[k], oldSecret, newSecret)) return false;
      }
      return true;
    }
    if (Array.isArray(old) && Array.isArray(neu)) {
      for (let i = 0; i < old.length && i < neu.length; i++) {
        if (!resetValue(p.slice(1), old[i], neu[i], oldSecret, newSecret)) return false;
      }
      return old.length === neu.length;
    }
    return false;
  }
  if (p.length === 1) {
    const has = isObject(old) && key in old;
    if (has) {
      if (!isObject(neu)) return false;
      neu[key] = mark(old[key]);
    } else if (isObject(neu)) {
      delete neu[key];
    }
    return true;
  }
  if (!isObject(old) || !isObject(neu)) return !isObject(old) && !isObject(neu);
  const hasNew = key in neu;
  const hasOld = key in old;
  if (hasOld && !hasNew) return false;
  if (!hasOld && !hasNew) return true;
  return resetValue(p.slice(1), old[key], neu[key], oldSecret, newSecret);
}

/**
 * PropertyPath.Reset: sets the value at `path` in `news` (mutated) to its value in `olds`, or
 * removes it from `news` when `olds` lacks it. False when the path cannot be reset (an added or
 * removed array element, a shape mismatch).
 */
export function resetPath(path: PropertyPath, olds: Obj, news: Obj): boolean {
  return resetValue(path, olds, news, false, false);
}

/** A deep copy of a recorded value (plain JSON data). */
export function copyValue<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}
