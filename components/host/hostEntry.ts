/** A host entry's own fields (name, address, hostKey), and the checks that span every host. */
import type { HostConfig } from "../config/types";
import { IpAddress, clusterAddressProblem, parseIpAddress } from "../config/address";
import { childPath, show } from "../config/display";
import { dnsLabelProblem } from "../config/dnsNames";
import { RawObject, isAbsent, readRequiredString } from "../config/fields";
import { Problems } from "../config/problems";
import { readHostKey } from "./sshSection";

/** What the cross-host checks (duplicates, VIP) need to know about one host. */
export interface HostRef {
  path: string;
  name?: string;
  address?: IpAddress;
  /** Whether the entry sets hostKey (valid or not: an invalid key is reported on its own). */
  pinsHostKey: boolean;
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

/**
 * Reads the fields every host has; `host` is set only when all of them are valid. An address or
 * host key known only at deploy time (Problems.isDeferred) is kept as given: the deploy-time pass
 * checks it, with the same rules.
 */
export function readHost(
  p: Problems,
  path: string,
  raw: RawObject,
): { ref: HostRef; host?: HostConfig } {
  const errorsBefore = p.errors.length;
  const name = readName(p, childPath(path, "name"), raw.name);
  const deferredAddress = p.isDeferred(raw.address);
  const address = deferredAddress
    ? undefined
    : readAddress(p, childPath(path, "address"), raw.address);
  const hostKey = p.isDeferred(raw.hostKey)
    ? (raw.hostKey as string)
    : readHostKey(p, childPath(path, "hostKey"), raw.hostKey);
  const ref = {
    path,
    name,
    address,
    pinsHostKey: !isAbsent(raw.hostKey),
  };
  if (name === undefined || p.errors.length > errorsBefore) return { ref };
  if (address === undefined && !deferredAddress) return { ref };
  const host: HostConfig = {
    name,
    address: deferredAddress ? (raw.address as string) : (address as IpAddress).text,
  };
  if (hostKey !== undefined) host.hostKey = hostKey;
  return { ref, host };
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
