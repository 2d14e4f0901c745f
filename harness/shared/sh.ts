/** Runs a command without a shell and returns its stdout; errors carry the command and its stderr. */
import { execFile } from "child_process";

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /** Resolve with "" instead of rejecting when the command fails. */
  allowFailure?: boolean;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && !opts.allowFailure) {
          reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message} ${stderr}`.trim()));
          return;
        }
        resolve(err ? "" : stdout);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `everyMs` until it returns true; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
