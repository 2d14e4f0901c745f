/**
 * pulumi-command v1.2.1's `local.Command`, as its provider runs it on the machine running Pulumi
 * (provider/pkg/provider/local/commandController.go Create/Update/Delete, commandOutputs.go run):
 * - Create runs `create`; Update runs `update`, else `create`; Delete runs the OLD state's
 *   `delete`; none runs in a preview, and a resource without the command runs nothing;
 * - `/bin/sh -c <command>` in the current directory, with this process's environment, `stdin`
 *   when not empty, and, unless addPreviousOutputInEnv is false, the previous run's stdout and
 *   stderr as PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR when not empty (an update carries the
 *   old outputs; a create has none);
 * - stdout and stderr with one trailing newline trimmed; a failure is
 *   `<exit error>: running "<command>":\n<stdout and stderr>`, and a failed update keeps the old
 *   state (the engine's UpdateStep.Apply).
 */
import { spawnSync } from "child_process";
import { PropertyMap } from "./values";

export interface LocalRun {
  stdout: string;
  stderr: string;
}

/** Runs `command` as the provider does; throws its error on a non-zero exit. */
export function runLocalCommand(
  command: string,
  inputs: PropertyMap,
  previous: { stdout?: unknown; stderr?: unknown } = {},
): LocalRun {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries((inputs.environment as Record<string, string>) ?? {})) {
    env[k] = v;
  }
  if (inputs.addPreviousOutputInEnv !== false) {
    if (typeof previous.stdout === "string" && previous.stdout !== "")
      env.PULUMI_COMMAND_STDOUT = previous.stdout;
    if (typeof previous.stderr === "string" && previous.stderr !== "")
      env.PULUMI_COMMAND_STDERR = previous.stderr;
  }
  const stdin = typeof inputs.stdin === "string" && inputs.stdin !== "" ? inputs.stdin : "";
  const r = spawnSync("/bin/sh", ["-c", command], {
    input: stdin,
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const why = r.signal ? `signal: ${r.signal}` : `exit status ${r.status}`;
    throw new Error(`${why}: running ${JSON.stringify(command)}:\n${r.stdout}${r.stderr}`);
  }
  return { stdout: r.stdout.replace(/\n$/, ""), stderr: r.stderr.replace(/\n$/, "") };
}
