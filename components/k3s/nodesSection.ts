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
