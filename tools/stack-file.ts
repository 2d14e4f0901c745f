/**
 * A stack file (Pulumi.<stack>.yaml) read as the Pulumi CLI reads it, for the offline tools:
 * - a key without a namespace is the project's: `sshUser` is `k3s-ha:sshUser`
 *   (pulumi/pulumi sdk/go/common/workspace/loaders.go, LoadProjectStackBytes calling
 *   stackConfigNamespacedWithProject);
 * - `<namespace>:config:<name>` is the old spelling of `<namespace>:<name>`, any other key with
 *   more than one colon is refused (sdk/go/common/resource/config/key.go, ParseKey).
 * Stricter than the CLI where it would guess: the same key written both ways (`sshUser` and
 * `k3s-ha:sshUser`) is an error here, where the CLI keeps whichever its map iteration visits last.
 * Problems are one-line errors naming the file (and the line and column of a YAML error).
 */
import * as fs from "fs";
import * as path from "path";
import { LineCounter, isMap, parseDocument } from "yaml";
import type { StackConfig } from "../harness/program/mocks";

/** Pulumi.yaml's name (test/stackFiles.test.ts holds it so), the namespace of the program's keys. */
const PROJECT_NAMESPACE = "k3s-ha";

export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

/** The config key Pulumi makes of a key as written in a stack file; throws on a malformed one. */
export function namespacedKey(key: string, project = PROJECT_NAMESPACE): string {
  const parts = key.split(":");
  if (parts.length === 1) return `${project}:${key}`;
  if (parts.length === 2) return key;
  if (parts.length === 3 && parts[1] === "config") return `${parts[0]}:${parts[2]}`;
  throw new Error(
    `could not parse ${key} as a configuration key (configuration keys should be of the form \`<namespace>:<name>\`)`,
  );
}

/** The config of a stack file's text, keys as Pulumi names them. `file` names it in errors. */
export function parseStackFile(text: string, file: string): StackConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const error = doc.errors[0];
  if (error) {
    const at = lineCounter.linePos(error.pos[0]);
    const what = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new StackFileError(`${file}:${at.line}:${at.col}: not valid YAML: ${what}`);
  }
  const root: unknown = doc.toJS();
  if (root === null || root === undefined) return {};
  if (!isMap(doc.contents)) {
    throw new StackFileError(`${file}: expected a YAML map with a "config:" section at the top`);
  }
  const config = (root as Record<string, unknown>).config;
  if (config === undefined || config === null) return {};
  if (typeof config !== "object" || Array.isArray(config)) {
    throw new StackFileError(
      `${file}: "config" must be a map of keys to values (e.g. "k3s-ha:sshUser: ubuntu")`,
    );
  }
  const out: StackConfig = {};
  const writtenAs = new Map<string, string>();
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    let full: string;
    try {
      full = namespacedKey(key);
    } catch (err) {
      throw new StackFileError(`${file}: config key ${key}: ${(err as Error).message}`);
    }
    const first = writtenAs.get(full);
    if (first !== undefined) {
      throw new StackFileError(
        `${file}: config keys ${first} and ${key} are the same key ${full} (a key without a namespace is the project's); keep one`,
      );
    }
    writtenAs.set(full, key);
    out[full] = value;
  }
  return out;
}

/** The file as a user would type it: relative to the working directory when inside it. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === "" || relative.startsWith("..") || path.isAbsolute(relative)
    ? file
    : relative;
}

/** A stack file's text; a missing or unreadable file is a one-line error naming it. */
export function readStackText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      const dir = path.dirname(file);
      const stacks = fs.existsSync(dir)
        ? fs
            .readdirSync(dir)
            .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
            .filter((s): s is string => s !== undefined)
            .sort()
        : [];
      throw new StackFileError(
        `${shown(file)}: no such stack file; stacks here: ${stacks.join(", ") || "none"} (create one by copying Pulumi.dev.yaml)`,
      );
    }
    throw new StackFileError(`${shown(file)}: cannot read it (${code ?? (err as Error).message})`);
  }
}

/** Reads a stack file's config; problems are one-line errors naming the file. */
export function readStackFile(file: string): StackConfig {
  return parseStackFile(readStackText(file), shown(file));
}
