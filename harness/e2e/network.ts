/** The e2e network: one netns per host, each joined by a veth pair to a bridge in a switch netns. */
import {
  BRIDGE,
  CONTROLLER_ADDRESS,
  CONTROLLER_NS,
  HOSTS,
  HOST_ADDRESSES,
  HostName,
  HOST_IF,
  PREFIX,
  PREFIX_LENGTH,
  SWITCH_NS,
  nsName,
} from "./constants";
import {
  SwitchedNetwork,
  createSwitchedNetwork,
  destroyNamespaces,
  namespacesWithPrefix,
} from "../shared/netns";
import { run } from "../shared/sh";

export async function createNetwork(hosts: readonly HostName[] = HOSTS): Promise<void> {
  const members: SwitchedNetwork["members"] = hosts.map((host) => ({
    host,
    ns: nsName(host),
    address: HOST_ADDRESSES[host],
  }));
  members.push({ host: "controller", ns: CONTROLLER_NS, address: CONTROLLER_ADDRESS });
  await createSwitchedNetwork({
    prefix: PREFIX,
    switchNs: SWITCH_NS,
    bridge: BRIDGE,
    hostIf: HOST_IF,
    prefixLength: PREFIX_LENGTH,
    members,
  });
}

export function e2eNamespaces(): Promise<string[]> {
  return namespacesWithPrefix(PREFIX);
}

/** Kills every process living in an e2e netns (by pid), then deletes the namespaces. */
export function destroyNetwork(): Promise<void> {
  return destroyNamespaces(PREFIX);
}

/** IPv4 addresses on a host's lab interface, without prefix length. */
export async function interfaceAddresses(host: (typeof HOSTS)[number]): Promise<string[]> {
  const out = await run("ip", ["-n", nsName(host), "-o", "-4", "addr", "show", "dev", HOST_IF], {
    allowFailure: true,
    timeoutMs: 2_000,
  });
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
}
