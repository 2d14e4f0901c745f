/**
 * A `pulumi` CLI stand-in (harness/cli/pulumi runs this) backed by the e2e executor: the real
 * program, planned and stepped by the engine model over real SSH against lab hosts
 * (harness/e2e/executor.ts), its state a file under the file:// backend's directory. It serves
 * what scripts/up.sh, scripts/pulumi.sh and the README call, each at least as strict as the real
 * CLI on what they rely on; anything else fails loudly (exit 255), never pretends.
 *
 * | command                                    | real source (pulumi/pulumi)                              |
 * | ------------------------------------------ | -------------------------------------------------------- |
 * | version                                    | pkg/cmd/pulumi/version.go (prints v<version>)             |
 * | stack init <s>; stack select [-c] [-s] <s> | pkg/cmd/pulumi/stack/stack_init.go, stack_select.go; a new stack's passphrase salt (passphrase/manager.go) |
 * | stack output [name] [--show-secrets] [-j]  | pkg/cmd/pulumi/stack/stack_output.go ("[secret]", "current stack does not have output property") |
 * | up / preview / destroy [-s] [-y] [--skip-preview] | pkg/cmd/pulumi/operations/up.go, preview.go, destroy.go ("--yes or --skip-preview must be passed in to proceed when running in non-interactive mode") |
 *
 * Errors print `error: <message>` and exit 255 (cmdutil.ExitError exits -1). Interactive is
 * cmdutil.Interactive(): stdin and stdout terminals, no CI, TERM not dumb, no --non-interactive.
 */
import * as fs from "fs";
import * as readline from "readline";
import { parseArgs } from "util";
import { destroy, preview, up } from "../e2e/executor";
import { readStack, stateFile, useStateDir, writeStack } from "../e2e/state-file";
import { formatPlan } from "../engine/format";
import { emptyState } from "../engine/state";
import { PROJECT, isSecretValue } from "../program/mocks";
import { Crypter, crypterFor, newEncryptionSalt, readPassphrase } from "./passphrase";
import {
  CliError,
  Project,
  backendDir,
  readProject,
  readStackFile,
  stackConfig,
  stacksDir,
  writeEncryptionSalt,
} from "./workspace";

export const CLI_VERSION = "v3.265.0";

type Flags = Record<string, { type: "string" | "boolean"; short?: string }>;

const STACK_FLAG: Flags = { stack: { type: "string", short: "s" } };
const GLOBAL: Flags = { "non-interactive": { type: "boolean" } };

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  interactive: boolean;
  /** Reads one answer on the terminal (interactive only). */
  ask: (question: string) => Promise<string>;
}

function parse(args: string[], flags: Flags, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...GLOBAL, ...flags },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    // cobra: "unknown flag: --x".
    const message = (err as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    throw new CliError(unknown ? `unknown flag: ${unknown[1]}` : message);
  }
  if (parsed.positionals.length > positionals) {
    throw new CliError(
      `accepts at most ${positionals} arg(s), received ${parsed.positionals.length}`,
    );
  }
  return {
    values: parsed.values as Record<string, string | boolean | undefined>,
    positionals: parsed.positionals,
  };
}

class Cli {
  private project?: Project;

  constructor(private readonly io: Io) {}

  private proj(): Project {
    if (!this.project) {
      const project = readProject(this.io.cwd);
      // The executor evaluates programs under this project's name (harness/program/mocks.ts).
      if (project.name !== PROJECT) {
        throw new CliError(
          `project '${project.name}': this stand-in runs the '${PROJECT}' project only`,
        );
      }
      this.project = project;
    }
    return this.project;
  }

  /** The stacks' directory; the executor's state files go there. */
  private stacks(): string {
    const dir = backendDir(this.io.env);
    if (!fs.existsSync(dir)) {
      throw new CliError(`the backend directory ${dir} (PULUMI_BACKEND_URL) does not exist`);
    }
    const stacks = stacksDir(this.io.env, this.proj());
    useStateDir(stacks);
    return stacks;
  }

  private exists(stack: string): boolean {
    this.stacks();
    return fs.existsSync(stateFile(stack));
  }

  private selectedFile(): string {
    return `${this.stacks()}/.selected`;
  }

  /** --stack, else the selected stack; it must exist. */
  private requireStack(flag: string | boolean | undefined): string {
    let stack = typeof flag === "string" ? flag : undefined;
    if (stack === undefined) {
      const selected = this.selectedFile();
      if (fs.existsSync(selected)) stack = fs.readFileSync(selected, "utf8").trim();
    }
    if (!stack) {
      throw new CliError(
        "no stack selected; please use `pulumi stack select` or `pulumi stack init` to choose one",
      );
    }
    checkStackName(stack);
    if (!this.exists(stack)) throw new CliError(`no stack named '${stack}' found`);
    return stack;
  }

  /** The stack's crypter: its encryptionsalt checked against the passphrase. */
  private crypter(stack: string): Crypter {
    const file = readStackFile(this.proj(), stack);
    if (!file.encryptionSalt) {
      throw new CliError(
        `Pulumi.${stack}.yaml has no encryptionsalt: this stand-in serves passphrase stacks made ` +
          "by `pulumi stack init` or `pulumi stack select --create`",
      );
    }
    return crypterFor(readPassphrase(this.io.env), file.encryptionSalt);
  }

  private create(stack: string): void {
    checkStackName(stack);
    if (this.exists(stack)) throw new CliError(`stack '${stack}' already exists`);
    const file = readStackFile(this.proj(), stack);
    if (file.encryptionSalt) {
      // A stack file that already has a salt keeps it: the passphrase must open it.
      crypterFor(readPassphrase(this.io.env), file.encryptionSalt);
    } else {
      writeEncryptionSalt(this.proj(), stack, newEncryptionSalt(readPassphrase(this.io.env)).salt);
    }
    writeStack(emptyState(stack));
    fs.writeFileSync(this.selectedFile(), `${stack}\n`);
    this.io.out(`Created stack '${stack}'`);
  }

  async run(argv: string[]): Promise<number> {
    const [command, ...rest] = argv;
    switch (command) {
      case "version":
        parse(rest, {}, 0);
        this.io.out(CLI_VERSION);
        return 0;
      case "stack":
        return this.stack(rest);
      case "up":
      case "update":
        return this.up(rest);
      case "preview":
        return this.preview(rest);
      case "destroy":
        return this.destroy(rest);
      case undefined:
        throw new CliError(
          "a command is required (this stand-in serves version, stack, up, preview, destroy)",
        );
      default:
        throw new CliError(`unknown command "${command}" for "pulumi" (not in this stand-in)`);
    }
  }

  private stack(argv: string[]): number {
    const [sub, ...rest] = argv;
    switch (sub) {
      case "init": {
        const { values, positionals } = parse(rest, STACK_FLAG, 1);
        const name = positionals[0] ?? (values.stack as string | undefined);
        if (!name) throw new CliError("a stack name is required: pulumi stack init <name>");
        this.create(name);
        return 0;
      }
      case "select": {
        const { values, positionals } = parse(
          rest,
          { ...STACK_FLAG, create: { type: "boolean", short: "c" } },
          1,
        );
        const name = positionals[0] ?? (values.stack as string | undefined);
        if (!name) throw new CliError("a stack name is required (no prompt in this stand-in)");
        checkStackName(name);
        if (!this.exists(name)) {
          if (!values.create) throw new CliError(`no stack named '${name}' found`);
          this.create(name);
          return 0;
        }
        fs.writeFileSync(this.selectedFile(), `${name}\n`);
        return 0;
      }
      case "output":
        return this.output(rest);
      default:
        throw new CliError(
          `unknown command "${sub ?? ""}" for "pulumi stack" (this stand-in serves init, select, output)`,
        );
    }
  }

  private output(argv: string[]): number {
    const { values, positionals } = parse(
      argv,
      {
        ...STACK_FLAG,
        "show-secrets": { type: "boolean" },
        json: { type: "boolean", short: "j" },
      },
      1,
    );
    const stack = this.requireStack(values.stack);
    // Loading the checkpoint decrypts its secrets: the passphrase must be right.
    this.crypter(stack);
    const outputs = readStack(stack).outputs ?? {};
    const shown = Object.fromEntries(
      Object.entries(outputs).map(([k, v]) => [k, massage(v, values["show-secrets"] === true)]),
    );
    const name = positionals[0];
    if (name !== undefined) {
      if (!(name in shown))
        throw new CliError(`current stack does not have output property '${name}'`);
      const value = shown[name];
      this.io.out(values.json ? JSON.stringify(value, null, 4) : stringify(value));
      return 0;
    }
    if (values.json) {
      this.io.out(JSON.stringify(shown, null, 4));
      return 0;
    }
    const keys = Object.keys(shown).sort();
    if (keys.length === 0) {
      this.io.out("Current stack outputs (0):\n    No output values currently in this stack");
      return 0;
    }
    const width = Math.max("OUTPUT".length, ...keys.map((k) => k.length));
    this.io.out(`Current stack outputs (${keys.length}):`);
    this.io.out(`    ${"OUTPUT".padEnd(width)}  VALUE`);
    for (const k of keys) this.io.out(`    ${k.padEnd(width)}  ${stringify(shown[k])}`);
    return 0;
  }

  private operationFlags(argv: string[], op: string) {
    const { values } = parse(
      argv,
      {
        ...STACK_FLAG,
        yes: { type: "boolean", short: "y" },
        "skip-preview": { type: "boolean", short: "f" },
      },
      0,
    );
    const yes =
      values.yes === true ||
      values["skip-preview"] === true ||
      truthy(this.io.env.PULUMI_SKIP_CONFIRMATIONS);
    const interactive = this.io.interactive && values["non-interactive"] !== true;
    if (!interactive && !yes) {
      throw new CliError(
        "--yes or --skip-preview must be passed in to proceed when running in non-interactive mode",
      );
    }
    const stack = this.requireStack(values.stack);
    const crypter = this.crypter(stack);
    return { stack, crypter, yes, skipPreview: values["skip-preview"] === true, op };
  }

  private async confirm(op: string): Promise<boolean> {
    const answer = await this.io.ask(`Do you want to perform this ${op}? [yes/no] `);
    if (answer.trim() === "yes") return true;
    this.io.err("confirmation declined, not proceeding with the " + op);
    return false;
  }

  private async up(argv: string[]): Promise<number> {
    const { stack, crypter, yes, skipPreview } = this.operationFlags(argv, "update");
    const { config, secretKeys } = stackConfig(
      this.proj(),
      readStackFile(this.proj(), stack),
      crypter,
    );
    const options = { stack, secretKeys, program: this.proj().program };
    this.io.out(`Updating (${stack}):`);
    if (!skipPreview && !yes) {
      const plan = await preview(config, options);
      this.io.out(formatPlan(plan));
      if (plan.errors.length > 0) return this.fail(plan.errors, "preview failed");
      if (!(await this.confirm("update"))) return 255;
    }
    const evaluation = await up(config, { ...options, skipPreview: skipPreview || !yes });
    for (const w of evaluation.warnings) this.io.err(`warning: ${w}`);
    if (evaluation.errors.length > 0) return this.fail(evaluation.errors, "update failed");
    const ops = new Map<string, number>();
    for (const c of evaluation.changes) ops.set(c.op, (ops.get(c.op) ?? 0) + 1);
    this.io.out("Resources:");
    for (const [op, n] of [...ops].sort()) this.io.out(`    ${n} ${op}`);
    return 0;
  }

  private async preview(argv: string[]): Promise<number> {
    const { values } = parse(argv, STACK_FLAG, 0);
    const stack = this.requireStack(values.stack);
    const crypter = this.crypter(stack);
    const { config, secretKeys } = stackConfig(
      this.proj(),
      readStackFile(this.proj(), stack),
      crypter,
    );
    this.io.out(`Previewing update (${stack}):`);
    const plan = await preview(config, { stack, secretKeys, program: this.proj().program });
    this.io.out(formatPlan(plan));
    if (plan.errors.length > 0) return this.fail(plan.errors, "preview failed");
    return 0;
  }

  private async destroy(argv: string[]): Promise<number> {
    const { stack, yes } = this.operationFlags(argv, "destroy");
    this.io.out(`Destroying (${stack}):`);
    if (!yes) {
      const count = readStack(stack).resources.length;
      this.io.out(`    ${count} resources to delete`);
      if (!(await this.confirm("destroy"))) return 255;
    }
    const deletes = await destroy(stack);
    const failed = deletes.filter((d) => d.error).map((d) => `${d.name}: ${d.error}`);
    if (failed.length > 0) return this.fail(failed, "destroy failed");
    this.io.out(`The resources in the stack have been deleted (${deletes.length} deletes ran)`);
    return 0;
  }

  private fail(errors: string[], summary: string): number {
    for (const e of errors) this.io.err(`error: ${e}`);
    this.io.err(`error: ${summary}`);
    return 255;
  }
}

/** Stack names: the diy backend's rule (letters, digits, -, _, .). */
function checkStackName(name: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.length > 100) {
    throw new CliError(
      `invalid stack name '${name}': a stack name may only contain alphanumeric, hyphens, underscores, or periods`,
    );
  }
}

/** display.MassageSecrets: a secret becomes "[secret]" unless shown. */
function massage(value: unknown, show: boolean): unknown {
  if (isSecretValue(value)) return show ? massage(value.secret, show) : "[secret]";
  if (Array.isArray(value)) return value.map((v) => massage(v, show));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, massage(v, show)]));
  }
  return value;
}

/** stringifyOutput: a string as it is, anything else as JSON. */
function stringify(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes)$/i.test(value);
}

function interactiveTerminal(env: NodeJS.ProcessEnv): boolean {
  return (
    process.stdin.isTTY === true &&
    process.stdout.isTTY === true &&
    !truthy(env.CI) &&
    env.TERM !== "dumb"
  );
}

function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
    rl.once("close", () => resolve(""));
  });
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  try {
    return await new Cli(io).run(argv);
  } catch (err) {
    io.err(`error: ${(err as Error).message}`);
    return 255;
  }
}

if (require.main === module) {
  const io: Io = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
    cwd: process.cwd(),
    interactive: interactiveTerminal(process.env),
    ask,
  };
  runCli(process.argv.slice(2), io).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`error: ${String(err)}\n`);
      process.exit(255);
    },
  );
}
