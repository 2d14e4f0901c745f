/** The HAProxy + KeepAlived pair's settings: the two hosts' priorities, the VIP and VRRP. */
import {
  Cidr,
  cidrContains,
  clusterAddressProblem,
  networkOf,
  parseCidr,
  reservedInSubnet,
} from "../../config/address";
import { show } from "../../config/display";
import { readInt, readRequiredString, readString } from "../../config/fields";
import { defaultOf } from "../../config/keys";
import { Problems } from "../../config/problems";
import type { HaproxyLbConfig, LbHostConfig } from "../../config/types";
import type { HostRef } from "../../host/hostEntry";
import {
  KindSettings,
  LbHostList,
  NGINX_SETTINGS,
  checkHostCount,
  readPriority,
  rejectOtherKind,
} from "../settings";
import { interfaceNameProblem, vrrpInterfaceProblem } from "./linuxInterface";

const VIP_EXAMPLE = "10.10.10.100/24";

/**
 * Shorter advertisement intervals are refused: the LB lab's starvation run (npm run bench:lb,
 * fault "starvation", config ours-floor) shows no spurious move at this value with the host's CPU
 * taken by busy loops; below it nothing was measured.
 */
export const VRRP_ADVERT_INTERVAL_FLOOR_MS = 100;
/** VRRPv3 carries the interval in centiseconds in 12 bits. */
export const VRRP_ADVERT_INTERVAL_MAX_MS = 40_950;

/** Why an advertisement interval (ms) is refused, or undefined. */
export function advertIntervalProblem(ms: number): string | undefined {
  if (!Number.isInteger(ms) || ms % 10 !== 0) {
    return `${ms} must be a whole number of milliseconds in steps of 10 (VRRPv3 counts centiseconds)`;
  }
  if (ms < VRRP_ADVERT_INTERVAL_FLOOR_MS || ms > VRRP_ADVERT_INTERVAL_MAX_MS) {
    return `${ms} must be in ${VRRP_ADVERT_INTERVAL_FLOOR_MS}..${VRRP_ADVERT_INTERVAL_MAX_MS} (below ${VRRP_ADVERT_INTERVAL_FLOOR_MS} ms a starved host's peer may take the VIP)`;
  }
  return undefined;
}

export function readInterface(p: Problems, value: unknown): string | undefined {
  const path = "vrrpInterface";
  const name = readString(p, path, value, "a network interface name");
  if (name === undefined) return undefined;
  const carrier = vrrpInterfaceProblem(name);
  const problem = interfaceNameProblem(name);
  if (carrier) p.error(path, carrier);
  else if (problem) p.error(path, `${show(name, path)} is not a valid interface name: ${problem}`);
  return carrier || problem ? undefined : name;
}

/** Below the floor a starved host's peer may take the VIP (see VRRP_ADVERT_INTERVAL_FLOOR_MS). */
export function readAdvertInterval(p: Problems, value: unknown): number | undefined {
  const path = "vrrpAdvertIntervalMs";
  const ms = readInt(p, path, value, VRRP_ADVERT_INTERVAL_FLOOR_MS, VRRP_ADVERT_INTERVAL_MAX_MS);
  const problem = ms === undefined ? undefined : advertIntervalProblem(ms);
  if (problem) p.error(path, problem);
  return problem ? undefined : ms;
}

function readPriorities(p: Problems, hosts: LbHostList): LbHostConfig[] {
  const result: LbHostConfig[] = [];
  const seen = new Map<number, string>();
  for (const entry of hosts.entries) {
    const priority = readPriority(p, entry);
    if (priority === undefined) continue;
    const path = `${entry.path}.priority`;
    const other = seen.get(priority);
    if (other) {
      p.error(path, `${priority} equals ${other}; the two priorities must differ`);
      continue;
    }
    seen.set(priority, path);
    if (entry.host) result.push({ ...entry.host, priority });
  }
  return result;
}

/** The two LB hosts and the VIP need three usable addresses: at most a /29 (IPv4) or /126 (IPv6). */
const VIP_PREFIX = {
  ipv4: { min: 8, max: 29, example: 24 },
  ipv6: { min: 8, max: 126, example: 64 },
} as const;

/** Why the VIP's prefix length makes no subnet for the LB hosts and the VIP, or undefined. */
function vipPrefixProblem(vip: Cidr): string | undefined {
  const { min, max, example } = VIP_PREFIX[vip.address.parsed.kind()];
  const bounds = `from /${min} to /${max} for ${vip.address.parsed.kind() === "ipv4" ? "IPv4" : "IPv6"}`;
  const fix = `give the VIP the prefix length of the LB hosts' network, e.g. ${vip.address.text}/${example}`;
  if (vip.prefixLength > max) {
    return `has prefix length /${vip.prefixLength}, a subnet with no room for the two LB hosts beside the VIP (${bounds}); ${fix}`;
  }
  if (vip.prefixLength < min) {
    return `has prefix length /${vip.prefixLength}, wider than any one network (${bounds}): KeepAlived would route all of ${networkOf(vip)} through vrrpInterface; ${fix}`;
  }
  return undefined;
}

function readVip(p: Problems, value: unknown, refs: HostRef[]): Cidr | undefined {
  const path = "vip";
  const text = readRequiredString(p, path, value, `a virtual IP in CIDR form, e.g. ${VIP_EXAMPLE}`);
  if (text === undefined) return undefined;
  const vip = parseCidr(text);
  if (typeof vip === "string") {
    p.error(path, `${show(text, path)} ${vip}`);
    return undefined;
  }
  const unusable = clusterAddressProblem(vip.address) ?? vipPrefixProblem(vip);
  if (unusable) {
    p.error(path, `${show(text, path)} ${unusable}`);
    return undefined;
  }
  const reserved = reservedInSubnet(vip);
  if (reserved) p.error(path, `${vip.address.text} is ${reserved}`);
  for (const ref of refs) {
    if (ref.address?.canonical === vip.address.canonical) {
      p.error(
        path,
        `${vip.address.text} is also ${ref.path}.address; the VIP must be an address no host has`,
      );
    }
  }
  return reserved ? undefined : vip;
}

/** The LB hosts must be in the VIP's subnet, and no host on it may have its reserved addresses. */
function checkVipSubnet(p: Problems, vip: Cidr, lbRefs: HostRef[], allRefs: HostRef[]): void {
  for (const ref of lbRefs) {
    if (ref.address && !cidrContains(vip, ref.address)) {
      p.error(
        "vip",
        `${ref.path}.address ${ref.address.text} is outside the VIP's subnet ${networkOf(vip)}; ` +
          "KeepAlived can only raise the VIP on an interface in that subnet",
      );
    }
  }
  for (const ref of allRefs) {
    const reserved = ref.address && reservedInSubnet(vip, ref.address);
    if (ref.address && reserved) {
      p.error(
        `${ref.path}.address`,
        `${ref.address.text} is ${reserved}; no host on the VIP's subnet can have it: ` +
          "correct the address, or the prefix length of vip",
      );
    }
  }
}

export function readHaproxyPair(
  p: Problems,
  vipValue: unknown,
  settings: KindSettings,
  hosts: LbHostList,
  allRefs: HostRef[],
): HaproxyLbConfig | undefined {
  rejectOtherKind(p, settings, NGINX_SETTINGS, "nginx");
  checkHostCount(p, hosts, "haproxy", 2);
  const lbHosts = readPriorities(p, hosts);
  const vip = readVip(p, vipValue, allRefs);
  if (vip) checkVipSubnet(p, vip, hosts.refs, allRefs);
  if (!vip) return undefined;
  return {
    kind: "haproxy",
    vip: vip.address.text,
    vipPrefixLength: vip.prefixLength,
    interface: settings.vrrpInterface ?? defaultOf("vrrpInterface"),
    virtualRouterId: settings.vrrpRouterId ?? defaultOf("vrrpRouterId"),
    unicast: settings.vrrpUnicast ?? defaultOf("vrrpUnicast"),
    nopreempt: settings.vrrpNopreempt ?? defaultOf("vrrpNopreempt"),
    advertIntervalMs: settings.vrrpAdvertIntervalMs ?? defaultOf("vrrpAdvertIntervalMs"),
    hosts: lbHosts,
  };
}
