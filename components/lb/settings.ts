/** What both load-balancer kinds' sections share: the kind-specific settings and their defaults. */
import { defaultOf } from "../config/keys";
import { isAbsent, readInt, reportMissing } from "../config/fields";
import { Problems } from "../config/problems";
import type { LbHostConfig, NginxLbConfig } from "../config/types";
import type { HostRef } from "../host/hostEntry";

/** The kind-specific scalar settings, each read and type-checked whatever the kind. */
export interface KindSettings {
  vrrpInterface?: string;
  vrrpRouterId?: number;
  vrrpUnicast?: boolean;
  vrrpNopreempt?: boolean;
  vrrpAdvertIntervalMs?: number;
  nginxMode?: NginxLbConfig["mode"];
  nginxImage?: string;
}

export const VRRP_SETTINGS = [
  "vrrpInterface",
  "vrrpRouterId",
  "vrrpUnicast",
  "vrrpNopreempt",
  "vrrpAdvertIntervalMs",
] as const;
export const NGINX_SETTINGS = ["nginxMode", "nginxImage"] as const;

/** An lbHosts entry: its host fields (when valid) and its priority, which the kind judges. */
export interface LbHostEntry {
  path: string;
  host?: Omit<LbHostConfig, "priority">;
  priority: unknown;
}

export interface LbHostList {
  count: number;
  entries: LbHostEntry[];
  refs: HostRef[];
}

/**
 * A setting of the other kind is an error rather than silently ignored, since the user expects it
 * to act. Its default passes: Pulumi.yaml declares project defaults, so every stack receives them.
 */
export function rejectOtherKind(
  p: Problems,
  settings: KindSettings,
  keys: readonly (keyof KindSettings)[],
  kind: string,
): void {
  for (const key of keys) {
    const value = settings[key];
    if (value !== undefined && value !== defaultOf(key)) {
      p.error(key, `applies only to lbKind ${kind}`);
    }
  }
}

export function checkHostCount(p: Problems, hosts: LbHostList, kind: string, want: number): void {
  if (hosts.count !== want) {
    const words = ["no hosts", "exactly one host", "exactly two hosts"];
    p.error("lbHosts", `${kind} takes ${words[want]}, got ${hosts.count}`);
  }
}

/** Reads one host's priority field as an integer in range, reporting a missing one. */
export function readPriority(p: Problems, entry: LbHostEntry): number | undefined {
  const path = `${entry.path}.priority`;
  if (isAbsent(entry.priority)) {
    reportMissing(p, path, "a VRRP priority for haproxy, an integer from 1 to 254");
    return undefined;
  }
  // 255 is reserved for the address owner (RFC 5798), which a VIP holder is not.
  return readInt(p, path, entry.priority, 1, 254);
}
