/**
 * Network namespaces joined by a bridge that lives in its own "switch" namespace: the plumbing
 * both the LB lab and the end-to-end lab stand on. Nothing is created in the root namespace.
 */
import { run } from "./sh";

const ip = (...args: string[]) => run("ip", args);

export interface SwitchedNetwork {
  /** Every namespace of this network starts with it, so cleanup finds them all. */
  prefix: string;
  switchNs: string;
  bridge: string;
  /** The interface name inside each host namespace. */
  hostIf: string;
  prefixLength: number;
  /** Host label (names the bridge port), its namespace and its address. */
  members: { host: string; ns: string; address: string }[];
}

export async function createSwitchedNetwork(net: SwitchedNetwork): Promise<void> {
  await ip("netns", "add", net.switchNs);
  await ip("-n", net.switchNs, "link", "set", "lo", "up");
  // Multicast VRRP crosses the bridge only without IGMP snooping (no querier here).
  await ip("-n", net.switchNs, "link", "add", net.bridge, "type", "bridge", "mcast_snooping", "0");
  await ip("-n", net.switchNs, "link", "set", net.bridge, "up");
  for (const { host, ns, address } of net.members) {
    const port = `v-${host}`;
    await ip("netns", "add", ns);
    await ip("-n", ns, "link", "set", "lo", "up");
    // Both ends are created inside lab namespaces: the root namespace never sees them.
    await ip(
      "-n",
      net.switchNs,
      "link",
      "add",
      port,
      "type",
      "veth",
      "peer",
      "name",
      net.hostIf,
      "netns",
      ns,
    );
    await ip("-n", net.switchNs, "link", "set", port, "master", net.bridge);
    await ip("-n", net.switchNs, "link", "set", port, "up");
    await ip("-n", ns, "addr", "add", `${address}/${net.prefixLength}`, "dev", net.hostIf);
    await ip("-n", ns, "link", "set", net.hostIf, "up");
  }
}

export async function namespacesWithPrefix(prefix: string): Promise<string[]> {
  const out = await run("ip", ["netns", "list"], { allowFailure: true });
  return out
    .split("\n")
    .map((line) => line.split(" ")[0])
    .filter((name) => name.startsWith(prefix));
}

/** Kills every process living in a namespace with this prefix (by pid), then deletes them. */
export async function destroyNamespaces(prefix: string): Promise<void> {
  const namespaces = await namespacesWithPrefix(prefix);
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
