/** The e2e network: one netns per host, each joined by a veth pair to a bridge in a switch netns. */
import {
  BRIDGE,
  CONTROLLER_ADDRESS,
  CONTROLLER_NS,
  HOSTS,
  HOST_ADDRESSES,
  HOST_IF,
  PREFIX,
  PREFIX_LENGTH,
  SWITCH_NS,
  nsName,
} from "./constants";
import { run } from "../lab/sh";

const ip = (...args: string[]) => run("ip", args);

export async function createNetwork(): Promise<void> {
  await ip("netns", "add", SWITCH_NS);
  await ip("-n", SWITCH_NS, "link", "set", "lo", "up");
  // Multicast VRRP crosses the bridge only without IGMP snooping (no querier here).
  await ip("-n", SWITCH_NS, "link", "add", BRIDGE, "type", "bridge", "mcast_snooping", "0");
  await ip("-n", SWITCH_NS, "link", "set", BRIDGE, "up");
  const members: [string, string, string][] = HOSTS.map((h) => [h, nsName(h), HOST_ADDRESSES[h]]);
  members.push(["controller", CONTROLLER_NS, CONTROLLER_ADDRESS]);
  for (const [host, ns, address] of members) {
    const port = `v-${host}`;
    await ip("netns", "add", ns);
    await ip("-n", ns, "link", "set", "lo", "up");
    // Both ends are created inside lab namespaces: the root namespace never sees them.
    await ip(
      "-n",
      SWITCH_NS,
      "link",
      "add",
      port,
      "type",
      "veth",
      "peer",
      "name",
      HOST_IF,
      "netns",
      ns,
    );
    await ip("-n", SWITCH_NS, "link", "set", port, "master", BRIDGE);
    await ip("-n", SWITCH_NS, "link", "set", port, "up");
    await ip("-n", ns, "addr", "add", `${address}/${PREFIX_LENGTH}`, "dev", HOST_IF);
    await ip("-n", ns, "link", "set", HOST_IF, "up");
  }
}

export async function e2eNamespaces(): Promise<string[]> {
  const out = await run("ip", ["netns", "list"], { allowFailure: true });
  return out
    .split("\n")
    .map((line) => line.split(" ")[0])
    .filter((name) => name.startsWith(PREFIX));
}

/** Kills every process living in an e2e netns (by pid), then deletes the namespaces. */
export async function destroyNetwork(): Promise<void> {
  const namespaces = await e2eNamespaces();
  for (const ns of namespaces) {
    const pids = (await run("ip", ["netns", "pids", ns], { allowFailure: true }))
      .split("\n")
      .map((p) => Number(p.trim()))
      .filter((p) => Number.isInteger(p) && p > 1);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  for (const ns of namespaces) await run("ip", ["netns", "del", ns], { allowFailure: true });
}

/** IPv4 addresses on a host's lab interface, without prefix length. */
export async function interfaceAddresses(host: (typeof HOSTS)[number]): Promise<string[]> {
  const out = await run("ip", ["-n", nsName(host), "-o", "-4", "addr", "show", "dev", HOST_IF], {
    allowFailure: true,
    timeoutMs: 2_000,
  });
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
}
