/**
 * Runs the real program under `pulumi.runtime.setMocks` and records every resource it registers:
 * type, name, URN, parent, dependencies and inputs (secrets kept recognisable as secrets).
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";

export const PROJECT = "k3s-ha";

export interface RecordedResource {
  type: string;
  name: string;
  urn: string;
  parent: string;
  /** A custom resource (false for components and the stack). */
  custom: boolean;
  /** URNs this resource depends on (explicit dependsOn plus those found in its inputs). */
  dependencies: string[];
  /** Per input property, the URNs its value came from. */
  propertyDependencies: Record<string, string[]>;
  /** Inputs as the engine receives them; a secret is `{ secret: value }` (see `isSecretValue`). */
  inputs: Record<string, unknown>;
  /** The resource options the engine acts on, as the program and the SDK set them. */
  options: RegistrationOptions;
  /**
   * The provider reference (`<provider URN>::<provider id>`) for a resource given an explicit
   * provider, "" for the default one (RegisterResourceRequest.provider).
   */
  provider?: string;
}

/** Resource options from a registration request (pulumirpc.RegisterResourceRequest). */
export interface RegistrationOptions {
  replaceOnChanges: string[];
  ignoreChanges: string[];
  /** Absent when the program left it to the provider. */
  deleteBeforeReplace?: boolean;
  additionalSecretOutputs: string[];
  /** Old URNs this resource was known by (aliases given as URNs or as specs). */
  aliases: AliasRecord[];
  protect: boolean;
  retainOnDelete: boolean;
  deletedWith: string;
}

/** One alias: a full URN, or a spec whose unset fields default to the resource's own. */
export interface AliasRecord {
  urn?: string;
  name?: string;
  type?: string;
  /** A parent URN; "" means no parent; absent means the resource's own parent. */
  parent?: string;
}

/** A recorded secret input. */
export interface SecretValue {
  secret: unknown;
}

export function isSecretValue(v: unknown): v is SecretValue {
  return typeof v === "object" && v !== null && "secret" in v && Object.keys(v).length === 1;
}

/** An input with secrets unwrapped. */
export function reveal(v: unknown): unknown {
  if (isSecretValue(v)) return reveal(v.secret);
  if (Array.isArray(v)) return v.map(reveal);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
  }
  return v;
}

/** Wire form (the SDK's secret signature) → recorded form (`{ secret }`). */
export function markSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(markSecrets);
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if (o[rpc.specialSigKey] === rpc.specialSecretSig) return { secret: markSecrets(o.value) };
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, markSecrets(x)]));
  }
  return v;
}

/** What a mocked step prints, for the few steps whose stdout the program reads. */
export const FAKE_CA_HASH = "c0ffee".padEnd(64, "0");
export const FAKE_GENERATED_TOKEN = `K10${FAKE_CA_HASH}::server:generated-by-server-1`;
/** The agent token server-1 generates when the stack configures none. */
export const FAKE_GENERATED_AGENT_TOKEN = "generated-agent-token-by-server-1";
export const FAKE_KUBECONFIG = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: RkFLRQ==
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: RkFLRQ==
    client-key-data: RkFLRQ==
`;

export function fakeStdout(name: string): string {
  if (name.endsWith("-read-token")) return `${FAKE_GENERATED_TOKEN}\n`;
  if (name.endsWith("-ca-hash")) return `${FAKE_CA_HASH}\n`;
  // Only server-1's generated agent token prints; a configured token's file step prints nothing.
  if (name.endsWith("-agent-token")) return `${FAKE_GENERATED_AGENT_TOKEN}\n`;
  if (name.endsWith("-read-kubeconfig")) return FAKE_KUBECONFIG;
  return "";
}

export interface ProgramRun {
  resources: RecordedResource[];
  /** The program's stack outputs, resolved; secret outputs are `{ secret: value }`. */
  outputs: Record<string, unknown>;
}

/** Stack config as written in a Pulumi.<stack>.yaml (`k3s-ha:key` → value). */
export type StackConfig = Record<string, unknown>;

/** The program itself, loaded afresh by each evaluation. */
export const PROGRAM = path.resolve(__dirname, "..", "..", "index.ts");

/**
 * Evaluates the program with the given stack config and secret config keys.
 * Each call loads a fresh copy of the program.
 */
export async function runProgram(
  stackConfig: StackConfig,
  secretKeys: string[] = [],
  stack = "test",
  program = PROGRAM,
): Promise<ProgramRun> {
  return runProgramWith({ config: stackConfig, secretKeys, stack, program });
}

export interface ProgramRunOptions {
  config: StackConfig;
  secretKeys?: string[];
  stack?: string;
  /** The program's entry (default: this repository's index.ts). */
  program?: string;
  /** The program's project name, which its config keys start with (default k3s-ha). */
  project?: string;
  /** More outputs a resource reports (a VM's address), by type and name. */
  outputs?: (type: string, name: string) => Record<string, unknown>;
}

/** `runProgram` for any program: its project, config and the outputs its resources report. */
export async function runProgramWith(opts: ProgramRunOptions): Promise<ProgramRun> {
  const stack = opts.stack ?? "test";
  const program = opts.program ?? PROGRAM;
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: {
          ...(args.inputs as Record<string, unknown>),
          stdout: fakeStdout(args.name),
          stderr: "",
          ...opts.outputs?.(args.type, args.name),
        },
      }),
      call: (args) => {
        throw new Error(`unexpected provider function call: ${args.token}`);
      },
    },
    opts.project ?? PROJECT,
    stack,
  );
  const stackConfig = opts.config;
  const secretKeys = opts.secretKeys ?? [];
  const resources = recordRegistrations(stack, markSecrets);
  setStackConfig(stackConfig, secretKeys);

  delete require.cache[require.resolve(program)];
  const exported = (await import(program)) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) {
    outputs[key] = await resolve(value);
  }
  // waitForRPCs is internal to the SDK: it drains the registrations still in flight.
  await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return { resources, outputs };
}

/**
 * Wraps the mock monitor (after `setMocks`) so every registration is recorded with its parent and
 * dependencies, which the mock arguments alone do not carry.
 */
export function recordRegistrations(
  stack: string,
  inputsOf: (raw: Record<string, unknown>) => unknown = (raw) => raw,
): RecordedResource[] {
  const resources: RecordedResource[] = [];
  const monitor = settings.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: RegisterRequest, cb: unknown) => {
    const parent = req.getParent();
    const type = req.getType();
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps, key) => {
      propertyDependencies[key] = deps.getUrnsList();
    });
    resources.push({
      type,
      name: req.getName(),
      urn: urnOf(stack, parent, type, req.getName()),
      parent,
      custom: req.getCustom(),
      dependencies: req.getDependenciesList(),
      propertyDependencies,
      inputs: inputsOf(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
      options: optionsOf(req),
      provider: req.getProvider(),
    });
    return register(req, cb);
  };
  return resources;
}

/** Sets the stack's config as the engine hands it to a program: every value a string. */
export function setStackConfig(stackConfig: StackConfig, secretKeys: string[]): void {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(stackConfig)) {
    values[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(values, secretKeys);
}

interface AliasMessage {
  hasUrn(): boolean;
  getUrn(): string;
  getSpec():
    | {
        getName(): string;
        getType(): string;
        hasParenturn(): boolean;
        getParenturn(): string;
        getNoparent(): boolean;
      }
    | undefined;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(cb: (deps: { getUrnsList(): string[] }, key: string) => void): void;
  };
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
  getDeletebeforereplace(): boolean;
  getDeletebeforereplacedefined(): boolean;
  getAdditionalsecretoutputsList(): string[];
  getAliasurnsList(): string[];
  getAliasesList(): AliasMessage[];
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getDeletedwith(): string;
  getProvider(): string;
}

function optionsOf(req: RegisterRequest): RegistrationOptions {
  const aliases: AliasRecord[] = req.getAliasurnsList().map((urn) => ({ urn }));
  for (const alias of req.getAliasesList()) {
    if (alias.hasUrn()) {
      aliases.push({ urn: alias.getUrn() });
      continue;
    }
    const spec = alias.getSpec();
    if (!spec) continue;
    aliases.push({
      ...(spec.getName() ? { name: spec.getName() } : {}),
      ...(spec.getType() ? { type: spec.getType() } : {}),
      ...(spec.getNoparent() ? { parent: "" } : {}),
      ...(spec.hasParenturn() ? { parent: spec.getParenturn() } : {}),
    });
  }
  return {
    replaceOnChanges: req.getReplaceonchangesList(),
    ignoreChanges: req.getIgnorechangesList(),
    ...(req.getDeletebeforereplacedefined()
      ? { deleteBeforeReplace: req.getDeletebeforereplace() }
      : {}),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    aliases,
    protect: req.getProtect() ?? false,
    retainOnDelete: req.getRetainondelete() ?? false,
    deletedWith: req.getDeletedwith(),
  };
}

function urnOf(stack: string, parent: string, type: string, name: string): string {
  let qualified = type;
  if (parent) qualified = `${parent.split("::")[2].split("$").pop()}$${type}`;
  return `urn:pulumi:${stack}::${pulumi.getProject()}::${qualified}::${name}`;
}

async function resolve(value: unknown): Promise<unknown> {
  if (!pulumi.Output.isInstance(value)) return value;
  const out = value;
  const [plain, secret] = await Promise.all([
    new Promise((done) => out.apply((v) => done(v))),
    pulumi.isSecret(out),
  ]);
  return secret ? { secret: plain } : plain;
}
