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
import { run } from "./sh";

const ip = (...args: string[]) => run("ip", args);

export async function createTopology(): Promise<void> {
  await ip("netns", "add", SWITCH_NS);
  await ip("-n", SWITCH_NS, "link", "set", "lo", "up");
  await ip("-n", SWITCH_NS, "link", "add", BRIDGE, "type", "bridge", "mcast_snooping", "0");
  await ip("-n", SWITCH_NS, "link", "set", BRIDGE, "up");
  for (const host of Object.keys(HOST_ADDRESSES) as HostName[]) {
    const ns = nsName(host);
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
    await ip("-n", ns, "addr", "add", `${HOST_ADDRESSES[host]}/${PREFIX_LENGTH}`, "dev", HOST_IF);
    await ip("-n", ns, "link", "set", HOST_IF, "up");
  }
}

export async function labNamespaces(): Promise<string[]> {
  const out = await run("ip", ["netns", "list"], { allowFailure: true });
  return out
    .split("\n")
    .map((line) => line.split(" ")[0])
    .filter((name) => name.startsWith(PREFIX));
}

/** Kills every process living in a lab netns (by pid), then deletes the namespaces. */
export async function destroyTopology(): Promise<void> {
  const namespaces = await labNamespaces();
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
