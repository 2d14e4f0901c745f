/**
 * A command run as a user runs it from the lab's controller network namespace (the lab's
 * addresses exist only there), stdin not a terminal, bounded in time.
 */
import { spawn } from "child_process";
import { CONTROLLER_NS } from "./constants";

export interface ControllerRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface ControllerCommandOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** SIGTERM after this long; the run then ends with the status the command left. */
  timeoutMs?: number;
}

export function runInController(
  argv: string[],
  { cwd, env, timeoutMs = 600_000 }: ControllerCommandOptions,
): Promise<ControllerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", CONTROLLER_NS, ...argv], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.once("error", reject);
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A run's exit status and output, for an assertion message. */
export const showRun = (r: ControllerRun): string =>
  `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
