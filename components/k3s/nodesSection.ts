/** The K3s node lists, servers and agents: each host's fields, labels and taints. */
import { childPath, indexPath } from "../config/display";
import { readArray, readObject } from "../config/fields";
import { Problems } from "../config/problems";
import type { NodeConfig } from "../config/types";
import { HostRef, readHost } from "../host/hostEntry";
import { readLabels, readTaints } from "./nodeLabels";

const NODE_KEYS = ["name", "address", "hostKey", "labels", "taints"] as const;

export interface NodeList {
  /** How many entries the list had, valid or not. */
  count: number;
  /** The entries that validated. */
  nodes: NodeConfig[];
  refs: HostRef[];
}

/** Reads `servers` or `agents`. An absent list is empty. `sshPort` checks pasted known_hosts lines. */
export function readNodeList(
  p: Problems,
  listPath: string,
  value: unknown,
  sshPort?: number,
): NodeList {
  const list = readArray(p, listPath, value, "an array of hosts {name, address, ...}") ?? [];
  const result: NodeList = { count: list.length, nodes: [], refs: [] };
  list.forEach((item, i) => {
    const path = indexPath(listPath, i);
    const raw = readObject(p, path, item, "a host object {name, address, ...}", NODE_KEYS);
    if (!raw) return;
    const errorsBefore = p.errors.length;
    const { ref, host } = readHost(p, path, raw, sshPort);
    const labels = readLabels(p, childPath(path, "labels"), raw.labels);
    const taints = readTaints(p, childPath(path, "taints"), raw.taints);
    result.refs.push(ref);
    if (host && p.errors.length === errorsBefore) result.nodes.push({ ...host, labels, taints });
  });
  return result;
}

/** What each server count tolerates: etcd needs a majority up, so n servers tolerate (n-1)/2 failures. */
const TOLERANCE =
  "1 server tolerates 0 failures, 2 tolerate 0, 3 tolerate 1, 4 tolerate 1, 5 tolerate 2";

/**
 * 1 server is plainly not highly available: a warning. 2 servers look redundant but tolerate no
 * failure either, and either one down stops the cluster, twice as often as 1: refused unless the
 * stack opts in with allowTwoServers (e.g. while a server is replaced). An even count of 4 or more
 * tolerates no more than one server fewer would: a warning.
 */
export function checkServerCount(p: Problems, count: number, allowTwo: boolean): void {
  const twoServers =
    "2 servers tolerate no server failure, and either one down stops the cluster (twice as often as 1)";
  if (count === 0) {
    p.error("servers", "at least one server is required");
  } else if (count === 1) {
    p.warn(
      "servers",
      `1 server tolerates no server failure; use 3 for high availability (${TOLERANCE})`,
    );
  } else if (count === 2 && !allowTwo) {
    p.error(
      "servers",
      `${twoServers}; use 3 servers (${TOLERANCE}), or 1, or set allowTwoServers: true to run 2 knowingly (e.g. while a server is replaced)`,
    );
  } else if (count === 2) {
    p.warn("servers", `${twoServers}; use 3 (${TOLERANCE})`);
  } else if (count % 2 === 0) {
    const tolerated = (count - 2) / 2;
    p.warn(
      "servers",
      `${count} servers tolerate ${tolerated} failure${tolerated === 1 ? "" : "s"}, no more than ` +
        `${count - 1} would; use an odd number (etcd needs a majority for quorum)`,
    );
  }
}
