/**
 * The shell library host scripts share: host/lib.sh, k3s/k3s-lib.sh and lb/lb-lib.sh, read as
 * units (one function or variable each, a blank line between units). A script carries the units
 * it names, directly or through other units, in library order.
 *
 * Why inlined per step and not installed once on each host: a step's script stays complete on its
 * own, so `pulumi preview` shows exactly what will run, and a `delete` that runs months later
 * does not depend on a library file on the host still being there or still matching; pruning to
 * the units a script uses keeps a one-function edit from re-running every step (only the steps
 * whose scripts use that function change).
 */
import * as fs from "fs";
import * as path from "path";

export const LIBRARY_FILES = ["host/lib.sh", "k3s/k3s-lib.sh", "lb/lb-lib.sh"];

interface Unit {
  /** The function or variable it defines; undefined for a unit every script carries (`set -eu`). */
  name?: string;
  /** Its code as a script carries it: the comment lines are for the file's readers. */
  text: string;
  /** Words of its code (comments left out), to find the units it uses. */
  words: Set<string>;
}

const DEFINITION = /^(?:([A-Za-z_][A-Za-z0-9_]*)\(\) \{|([A-Z_][A-Z0-9_]*)=)/;
/** Comment lines a script keeps: directives for shellcheck and for the program's own tools. */
const KEPT_COMMENT = /^\s*# (shellcheck |Writes stdin to: )/;

/**
 * Shell text without its comment lines (a line whose first non-blank character is `#`), but for
 * the directives: what a host runs, where the file itself is what people read.
 */
export function withoutComments(text: string): string {
  return text
    .split("\n")
    .filter((l) => !/^\s*#/.test(l) || KEPT_COMMENT.test(l))
    .join("\n");
}
const WORD = /[A-Za-z_][A-Za-z0-9_]*/g;

function codeWords(text: string): Set<string> {
  const code = text
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n");
  return new Set(code.match(WORD) ?? []);
}

function parseUnits(file: string, text: string): Unit[] {
  const blocks = text
    .replace(/^#!.*\n/, "")
    .split(/\n\s*\n/)
    .map((b) => b.trim())
    .filter((b) => b !== "");
  const units: Unit[] = [];
  for (const block of blocks) {
    const code = block.split("\n").filter((l) => !/^\s*#/.test(l));
    if (code.length === 0) continue; // the file's own comment
    const m = DEFINITION.exec(code[0]);
    if (!m && code.join("\n") !== "set -eu") {
      throw new Error(`${file}: a unit must define one function or VARIABLE: ${code[0]}`);
    }
    units.push({ name: m?.[1] ?? m?.[2], text: withoutComments(block), words: codeWords(block) });
  }
  return units;
}

let library: Unit[] | undefined;

function units(): Unit[] {
  if (!library) {
    const all = LIBRARY_FILES.flatMap((file) =>
      parseUnits(file, fs.readFileSync(path.resolve(__dirname, "..", file), "utf8")),
    );
    const names = new Set<string>();
    for (const u of all) {
      if (u.name === undefined) continue;
      if (names.has(u.name)) throw new Error(`the shell library defines ${u.name} twice`);
      names.add(u.name);
    }
    library = all;
  }
  return library;
}

/** The library units a script uses (directly or through other units), in library order. */
export function libraryUnitsFor(scriptText: string): string[] {
  const all = units();
  const byName = new Map(all.filter((u) => u.name).map((u) => [u.name as string, u]));
  const used = new Set<Unit>(all.filter((u) => u.name === undefined));
  const pending = [...codeWords(scriptText)];
  while (pending.length > 0) {
    const unit = byName.get(pending.pop() as string);
    if (!unit || used.has(unit)) continue;
    used.add(unit);
    pending.push(...unit.words);
  }
  return all.filter((u) => used.has(u)).map((u) => u.text);
}

/** A library variable's value (single-quoted or bare), for the TypeScript side that needs it too. */
export function libraryVariable(name: string): string {
  const unit = units().find((u) => u.name === name);
  const m = unit && new RegExp(`^${name}=(?:'([^']*)'|(\\S+))$`, "m").exec(unit.text);
  if (!m) throw new Error(`the shell library has no variable ${name}`);
  return m[1] ?? m[2];
}
