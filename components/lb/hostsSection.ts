/** lbHosts: each host's fields; its priority is judged by the load-balancer kind. */
import { indexPath } from "../config/display";
import { readArray, readObject } from "../config/fields";
import { Problems } from "../config/problems";
import { readHost } from "../host/hostEntry";
import { LbHostList } from "./settings";

const LB_HOST_KEYS = ["name", "address", "priority", "hostKey"] as const;

export function readLbHostList(p: Problems, value: unknown, sshPort?: number): LbHostList {
  const listPath = "lbHosts";
  const list = readArray(p, listPath, value, "an array of hosts {name, address, ...}") ?? [];
  const result: LbHostList = { count: list.length, entries: [], refs: [] };
  list.forEach((item, i) => {
    const path = indexPath(listPath, i);
    const raw = readObject(p, path, item, "a host object {name, address, ...}", LB_HOST_KEYS);
    if (!raw) return;
    const { ref, host } = readHost(p, path, raw, sshPort);
    result.refs.push(ref);
    result.entries.push({ path, host, priority: raw.priority });
  });
  return result;
}
