/**
 * Host scripts are `.sh` files beside their feature. This module turns one into the text a step
 * runs: the file's name, its parameters as one quoted header, the library units it uses
 * (library.ts), then the file itself.
 */
import * as fs from "fs";
import * as path from "path";
import { libraryUnitsFor, libraryVariable, withoutComments } from "./library";

/** Where the feature folders are; the `.sh` files sit beside the modules that use them. */
const COMPONENTS_DIR = path.resolve(__dirname, "..");

/** Where the program keeps its own state on a host (pending reloads and restarts, air-gap files). */
export const K3S_HA_STATE_DIR = libraryVariable("K3S_HA_STATE_DIR");

/** The header every managed file starts with; scripts use it to tell our files from the distribution's. */
export const MANAGED_HEADER = libraryVariable("K3S_HA_MANAGED_HEADER");

/** Quotes a value for POSIX sh (single quotes; embedded quotes closed and escaped). */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'"'"'`)}'`;
}

export type ScriptParams = Record<string, string | number | boolean>;

const files = new Map<string, string>();
const params = new Map<string, Set<string>>();

/** A `.sh` file under components/, read once. */
export function scriptFile(file: string): string {
  let text = files.get(file);
  if (text === undefined) {
    text = fs.readFileSync(path.join(COMPONENTS_DIR, file), "utf8");
    files.set(file, text);
  }
  return text;
}

/**
 * The parameters a file declares: the names on its `: "${name:?}" "${other?}"` lines (required,
 * or possibly empty), which also make shellcheck see them as set.
 */
function declaredParams(file: string): Set<string> {
  let names = params.get(file);
  if (!names) {
    const lines = scriptFile(file)
      .split("\n")
      .filter((l) => l.startsWith(": "));
    names = new Set(
      lines.flatMap((l) => [...l.matchAll(/"\$\{([a-z_][a-z0-9_]*):?\?\}"/g)].map((m) => m[1])),
    );
    params.set(file, names);
  }
  return names;
}

const bodies = new Map<string, string>();

/**
 * What follows the header: the library units the file uses, then the file without its comment
 * lines (the file is what people read; its first line names it).
 */
function body(file: string): string {
  let text = bodies.get(file);
  if (text === undefined) {
    const code = withoutComments(scriptFile(file)).trim();
    text = [...libraryUnitsFor(code), code].join("\n");
    bodies.set(file, text);
  }
  return text;
}

/**
 * The script a host runs for `file` (a path under components/, e.g. "k3s/install.sh"): its name,
 * the parameters, the library units the file uses (`set -eu` first), the file. The parameters must be exactly those
 * the file declares (lower case; the library's variables are upper case); each value is
 * single-quoted.
 */
export function hostScript(file: string, params: ScriptParams = {}): string {
  const text = body(file);
  const declared = declaredParams(file);
  const given = Object.keys(params);
  const wrong = [
    ...given.filter((n) => !declared.has(n)).map((n) => `${n} is not one of its parameters`),
    ...[...declared].filter((n) => !(n in params)).map((n) => `${n} is missing`),
  ];
  if (wrong.length > 0) throw new Error(`${file}: ${wrong.join("; ")}`);
  const header = Object.entries(params).map(([name, value]) => `${name}=${shQuote(String(value))}`);
  return [`# k3s-ha: ${file}`, ...header, text, ""].join("\n");
}

/**
 * A file the program puts on a host as it is (a check script): the file, with its parameters as
 * one quoted header after its leading comment lines.
 */
export function hostFile(file: string, params: ScriptParams = {}): string {
  const lines = scriptFile(file).trimEnd().split("\n");
  const at = lines.findIndex((l) => !l.startsWith("#"));
  const header = Object.entries(params).map(([name, value]) => `${name}=${shQuote(String(value))}`);
  return [...lines.slice(0, at), ...header, ...lines.slice(at), ""].join("\n");
}

/** A piece of shell with the library units it uses in front (for tests and the lab's own hosts). */
export function withLibrary(snippet: string): string {
  return [...libraryUnitsFor(snippet), snippet].join("\n");
}
