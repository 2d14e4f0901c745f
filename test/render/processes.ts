/** Long-running daemons and stand-ins started by render tests inside their own namespaces. */
import { ChildProcess, spawn } from "child_process";

/** Every process started through it, so `after` hooks can stop them all, and their output. */
export class ProcessGroup {
  private readonly children: ChildProcess[] = [];
  private readonly outputs = new Map<ChildProcess, string>();

  /**
   * Runs argv inside `netns` (`ip netns exec` execs it, so the child's pid is the program's).
   * Resolves once the output matches `ready`, or at once without it; rejects if it exits first
   * or is not ready within 10 s.
   */
  start(netns: string, argv: string[], ready?: RegExp): Promise<ChildProcess> {
    const child = spawn("ip", ["netns", "exec", netns, ...argv], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.children.push(child);
    this.outputs.set(child, "");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${argv[0]} not ready in 10 s: ${this.output(child)}`)),
        10_000,
      );
      const onData = (chunk: Buffer) => {
        this.outputs.set(child, this.output(child) + chunk.toString());
        if (ready?.test(this.output(child))) {
          clearTimeout(timer);
          resolve(child);
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${argv[0]} exited (${code ?? signal}): ${this.output(child)}`));
      });
      if (!ready) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  }

  /** What the child has written to stdout and stderr so far. */
  output(child: ChildProcess): string {
    return this.outputs.get(child) ?? "";
  }

  /** Stops every child (SIGTERM, then SIGKILL after 5 s) and waits until each has exited. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            // keepalived's VRRP child outlives a SIGKILLed parent; SIGTERM lets it clean up.
            const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
            child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill("SIGCONT");
            child.kill("SIGTERM");
          }),
      ),
    );
  }
}

/** Polls `probe` every `intervalMs` until it returns true; throws after `timeoutMs`. */
export async function waitFor(
  what: () => string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await probe()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`gave up after ${timeoutMs} ms waiting for ${what()}`);
}
