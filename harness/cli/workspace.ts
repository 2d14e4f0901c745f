/**
 * What the `pulumi` stand-in reads and writes besides the state: the project (Pulumi.yaml in the
 * working directory), the stack's settings file Pulumi.<stack>.yaml (its `encryptionsalt` and
 * `config`), the backend (PULUMI_BACKEND_URL, file:// only) and the selected stack.
 * Real: pulumi/pulumi `sdk/go/common/workspace/project.go` (project and stack files, DetectProject
 * from the working directory), `resource/config/key.go` ParseKey, `pkg/backend/diy/backend.go`
 * (state under <dir>/.pulumi/stacks/<project>/), `sdk/go/common/workspace/config.go`
 * (ValidateStackConfigAndApplyProjectConfig: project defaults for keys the stack does not set).
 * Not covered: Pulumi Cloud and other backends, `pulumi login`, project config type validation,
 * secure values nested inside objects, ESC environments.
 */
import * as fs from "fs";
import * as path from "path";
import { Document, YAMLMap, isMap, parse, parseDocument } from "yaml";
import { StackConfig } from "../program/mocks";
import { Crypter } from "./passphrase";

/** A failure the CLI reports as `error: <message>` (exit 255, cmdutil.ExitError). */
export class CliError extends Error {}

export interface Project {
  dir: string;
  name: string;
  /** The program's entry (Pulumi.yaml `main`, else index.ts). */
  program: string;
  /** Project-level config: key (no namespace) → default, for keys that declare one. */
  defaults: Record<string, unknown>;
}

export function readProject(dir: string): Project {
  const file = path.join(dir, "Pulumi.yaml");
  if (!fs.existsSync(file)) {
    throw new CliError(
      `no Pulumi.yaml project file found (searching upwards from ${dir}). If you have not ` +
        "created a project yet, use `pulumi new` to do so",
    );
  }
  const doc = parse(fs.readFileSync(file, "utf8")) as {
    name?: string;
    main?: string;
    config?: Record<string, unknown>;
  };
  if (!doc?.name) throw new CliError(`${file}: project is missing a 'name' attribute`);
  const defaults: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(doc.config ?? {})) {
    if (spec && typeof spec === "object" && "default" in spec) {
      defaults[key] = (spec as { default?: unknown }).default;
    }
  }
  return {
    dir,
    name: doc.name,
    program: path.resolve(dir, doc.main ?? "index.ts"),
    defaults,
  };
}

export function stackFileOf(project: Project, stack: string): string {
  return path.join(project.dir, `Pulumi.${stack}.yaml`);
}

interface StackFile {
  doc: Document;
  encryptionSalt?: string;
  config: Record<string, unknown>;
}

export function readStackFile(project: Project, stack: string): StackFile {
  const file = stackFileOf(project, stack);
  if (!fs.existsSync(file)) return { doc: new Document({}), config: {} };
  const doc = parseDocument(fs.readFileSync(file, "utf8"));
  if (doc.errors.length > 0) {
    throw new CliError(`could not unmarshal '${file}': ${doc.errors[0].message}`);
  }
  const value = (doc.toJS() ?? {}) as { encryptionsalt?: unknown; config?: unknown };
  if (value.config !== undefined && (typeof value.config !== "object" || value.config === null)) {
    throw new CliError(`could not unmarshal '${file}': config is not a map`);
  }
  return {
    doc,
    ...(typeof value.encryptionsalt === "string" && { encryptionSalt: value.encryptionsalt }),
    config: (value.config ?? {}) as Record<string, unknown>,
  };
}

/** Writes `encryptionsalt` into the stack file, the rest of it (comments too) kept. */
export function writeEncryptionSalt(project: Project, stack: string, salt: string): void {
  const file = stackFileOf(project, stack);
  const { doc } = readStackFile(project, stack);
  if (!isMap(doc.contents)) doc.contents = new YAMLMap();
  const had = doc.has("encryptionsalt");
  doc.set("encryptionsalt", salt);
  // Where the CLI writes it (ProjectStack's first field): at the top.
  const map = doc.contents as YAMLMap;
  if (!had) map.items.unshift(map.items.pop()!);
  fs.writeFileSync(file, doc.toString());
}

/** ParseKey: `<namespace>:<name>`, or the old `<namespace>:config:<name>`. */
function parseKey(key: string): string {
  const parts = key.split(":");
  if (parts.length === 2) return key;
  if (parts.length === 3 && parts[1] === "config") return `${parts[0]}:${parts[2]}`;
  throw new CliError(
    `could not parse ${key} as a configuration key ` +
      "(configuration keys should be of the form `<namespace>:<name>`)",
  );
}

/**
 * The config the program sees: the stack file's values (`secure` ones decrypted and marked
 * secret), then the project's defaults for keys the stack does not set.
 */
export function stackConfig(
  project: Project,
  file: StackFile,
  crypter: Crypter | undefined,
): { config: StackConfig; secretKeys: string[] } {
  const config: StackConfig = {};
  const secretKeys: string[] = [];
  for (const [raw, value] of Object.entries(file.config)) {
    // sdk/go/common/workspace/loaders.go stackConfigNamespacedWithProject: a key without a colon
    // is the project's. Written both ways, the real CLI keeps whichever its map iteration (random
    // order) writes last; the stand-in refuses instead.
    const key = raw.includes(":") ? parseKey(raw) : `${project.name}:${raw}`;
    if (key in config) {
      throw new CliError(`${key} is set twice in the stack file (once without its namespace)`);
    }
    if (value && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      const secure = value.secure;
      if (typeof secure !== "string") throw new CliError(`${key}: secure value is not a string`);
      if (!crypter) throw new CliError(`${key} is a secret and the stack has no encryptionsalt`);
      try {
        config[key] = crypter.decrypt(secure);
      } catch {
        throw new CliError(`failed to decrypt ${key}: the stack's passphrase did not encrypt it`);
      }
      secretKeys.push(key);
    } else {
      config[key] = value;
    }
  }
  for (const [name, value] of Object.entries(project.defaults)) {
    const key = `${project.name}:${name}`;
    if (!(key in config)) config[key] = value;
  }
  return { config, secretKeys };
}

/** The file backend's directory: PULUMI_BACKEND_URL=file://<dir> (diy backend, "file://" prefix). */
export function backendDir(env: NodeJS.ProcessEnv): string {
  const url = env.PULUMI_BACKEND_URL;
  if (!url) {
    throw new CliError(
      "PULUMI_BACKEND_URL is not set: this stand-in serves only a file:// backend named there " +
        "(it implements no `pulumi login`, and never Pulumi Cloud)",
    );
  }
  if (!url.startsWith("file://")) {
    throw new CliError(`PULUMI_BACKEND_URL ${url}: this stand-in serves only file:// backends`);
  }
  const dir = url.slice("file://".length);
  if (!path.isAbsolute(dir)) throw new CliError(`PULUMI_BACKEND_URL ${url}: not an absolute path`);
  return dir;
}

/** <backend>/.pulumi/stacks/<project>: the stacks' state files, as the diy backend lays them out. */
export function stacksDir(env: NodeJS.ProcessEnv, project: Project): string {
  return path.join(backendDir(env), ".pulumi", "stacks", project.name);
}
