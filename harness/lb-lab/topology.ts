/** The lab network: one netns per host, each joined by a veth pair to a bridge in a switch netns. */
import {
  BRIDGE,
  HOST_ADDRESSES,
  HOST_IF,
  HostName,
  PREFIX,
  PREFIX_LENGTH,
  SWITCH_NS,
  nsName,
} from "./constants";
import { createSwitchedNetwork, destroyNamespaces, namespacesWithPrefix } from "../shared/netns";
import { run } from "../shared/sh";

const ip = (...args: string[]) => run("ip", args);

export async function createTopology(): Promise<void> {
  await createSwitchedNetwork({
    prefix: PREFIX,
    switchNs: SWITCH_NS,
    bridge: BRIDGE,
    hostIf: HOST_IF,
    prefixLength: PREFIX_LENGTH,
    members: (Object.keys(HOST_ADDRESSES) as HostName[]).map((host) => ({
      host,
      ns: nsName(host),
      address: HOST_ADDRESSES[host],
    })),
  });
}

export function labNamespaces(): Promise<string[]> {
  return namespacesWithPrefix(PREFIX);
}

/** Kills every process living in a lab netns (by pid), then deletes the namespaces. */
export function destroyTopology(): Promise<void> {
  return destroyNamespaces(PREFIX);
}

export async function setLink(host: HostName, up: boolean): Promise<void> {
  await ip("-n", nsName(host), "link", "set", HOST_IF, up ? "up" : "down");
}

/** IPv4 addresses on the host's lab interface, without prefix length. */
export async function hostAddresses(host: HostName): Promise<string[]> {
  const out = await run("ip", ["-n", nsName(host), "-o", "-4", "addr", "show", "dev", HOST_IF], {
    allowFailure: true,
    timeoutMs: 2_000,
  });
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
}
