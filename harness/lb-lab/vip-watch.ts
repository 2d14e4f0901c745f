/** Samples which LB hosts hold the VIP (`ip -n <ns> addr`) every 50 ms, from outside the hosts. */
import { LB_HOSTS, LbHostName, VIP } from "./constants";
import { sleep } from "../shared/sh";
import { hostAddresses } from "./topology";

/** [epoch ms, lb-1 holds VIP, lb-2 holds VIP] */
export type VipSample = [number, boolean, boolean];

export async function vipHolders(): Promise<LbHostName[]> {
  const held = await Promise.all(LB_HOSTS.map(async (h) => (await hostAddresses(h)).includes(VIP)));
  return LB_HOSTS.filter((_, i) => held[i]);
}

export class VipWatch {
  readonly samples: VipSample[] = [];
  private running = false;
  private loop?: Promise<void>;

  /** Starts sampling; stops by itself after maxMs even if stop() is never called. */
  start(everyMs = 50, maxMs = 120_000): void {
    this.running = true;
    const deadline = Date.now() + maxMs;
    this.loop = (async () => {
      while (this.running && Date.now() < deadline) {
        const t = Date.now();
        const holders = await vipHolders();
        this.samples.push([t, holders.includes("lb-1"), holders.includes("lb-2")]);
        await sleep(Math.max(0, everyMs - (Date.now() - t)));
      }
    })();
  }

  async stopAfter(ms: number): Promise<VipSample[]> {
    await sleep(ms);
    return this.stop();
  }

  async stop(): Promise<VipSample[]> {
    this.running = false;
    await this.loop;
    return this.samples;
  }
}

/** Samples where both LB hosts held the VIP at once. */
export function splitBrainSamples(samples: VipSample[]): number {
  return samples.filter(([, a, b]) => a && b).length;
}

/** First sample at or after `from` where `host` holds the VIP, or undefined. */
export function firstHeldBy(samples: VipSample[], host: LbHostName, from: number) {
  const i = host === "lb-1" ? 1 : 2;
  return samples.find((s) => s[0] >= from && s[i]);
}
