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
import { loadStackConfig } from "../harness/program/stacks";
import { unwrapCommandLine } from "../harness/program/scripts";
import { MASK, offlineConfig, unpinnedNote } from "./offline-config";

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
  if (target) {
    lines.push(`      writes ${target}:`);
    lines.push(isSecretValue(stdin) ? `        ${MASK}` : indent(String(stdin), "        | "));
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

export async function renderOfflinePreview(stack: string): Promise<string> {
  const { config, secretKeys, unpinned, cleanup } = offlineConfig(loadStackConfig(stack));
  try {
    const run = await runProgram(config, secretKeys, stack);
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
    console.error(err.name === "ConfigError" ? err.message : err);
    process.exit(1);
  });
}
