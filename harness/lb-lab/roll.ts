/**
 * VRRP settings changed on a live pair, one host at a time: reproductions of the program's two
 * roll procedures (the real steps are in components/lb/lbScripts.ts).
 *
 * - "plain" (what the program did before): lb-1 gets the new keepalived.conf and a reload
 *   (SIGHUP); `gapMs` later (the program's lb-2 steps wait for lb-1's and probe it first) lb-2 the
 *   same.
 * - "hold", when the adverts of the old and new settings are incompatible (a VRRP version change,
 *   or an interval change under VRRPv2, where both ends must agree): lb-1's KeepAlived is stopped
 *   gracefully (SIGTERM: a holder hands the VIP over with a priority-0 advert), gets the new file
 *   and stays stopped; `gapMs` later lb-2 gets the new file and a reload; then lb-1 starts with
 *   it. For a compatible change "hold" is the same as "plain".
 */
import * as fs from "fs";
import { CONFIG_SETS, ConfigSet, VrrpMode } from "./configs/config-set";
import { oursKeepalivedConf } from "./configs/ours";
import { LbHostName } from "./constants";
import { LbTier } from "./lb-tier";
import { sleep } from "../shared/sh";

export type RollProcedure = "plain" | "hold";
export type RollFault = "vrrp-roll-version" | "vrrp-roll-interval";

export interface VrrpParams {
  version: 2 | 3;
  advertMs: number;
}

/** The VRRP version and advert interval a keepalived.conf asks for (KeepAlived's defaults: 2, 1 s). */
export function vrrpParams(conf: string): VrrpParams {
  const version = /^\s*vrrp_version\s+(\d)/m.exec(conf)?.[1];
  const advert = /^\s*advert_int\s+([\d.]+)/m.exec(conf)?.[1];
  return {
    version: version === "3" ? 3 : 2,
    advertMs: advert === undefined ? 1000 : Math.round(Number(advert) * 1000),
  };
}

/** Whether a host with `a` and one with `b` understand each other's adverts. */
export function compatible(a: VrrpParams, b: VrrpParams): boolean {
  if (a.version !== b.version) return false;
  // VRRPv3 backups adopt the master's interval from its adverts; VRRPv2 drops a mismatched one.
  return a.version === 3 || a.advertMs === b.advertMs;
}

/** "ours" with another advert interval: the renderer's own output for that interval. */
function oursWithInterval(advertIntervalMs: number): ConfigSet {
  return {
    ...CONFIG_SETS.ours,
    keepalivedConf: (host: LbHostName, vrrp: VrrpMode) =>
      oursKeepalivedConf(host, vrrp === "unicast", advertIntervalMs),
  };
}

/** The configuration the pair runs before the roll, and the one rolled to. */
export function rollEnds(fault: RollFault): { from: ConfigSet; to: ConfigSet } {
  if (fault === "vrrp-roll-version") return { from: CONFIG_SETS.previous, to: CONFIG_SETS.ours };
  return { from: oursWithInterval(250), to: oursWithInterval(500) };
}

export interface RollStep {
  host: LbHostName;
  action: "stop" | "write" | "reload" | "start";
  /** When the step was taken. */
  at: number;
}

/** Rolls `to`'s keepalived.conf over the running pair by the procedure; returns the steps taken. */
export async function rollKeepalived(
  tier: LbTier,
  to: ConfigSet,
  vrrp: VrrpMode,
  procedure: RollProcedure,
  gapMs: number,
): Promise<{ steps: RollStep[]; hold: boolean }> {
  const steps: RollStep[] = [];
  const step = (host: LbHostName, action: RollStep["action"]) =>
    steps.push({ host, action, at: Date.now() });
  const before = vrrpParams(
    fs.readFileSync(tier.hosts["lb-1"].hostPath("/etc/keepalived/keepalived.conf"), "utf8"),
  );
  const after = vrrpParams(to.keepalivedConf("lb-1", vrrp));
  const hold = procedure === "hold" && !compatible(before, after);
  const lb1 = tier.hosts["lb-1"];
  const lb2 = tier.hosts["lb-2"];
  if (hold) {
    step("lb-1", "stop");
    await lb1.stopDaemon("keepalived");
    step("lb-1", "write");
    tier.writeKeepalived("lb-1", to, vrrp);
  } else {
    step("lb-1", "write");
    tier.writeKeepalived("lb-1", to, vrrp);
    step("lb-1", "reload");
    lb1.reloadDaemon("keepalived");
  }
  await sleep(gapMs);
  step("lb-2", "write");
  tier.writeKeepalived("lb-2", to, vrrp);
  step("lb-2", "reload");
  lb2.reloadDaemon("keepalived");
  if (hold) {
    step("lb-1", "start");
    lb1.startDaemon("keepalived");
  }
  return { steps, hold };
}
