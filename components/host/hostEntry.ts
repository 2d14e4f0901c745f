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
 * checks it, with the same rules. A hostKey pasted as a known_hosts line must name this address
 * (and `sshPort`).
 */
export function readHost(
  p: Problems,
  path: string,
  raw: RawObject,
  sshPort?: number,
): { ref: HostRef; host?: HostConfig } {
  const errorsBefore = p.errors.length;
  const name = readName(p, childPath(path, "name"), raw.name);
  const deferredAddress = p.isDeferred(raw.address);
  const address = deferredAddress
    ? undefined
    : readAddress(p, childPath(path, "address"), raw.address);
  const hostKey = p.isDeferred(raw.hostKey)
    ? (raw.hostKey as string)
    : readHostKey(
        p,
        childPath(path, "hostKey"),
        raw.hostKey,
        address && { host: address.text, port: sshPort },
      );
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

/** A K3s server and a load-balancer host on one address would both need port 6443 there. */
function duplicateAddress(shown: string, path: string, first: string): string {
  const lists = [path, first].map((x) => x.replace(/\[.*$/, "")).sort();
  if (lists[0] !== "lbHosts" || lists[1] !== "servers")
    return `${shown} duplicates ${first}.address`;
  return (
    `${shown} is also ${first}.address: a load balancer cannot run on a K3s server, since both listen on port 6443 there ` +
    "(the load balancer for the API, K3s's API server itself); put the load balancer on another machine " +
    "(with one machine to spare, lbKind: nginx on it), or, with none, use a VIP the servers hold themselves " +
    "(kube-vip, which this program does not set up)"
  );
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
      if (first) p.error(`${ref.path}.address`, duplicateAddress(shown, ref.path, first));
      else addresses.set(ref.address.canonical, ref.path);
    }
  }
}
