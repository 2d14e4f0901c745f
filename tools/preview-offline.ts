/**
 * Evaluates a stack file under mocks and prints, per host, the steps that would run and the files
 * they would write, secrets masked. Needs no backend, no credentials and no hosts.
 * Usage: npm run preview:offline -- --stack dev
 */
import {
  ProgramRun,
  RecordedResource,
  isSecretValue,
  reveal,
  runProgram,
} from "../harness/program/mocks";
import { stepDependencies } from "../harness/program/graph";
import { hostOf } from "../harness/program/queries";
import { stackFile } from "../harness/program/stacks";
import { unwrapCommandLine } from "../harness/program/scripts";
import { K3S_AGENT_TOKEN_PATH } from "../components/k3s/configYaml";
import { TRUST_ANY_HOST_KEY, TRUST_ANY_WARNING } from "../components/host/hostKeysRequired";
import { MASK, offlineConfig, unpinnedNote } from "./offline-config";
import { StackFileError, readStackFile } from "./stack-file";

/** Steps that make a file on the host from nothing the stack holds, by their script's first line. */
const MADE_ON_HOST: Record<string, string> = {
  "# k3s-ha: k3s/generate-agent-token.sh":
    `generates ${K3S_AGENT_TOKEN_PATH} (mode 0600) on the host when it has none: a random agent ` +
    "token (the stack sets no agentToken), kept on later runs, never shown",
};

/**
 * Where a step writes its stdin: the script's "Writes stdin to:" line, with its `$name`s taken from
 * the script's own parameter and library variable lines.
 */
function fileWritten(script: string): string | undefined {
  const m = /^# Writes stdin to: (.+) \(mode (\d{4})\)$/m.exec(script);
  if (!m) return undefined;
  const values = new Map<string, string>();
  for (const [, name, quoted, bare] of script.matchAll(
    /^([A-Za-z_][A-Za-z0-9_]*)=(?:'([^']*)'|(\S+))$/gm,
  )) {
    if (!values.has(name)) values.set(name, quoted ?? bare);
  }
  const target = m[1].replace(
    /\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, name: string) => values.get(name) ?? all,
  );
  return `${target} (mode ${m[2]})`;
}

function indent(text: string, prefix: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => `${prefix}${l}`)
    .join("\n");
}

function describeStep(
  r: RecordedResource,
  deps: Set<string>,
  hostOfStep: Map<string, string>,
): string {
  const lines = [`  - ${r.name}`];
  const elsewhere = [...deps].filter((d) => hostOfStep.get(d) !== hostOfStep.get(r.name));
  if (elsewhere.length > 0) lines.push(`      after: ${elsewhere.sort().join(", ")}`);
  const create = unwrapCommandLine(r.inputs.create as string);
  const target = fileWritten(create);
  const stdin = r.inputs.stdin;
  const made = MADE_ON_HOST[create.split("\n", 1)[0]];
  if (made) lines.push(`      ${made}`);
  if (target) {
    lines.push(`      writes ${target}:`);
    if (isSecretValue(stdin)) lines.push(`        ${MASK}`);
    else if (typeof stdin === "string") lines.push(indent(stdin, "        | "));
    else lines.push("        (no content: the step sends none)");
  }
  if (typeof r.inputs.delete === "string") lines.push("      on delete: undoes the step");
  if (r.inputs.logging === "none")
    lines.push("      handles a secret: output hidden, nothing logged");
  return lines.join("\n");
}

function describeDocker(run: ProgramRun): string[] {
  return run.resources
    .filter((r) => r.type === "docker:index/container:Container")
    .map((c) => {
      const uploads = (reveal(c.inputs.uploads) as { file: string; content: string }[]) ?? [];
      return [
        `docker container ${c.name} (restart ${String(c.inputs.restart)})`,
        ...uploads.map((u) => `  writes ${u.file}:\n${indent(u.content, "    | ")}`),
      ].join("\n");
    });
}

/**
 * Runs `evaluate` with the program's warnings (pulumi.log.warn, which prints them through
 * console.warn when no engine is attached) collected instead of printed.
 */
async function collectingWarnings<T>(evaluate: () => Promise<T>): Promise<[T, string[]]> {
  const warnings: string[] = [];
  const original = console.warn;
  const prefix = "warning: [runtime] ";
  console.warn = (...args: unknown[]) => {
    const text = args.map(String).join(" ");
    if (text.startsWith(prefix)) warnings.push(text.slice(prefix.length));
    else original(...args);
  };
  try {
    return [await evaluate(), warnings];
  } finally {
    console.warn = original;
  }
}

export async function renderOfflinePreview(stack: string): Promise<string> {
  const { config, secretKeys, unpinned, trustAnyAdded, cleanup } = offlineConfig(
    readStackFile(stackFile(stack)),
  );
  try {
    const [run, all] = await collectingWarnings(() => runProgram(config, secretKeys, stack));
    // The preview set sshTrustAnyHostKey itself (the note says so): its warning is not the user's.
    const ours = `${TRUST_ANY_HOST_KEY}: ${TRUST_ANY_WARNING} `;
    const warnings = all.filter((w) => !(trustAnyAdded && w.startsWith(ours)));
    const deps = stepDependencies(run);
    const commands = run.resources.filter((r) => r.type === "command:remote:Command");
    const hostOfStep = new Map(commands.map((c) => [c.name, hostOf(c)]));
    // Steps in an order the engine could run them: every step after the steps it depends on.
    const ordered: RecordedResource[] = [];
    const placed = new Set<string>();
    while (ordered.length < commands.length) {
      for (const c of commands) {
        if (placed.has(c.name)) continue;
        if ([...(deps.get(c.name) ?? [])].every((d) => placed.has(d) || !hostOfStep.has(d))) {
          ordered.push(c);
          placed.add(c.name);
        }
      }
    }
    const hosts = [...new Set(ordered.map(hostOf))];
    const names = new Map<string, string>();
    for (const key of ["servers", "agents", "loadBalancers"]) {
      for (const h of run.outputs[key] as { name: string; address: string }[]) {
        names.set(h.address, h.name);
      }
    }
    const out = [
      ...warnings.map((w) => `warning: ${w}`),
      ...unpinnedNote(stack, unpinned),
      `stack ${stack}: API endpoint ${String(run.outputs.apiEndpoint)}, ` +
        `registration address ${String(run.outputs.registrationAddress)}, ` +
        `load balancer ${String(run.outputs.loadBalancerKind)}`,
      "",
    ];
    for (const host of hosts) {
      out.push(`host ${names.get(host) ?? host} (${host})`);
      for (const c of ordered.filter((x) => hostOf(x) === host)) {
        out.push(describeStep(c, deps.get(c.name) ?? new Set(), hostOfStep));
      }
      out.push("");
    }
    out.push(...describeDocker(run));
    return `${out.join("\n").trimEnd()}\n`;
  } finally {
    cleanup();
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const stack = arg("--stack");
  const against = arg("--against");
  if (!stack) {
    console.error(
      "usage: npm run preview:offline -- --stack <name> [--against <git ref or stack file>]\n" +
        "  reads Pulumi.<name>.yaml; with --against, prints what the edit since then does per host",
    );
    process.exit(2);
  }
  process.stdout.write(
    against
      ? await (await import("./preview-against")).renderPlanAgainst(stack, against)
      : await renderOfflinePreview(stack),
  );
  // The Pulumi runtime under mocks keeps handles open; the output is complete.
  process.exit(0);
}

if (require.main === module) {
  main().catch((err: Error) => {
    const known = err instanceof StackFileError || err.name === "ConfigError";
    console.error(known ? err.message : err);
    process.exit(1);
  });
}
