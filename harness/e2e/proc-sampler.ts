/**
 * Samples every process's argument list and environment on this machine (every ~50 ms) while a
 * run goes on, keeping each distinct one, so a test can look for secrets afterwards (the secrets
 * a run generates are known only at its end). Bounded: stops itself after `maxMs`.
 */
import * as fs from "fs";

export class ProcSampler {
  readonly cmdlines = new Set<string>();
  readonly environs = new Set<string>();
  samples = 0;
  private timer?: NodeJS.Timeout;
  private stopAt = 0;

  start(everyMs = 50, maxMs = 600_000): void {
    this.stopAt = Date.now() + maxMs;
    const tick = () => {
      this.sampleOnce();
      if (Date.now() < this.stopAt) this.timer = setTimeout(tick, everyMs);
    };
    tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  sampleOnce(): void {
    this.samples++;
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      for (const [file, into] of [
        ["cmdline", this.cmdlines],
        ["environ", this.environs],
      ] as const) {
        try {
          const text = fs.readFileSync(`/proc/${entry}/${file}`, "latin1");
          if (text) into.add(text);
        } catch {
          // exited while sampling
        }
      }
    }
  }

  /** Sampled argument lists or environments that contain `secret`. */
  containing(secret: string): string[] {
    return [...this.cmdlines, ...this.environs].filter((t) => t.includes(secret));
  }
}
