/** The load-balancer settings: lbKind, lbHosts' priorities, the VIP and VRRP, Nginx's mode and image. */
import type {
  HaproxyLbConfig,
  LbHostConfig,
  NginxLbConfig,
  LoadBalancerConfig,
  RawClusterConfig,
} from "../config";
import { Cidr, cidrContains, networkOf, parseCidr, reservedInSubnet } from "./address";
import { show } from "./display";
import { imageReferenceProblem } from "./docker";
import {
  isAbsent,
  quoteAll,
  readBool,
  readEnum,
  readInt,
  readRequiredString,
  readString,
  reportMissing,
} from "./fields";
import { HostRef, LbHostList } from "./hostsSection";
import { interfaceNameProblem } from "./linuxInterface";
import { Problems } from "./problems";
import { shellSafetyProblem } from "./shell";

export const LB_KINDS = ["haproxy", "nginx"] as const;
export const NGINX_MODES = ["native", "docker"] as const;

export interface LoadBalancerDefaults {
  vrrpInterface: string;
  vrrpRouterId: number;
  vrrpUnicast: boolean;
  vrrpNopreempt: boolean;
  nginxMode: NginxLbConfig["mode"];
  nginxImage: string;
}

const VRRP_SETTINGS = ["vrrpInterface", "vrrpRouterId", "vrrpUnicast", "vrrpNopreempt"] as const;
const NGINX_ONLY = ["nginxMode", "nginxImage"] as const;
const VIP_EXAMPLE = "10.10.10.100/24";

/** Settings of the other kind are errors, not silently ignored: the user expects them to act. */
function rejectSettings(
  p: Problems,
  raw: RawClusterConfig,
  keys: readonly (keyof RawClusterConfig)[],
  kind: string,
  why = "",
): void {
  for (const key of keys) {
    if (!isAbsent(raw[key])) p.error(key, `applies only to lbKind ${kind}${why}`);
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

function readHaproxy(
  p: Problems,
  raw: RawClusterConfig,
  hosts: LbHostList,
  allRefs: HostRef[],
  defaults: LoadBalancerDefaults,
): HaproxyLbConfig | undefined {
  rejectSettings(p, raw, NGINX_ONLY, "nginx");
  checkHostCount(p, hosts, "haproxy", 2);
  const lbHosts = readPriorities(p, hosts);
  const vip = readVip(p, raw.vip, allRefs);
  if (vip) checkVipSubnet(p, vip, hosts.refs);
  const iface = readInterface(p, raw.vrrpInterface) ?? defaults.vrrpInterface;
  const virtualRouterId =
    readInt(p, "vrrpRouterId", raw.vrrpRouterId, 1, 255) ?? defaults.vrrpRouterId;
  const unicast = readBool(p, "vrrpUnicast", raw.vrrpUnicast) ?? defaults.vrrpUnicast;
  const nopreempt = readBool(p, "vrrpNopreempt", raw.vrrpNopreempt) ?? defaults.vrrpNopreempt;
  if (!vip) return undefined;
  return {
    kind: "haproxy",
    vip: vip.address.text,
    vipPrefixLength: vip.prefixLength,
    interface: iface,
    virtualRouterId,
    unicast,
    nopreempt,
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
  hosts: LbHostList,
  defaults: LoadBalancerDefaults,
): NginxLbConfig {
  const noVip = " (nginx has no virtual IP; agents join through the nginx host's address)";
  rejectSettings(p, raw, ["vip"], "haproxy", noVip);
  rejectSettings(p, raw, VRRP_SETTINGS, "haproxy");
  checkHostCount(p, hosts, "nginx", 1);
  for (const entry of hosts.entries) {
    if (!isAbsent(entry.priority))
      p.error(`${entry.path}.priority`, "applies only to lbKind haproxy");
  }
  const mode = readEnum(p, "nginxMode", raw.nginxMode, NGINX_MODES) ?? defaults.nginxMode;
  const image = readImage(p, raw.nginxImage);
  if (image !== undefined && mode !== "docker") {
    p.error("nginxImage", 'applies only to nginxMode "docker"');
  }
  return {
    kind: "nginx",
    mode,
    image: image ?? defaults.nginxImage,
    // An Nginx host has no VRRP priority; 0 marks it unused.
    hosts: hosts.entries.flatMap((e) => (e.host ? [{ ...e.host, priority: 0 }] : [])),
  };
}

export function readLoadBalancerSection(
  p: Problems,
  raw: RawClusterConfig,
  hosts: LbHostList,
  allRefs: HostRef[],
  defaults: LoadBalancerDefaults,
): LoadBalancerConfig | undefined {
  if (isAbsent(raw.lbKind)) {
    reportMissing(p, "lbKind", `one of ${quoteAll(LB_KINDS)}`);
    return undefined;
  }
  const kind = readEnum(p, "lbKind", raw.lbKind, LB_KINDS);
  if (kind === "haproxy") return readHaproxy(p, raw, hosts, allRefs, defaults);
  if (kind === "nginx") return readNginx(p, raw, hosts, defaults);
  return undefined;
}
