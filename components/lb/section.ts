/** The load-balancer section: lbKind, then the chosen kind's settings. */
import { isAbsent, quoteAll, readBool, readEnum, readInt, reportMissing } from "../config/fields";
import type { RawClusterConfig } from "../config/keys";
import { Problems } from "../config/problems";
import type { LoadBalancerConfig } from "../config/types";
import type { HostRef } from "../host/hostEntry";
import { readAdvertInterval, readHaproxyPair, readInterface } from "./haproxy-pair/section";
import { readImage, readNginx } from "./nginx/section";
import { KindSettings, LbHostList } from "./settings";

export const LB_KINDS = ["haproxy", "nginx"] as const;
export const NGINX_MODES = ["native", "docker"] as const;

export function readLoadBalancerSection(
  p: Problems,
  raw: RawClusterConfig,
  hosts: LbHostList,
  allRefs: HostRef[],
): LoadBalancerConfig | undefined {
  let kind: (typeof LB_KINDS)[number] | undefined;
  if (isAbsent(raw.lbKind)) reportMissing(p, "lbKind", `one of ${quoteAll(LB_KINDS)}`);
  else kind = readEnum(p, "lbKind", raw.lbKind, LB_KINDS);
  const settings: KindSettings = {
    vrrpInterface: readInterface(p, raw.vrrpInterface),
    vrrpRouterId: readInt(p, "vrrpRouterId", raw.vrrpRouterId, 1, 255),
    vrrpUnicast: readBool(p, "vrrpUnicast", raw.vrrpUnicast),
    vrrpNopreempt: readBool(p, "vrrpNopreempt", raw.vrrpNopreempt),
    vrrpAdvertIntervalMs: readAdvertInterval(p, raw.vrrpAdvertIntervalMs),
    nginxMode: readEnum(p, "nginxMode", raw.nginxMode, NGINX_MODES),
    nginxImage: readImage(p, raw.nginxImage),
  };
  if (kind === "haproxy") return readHaproxyPair(p, raw.vip, settings, hosts, allRefs);
  if (kind === "nginx") return readNginx(p, raw.vip, settings, hosts, allRefs);
  return undefined;
}
