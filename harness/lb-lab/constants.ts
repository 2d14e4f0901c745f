/** Names and addresses of the lab. Everything it creates carries PREFIX so cleanup can find leftovers. */
import * as os from "os";
import * as path from "path";

export const PREFIX = "k3sha-lab-";
/** The netns holding the bridge that joins every host ("the switch"). */
export const SWITCH_NS = `${PREFIX}sw`;
export const BRIDGE = "br0";
/** Interface name inside each host; the page and our renderers use eth1 for VRRP. */
export const HOST_IF = "eth1";
export const PREFIX_LENGTH = 24;
/** The page's own addresses (10.10.10.0/24, private), used only inside lab namespaces. */
export const VIP = "10.10.10.100";
export const API_PORT = 6443;

export type HostName = "server-1" | "server-2" | "server-3" | "lb-1" | "lb-2" | "client";
export const STAND_INS = ["server-1", "server-2", "server-3"] as const;
export type StandInName = (typeof STAND_INS)[number];
export const LB_HOSTS = ["lb-1", "lb-2"] as const;
export type LbHostName = (typeof LB_HOSTS)[number];

export const HOST_ADDRESSES: Record<HostName, string> = {
  "server-1": "10.10.10.50",
  "server-2": "10.10.10.51",
  "server-3": "10.10.10.52",
  "lb-1": "10.10.10.98",
  "lb-2": "10.10.10.99",
  client: "10.10.10.101",
};

export function nsName(host: HostName): string {
  return `${PREFIX}${host}`;
}

/** Lab working directory: certs, per-host /etc trees, logs. Root-owned, removed on teardown. */
export const LAB_DIR = path.join(os.tmpdir(), "k3sha-lab");
