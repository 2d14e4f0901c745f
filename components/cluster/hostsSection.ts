/** The host lists: servers, agents and lbHosts, and the checks that span them. */
import type { HostConfig, NodeConfig } from "./validate";
import { IpAddress, clusterAddressProblem, parseIpAddress } from "../config/address";
import { childPath, indexPath, show } from "../config/display";
import { RawObject, isAbsent, readArray, readObject, readRequiredString } from "../config/fields";
import {
  dnsLabelProblem,
  kubeletLabelProblem,
  labelKeyProblem,
  labelValueProblem,
  parseTaint,
} from "../k3s/kubernetes";
import { Problems } from "../config/problems";
import { readHostKey } from "../host/sshSection";

const NODE_KEYS = ["name", "address", "hostKey", "labels", "taints"] as const;
const LB_HOST_KEYS = ["name", "address", "priority", "hostKey"] as const;

/** What the cross-host checks (duplicates, VIP) need to know about one host. */
export interface HostRef {
  path: string;
  name?: string;
  address?: IpAddress;
  /** Whether the entry sets hostKey (valid or not: an invalid key is reported on its own). */
  pinsHostKey: boolean;
}

export interface NodeList {
  /** How many entries the list had, valid or not. */
  count: number;
  /** The entries that validated. */
  nodes: NodeConfig[];
  refs: HostRef[];
}

export interface LbHostEntry {
  path: string;
  /** Set when name, address and hostKey validated. */
  host?: HostConfig;
  /** Checked by the load-balancer section, which knows whether a priority applies. */
  priority: unknown;
}

export interface LbHostList {
  count: number;
  entries: LbHostEntry[];
  refs: HostRef[];
}

function readName(p: Problems, path: string, value: unknown): string | undefined {
  const name = readRequiredString(p, path, value, "an RFC 1123 label such as server-1");
  const problem = name === undefined ? undefined : dnsLabelProblem(name);
  if (problem)
    p.error(path, `${show(name, path)} is not a valid node name (RFC 1123 label): ${problem}`);
  return problem ? undefined : name;
}

function readAddress(p: Problems, path: string, value: unknown): IpAddress | undefined {
  const text = readRequiredString(p, path, value, "an IPv4 or IPv6 address");
  if (text === undefined) return undefined;
  const address = parseIpAddress(text);
  const problem = typeof address === "string" ? address : clusterAddressProblem(address);
  if (problem) {
    p.error(path, `${show(text, path)} ${problem}`);
    return undefined;
  }
  return address as IpAddress;
}

/** Reads the fields every host has; `host` is set only when all of them are valid. */
function readHost(p: Problems, path: string, raw: RawObject): { ref: HostRef; host?: HostConfig } {
  const errorsBefore = p.errors.length;
  const name = readName(p, childPath(path, "name"), raw.name);
  const address = readAddress(p, childPath(path, "address"), raw.address);
  const hostKey = readHostKey(p, childPath(path, "hostKey"), raw.hostKey);
  const ref = {
    path,
    name,
    address,
    pinsHostKey: !isAbsent(raw.hostKey),
  };
  if (name === undefined || address === undefined || p.errors.length > errorsBefore) return { ref };
  const host: HostConfig = { name, address: address.text };
  if (hostKey !== undefined) host.hostKey = hostKey;
  return { ref, host };
}

function readLabels(p: Problems, path: string, value: unknown): Record<string, string> {
  const raw = readObject(p, path, value, "an object of label keys to values") ?? {};
  const labels: Record<string, string> = {};
  for (const [key, labelValue] of Object.entries(raw)) {
    const keyPath = childPath(path, key);
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) {
      p.error(keyPath, `not a valid label key: ${keyProblem}`);
      continue;
    }
    const reserved = kubeletLabelProblem(key);
    if (reserved) {
      p.error(keyPath, reserved);
      continue;
    }
    if (typeof labelValue !== "string") {
      p.error(keyPath, `expected a string, got ${show(labelValue, keyPath)}`);
      continue;
    }
    const valueProblem = labelValueProblem(labelValue);
    if (valueProblem) {
      p.error(keyPath, `${show(labelValue, keyPath)} is not a valid label value: ${valueProblem}`);
      continue;
    }
    labels[key] = labelValue;
  }
  return labels;
}

function readTaints(p: Problems, path: string, value: unknown): string[] {
  const list = readArray(p, path, value, "an array of taints such as dedicated=gpu:NoSchedule");
  const taints: string[] = [];
  const seen = new Map<string, string>();
  (list ?? []).forEach((item, i) => {
    const itemPath = indexPath(path, i);
    if (typeof item !== "string") {
      p.error(itemPath, `expected a taint string, got ${show(item, itemPath)}`);
      return;
    }
    const taint = parseTaint(item);
    if (typeof taint === "string") {
      p.error(itemPath, `${show(item, itemPath)} is not a valid taint: ${taint}`);
      return;
    }
    // Kubernetes allows one taint per key and effect.
    const identity = `${taint.key}:${taint.effect}`;
    const earlier = seen.get(identity);
    if (earlier) {
      p.error(itemPath, `repeats the key and effect of ${earlier}`);
      return;
    }
    seen.set(identity, itemPath);
    taints.push(item);
  });
  return taints;
}

/** Reads `servers` or `agents`. An absent list is empty. */
export function readNodeList(p: Problems, listPath: string, value: unknown): NodeList {
  const list = readArray(p, listPath, value, "an array of hosts {name, address, ...}") ?? [];
  const result: NodeList = { count: list.length, nodes: [], refs: [] };
  list.forEach((item, i) => {
    const path = indexPath(listPath, i);
    const raw = readObject(p, path, item, "a host object {name, address, ...}", NODE_KEYS);
    if (!raw) return;
    const errorsBefore = p.errors.length;
    const { ref, host } = readHost(p, path, raw);
    const labels = readLabels(p, childPath(path, "labels"), raw.labels);
    const taints = readTaints(p, childPath(path, "taints"), raw.taints);
    result.refs.push(ref);
    if (host && p.errors.length === errorsBefore) result.nodes.push({ ...host, labels, taints });
  });
  return result;
}

export function readLbHostList(p: Problems, value: unknown): LbHostList {
  const listPath = "lbHosts";
  const list = readArray(p, listPath, value, "an array of hosts {name, address, ...}") ?? [];
  const result: LbHostList = { count: list.length, entries: [], refs: [] };
  list.forEach((item, i) => {
    const path = indexPath(listPath, i);
    const raw = readObject(p, path, item, "a host object {name, address, ...}", LB_HOST_KEYS);
    if (!raw) return;
    const { ref, host } = readHost(p, path, raw);
    result.refs.push(ref);
    result.entries.push({ path, host, priority: raw.priority });
  });
  return result;
}

/** Etcd needs a majority of servers: 2n and 2n-1 servers both tolerate n-1 failures. */
export function checkServerCount(p: Problems, count: number): void {
  if (count === 0) {
    p.error("servers", "at least one server is required");
  } else if (count === 1) {
    p.warn("servers", "1 server tolerates no server failure; use 3 for high availability");
  } else if (count % 2 === 0) {
    const tolerated = (count - 2) / 2;
    p.warn(
      "servers",
      `${count} servers tolerate ${tolerated} failure${tolerated === 1 ? "" : "s"}, no more than ` +
        `${count - 1} would; use an odd number (etcd needs a majority for quorum)`,
    );
  }
}

/** Names become Kubernetes node names and addresses identify hosts: both must be unique. */
export function checkUniqueHosts(p: Problems, refs: HostRef[]): void {
  const names = new Map<string, string>();
  const addresses = new Map<string, string>();
  for (const ref of refs) {
    if (ref.name !== undefined) {
      const first = names.get(ref.name);
      if (first) p.error(`${ref.path}.name`, `${show(ref.name)} duplicates ${first}.name`);
      else names.set(ref.name, ref.path);
    }
    if (ref.address !== undefined) {
      const first = addresses.get(ref.address.canonical);
      const shown = show(ref.address.text);
      if (first) p.error(`${ref.path}.address`, `${shown} duplicates ${first}.address`);
      else addresses.set(ref.address.canonical, ref.path);
    }
  }
}
