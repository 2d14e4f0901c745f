/** Throwaway network namespaces for render tests: loopback up and a veth named like the LB's NIC. */
import { run } from "./checkers";

async function ip(...args: string[]): Promise<void> {
  const result = await run(["ip", ...args]);
  if (result.code !== 0) throw new Error(`ip ${args.join(" ")} failed: ${result.output}`);
}

/** Creates namespace `k3sha-<tag>-<pid>` with `lo` up and a veth `iface` (peer `<iface>p`) up. */
export async function createNetns(tag: string, iface = "eth1"): Promise<string> {
  const name = `k3sha-${tag}-${process.pid}`;
  await ip("netns", "add", name);
  await ip("-n", name, "link", "set", "lo", "up");
  await ip("-n", name, "link", "add", iface, "type", "veth", "peer", "name", `${iface}p`);
  await ip("-n", name, "link", "set", iface, "up");
  await ip("-n", name, "link", "set", `${iface}p`, "up");
  return name;
}

/** Deletes a namespace made by createNetns (its veth pair goes with it). */
export async function deleteNetns(name: string): Promise<void> {
  await ip("netns", "del", name);
}
