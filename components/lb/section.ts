/** The load-balancer settings: lbKind, lbHosts' priorities, the VIP and VRRP, Nginx's mode and image. */
import type {
  HaproxyLbConfig,
  LbHostConfig,
  NginxLbConfig,
  LoadBalancerConfig,
  RawClusterConfig,
} from "../cluster/validate";
import {
  Cidr,
  cidrContains,
  clusterAddressProblem,
  networkOf,
  parseCidr,
  reservedInSubnet,
} from "../config/address";
import { show } from "../config/display";
import { imageReferenceProblem } from "./nginx/imageReference";
import {
  isAbsent,
  quoteAll,
  readBool,
  readEnum,
  readInt,
  readRequiredString,
  readString,
  reportMissing,
} from "../config/fields";
import { HostRef, LbHostList } from "../cluster/hostsSection";
import {
  VRRP_ADVERT_INTERVAL_FLOOR_MS,
  VRRP_ADVERT_INTERVAL_MAX_MS,
  advertIntervalProblem,
} from "./haproxy-pair/keepalivedConf";
import { interfaceNameProblem } from "./haproxy-pair/linuxInterface";
import { Problems } from "../config/problems";
import { shellSafetyProblem } from "../config/shellWord";

export const LB_KINDS = ["haproxy", "nginx"] as const;
export const NGINX_MODES = ["native", "docker"] as const;

export interface LoadBalancerDefaults {
  vrrpInterface: string;
  vrrpRouterId: number;
  vrrpUnicast: boolean;
  vrrpNopreempt: boolean;
  vrrpAdvertIntervalMs: number;
  nginxMode: NginxLbConfig["mode"];
  nginxImage: string;
}

const VIP_EXAMPLE = "10.10.10.100/24";

/** The kind-specific scalar settings, each read and type-checked whatever the kind. */
type KindSettings = { [K in keyof LoadBalancerDefaults]?: LoadBalancerDefaults[K] };
const VRRP_SETTINGS = [
  "vrrpInterface",
  "vrrpRouterId",
  "vrrpUnicast",
  "vrrpNopreempt",
  "vrrpAdvertIntervalMs",
] as const;
const NGINX_SETTINGS = ["nginxMode", "nginxImage"] as const;

/**
 * A setting of the other kind is an error rather than silently ignored, since the user expects it
 * to act. Its default passes: Pulumi.yaml declares project defaults, so every stack receives them.
 */
function rejectOtherKind(
  p: Problems,
  settings: KindSettings,
  keys: readonly (keyof LoadBalancerDefaults)[],
  defaults: LoadBalancerDefaults,
  kind: string,
): void {
  for (const key of keys) {
    const value = settings[key];
    if (value !== undefined && value !== defaults[key]) {
      p.error(key, `applies only to lbKind ${kind}`);
    }
  }
}

function checkHostCount(p: Problems, hosts: LbHostList, kind: string, want: number): void {
  if (hosts.count !== want) {
    const words = ["no hosts", "exactly one host", "exactly two hosts"];
    p.error("lbHosts", `${kind} takes ${words[want]}, got ${hosts.count}`);
  }
}

function readPriorities(p: Problems, hosts: LbHostList): LbHostConfig[] {
  const result: LbHostConfig[] = [];
  const seen = new Map<number, string>();
  for (const entry of hosts.entries) {
    const path = `${entry.path}.priority`;
    if (isAbsent(entry.priority)) {
      reportMissing(p, path, "a VRRP priority for haproxy, an integer from 1 to 254");
      continue;
    }
    // 255 is reserved for the address owner (RFC 5798), which a VIP holder is not.
    const priority = readInt(p, path, entry.priority, 1, 254);
    if (priority === undefined) continue;
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

function readVip(p: Problems, value: unknown, refs: HostRef[]): Cidr | undefined {
  const path = "vip";
  const text = readRequiredString(p, path, value, `a virtual IP in CIDR form, e.g. ${VIP_EXAMPLE}`);
  if (text === undefined) return undefined;
  const vip = parseCidr(text);
  if (typeof vip === "string") {
    p.error(path, `${show(text, path)} ${vip}`);
    return undefined;
  }
  const unreachable = clusterAddressProblem(vip.address);
  if (unreachable) {
    p.error(path, `${show(text, path)} ${unreachable}`);
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

function checkVipSubnet(p: Problems, vip: Cidr, lbRefs: HostRef[]): void {
  for (const ref of lbRefs) {
    if (ref.address && !cidrContains(vip, ref.address)) {
      p.error(
        "vip",
        `${ref.path}.address ${ref.address.text} is outside the VIP's subnet ${networkOf(vip)}; ` +
          "KeepAlived can only raise the VIP on an interface in that subnet",
      );
    }
  }
}

function readInterface(p: Problems, value: unknown): string | undefined {
  const path = "vrrpInterface";
  const name = readString(p, path, value, "a network interface name");
  const problem = name === undefined ? undefined : interfaceNameProblem(name);
  if (problem) p.error(path, `${show(name, path)} is not a valid interface name: ${problem}`);
  return problem ? undefined : name;
}

/** Below the floor a starved host's peer may take the VIP (see VRRP_ADVERT_INTERVAL_FLOOR_MS). */
function readAdvertInterval(p: Problems, value: unknown): number | undefined {
  const path = "vrrpAdvertIntervalMs";
  const ms = readInt(p, path, value, VRRP_ADVERT_INTERVAL_FLOOR_MS, VRRP_ADVERT_INTERVAL_MAX_MS);
  const problem = ms === undefined ? undefined : advertIntervalProblem(ms);
  if (problem) p.error(path, problem);
  return problem ? undefined : ms;
}

function readHaproxy(
  p: Problems,
  raw: RawClusterConfig,
  settings: KindSettings,
  hosts: LbHostList,
  allRefs: HostRef[],
  defaults: LoadBalancerDefaults,
): HaproxyLbConfig | undefined {
  rejectOtherKind(p, settings, NGINX_SETTINGS, defaults, "nginx");
  checkHostCount(p, hosts, "haproxy", 2);
  const lbHosts = readPriorities(p, hosts);
  const vip = readVip(p, raw.vip, allRefs);
  if (vip) checkVipSubnet(p, vip, hosts.refs);
  if (!vip) return undefined;
  return {
    kind: "haproxy",
    vip: vip.address.text,
    vipPrefixLength: vip.prefixLength,
    interface: settings.vrrpInterface ?? defaults.vrrpInterface,
    virtualRouterId: settings.vrrpRouterId ?? defaults.vrrpRouterId,
    unicast: settings.vrrpUnicast ?? defaults.vrrpUnicast,
    nopreempt: settings.vrrpNopreempt ?? defaults.vrrpNopreempt,
    advertIntervalMs: settings.vrrpAdvertIntervalMs ?? defaults.vrrpAdvertIntervalMs,
    hosts: lbHosts,
  };
}

function readImage(p: Problems, value: unknown): string | undefined {
  const path = "nginxImage";
  const image = readString(p, path, value, "a Docker image reference such as nginx:stable");
  if (image === undefined) return undefined;
  const unsafe = shellSafetyProblem(image, path);
  if (unsafe) {
    p.error(path, unsafe);
    return undefined;
  }
  const problem = imageReferenceProblem(image);
  if (problem) {
    p.error(path, `${show(image, path)} ${problem}`);
    return undefined;
  }
  return image;
}

function readNginx(
  p: Problems,
  raw: RawClusterConfig,
  settings: KindSettings,
  hosts: LbHostList,
  defaults: LoadBalancerDefaults,
): NginxLbConfig {
  if (!isAbsent(raw.vip)) {
    p.error(
      "vip",
      "applies only to lbKind haproxy (nginx has no virtual IP; agents join through the nginx host's address)",
    );
  }
  rejectOtherKind(p, settings, VRRP_SETTINGS, defaults, "haproxy");
  checkHostCount(p, hosts, "nginx", 1);
  for (const entry of hosts.entries) {
    if (!isAbsent(entry.priority)) {
      p.error(`${entry.path}.priority`, "applies only to lbKind haproxy");
    }
  }
  const mode = settings.nginxMode ?? defaults.nginxMode;
  const image = settings.nginxImage ?? defaults.nginxImage;
  if (mode !== "docker" && image !== defaults.nginxImage) {
    p.error("nginxImage", 'applies only to nginxMode "docker"');
  }
  // An Nginx host has no VRRP priority; 0 marks it unused.
  const lbHosts = hosts.entries.flatMap((e) => (e.host ? [{ ...e.host, priority: 0 }] : []));
  return { kind: "nginx", mode, image, hosts: lbHosts };
}

export function readLoadBalancerSection(
  p: Problems,
  raw: RawClusterConfig,
  hosts: LbHostList,
  allRefs: HostRef[],
  defaults: LoadBalancerDefaults,
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
  if (kind === "haproxy") return readHaproxy(p, raw, settings, hosts, allRefs, defaults);
  if (kind === "nginx") return readNginx(p, raw, settings, hosts, defaults);
  return undefined;
}
