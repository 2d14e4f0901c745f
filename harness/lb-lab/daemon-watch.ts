/** Samples a set of pids (e.g. KeepAlived's VRRP process on one host) every few ms, bounded in time. */
import { sleep } from "../shared/sh";

/** [epoch ms, pids running] */
export type PidSample = [number, number[]];

export class PidWatch {
  readonly samples: PidSample[] = [];
  private running = false;
  private loop?: Promise<void>;

  constructor(private readonly read: () => number[]) {}

  /** Starts sampling; stops by itself after maxMs even if stop() is never called. */
  start(everyMs: number, maxMs: number): void {
    this.running = true;
    const deadline = Date.now() + maxMs;
    this.loop = (async () => {
      while (this.running && Date.now() < deadline) {
        const t = Date.now();
        this.samples.push([t, this.read()]);
        await sleep(Math.max(0, everyMs - (Date.now() - t)));
      }
    })();
  }

  async stop(): Promise<PidSample[]> {
    this.running = false;
    await this.loop;
    return this.samples;
  }
}
