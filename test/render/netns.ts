/** Throwaway network namespaces for render tests: loopback up and veths named like the LB NIC. */
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

/**
 * Two namespaces `k3sha-<tag>a-<pid>` and `k3sha-<tag>b-<pid>` joined by a veth pair, each end
 * named `iface` and given the matching address (CIDR), as two LB hosts on one segment.
 */
export async function createNetnsPair(
  tag: string,
  cidrs: [string, string],
  iface = "eth1",
): Promise<[string, string]> {
  const names: [string, string] = [`k3sha-${tag}a-${process.pid}`, `k3sha-${tag}b-${process.pid}`];
  for (const name of names) {
    await ip("netns", "add", name);
    await ip("-n", name, "link", "set", "lo", "up");
  }
  await ip(
    "-n",
    names[0],
    "link",
    "add",
    iface,
    "type",
    "veth",
    "peer",
    "name",
    iface,
    "netns",
    names[1],
  );
  for (const [i, name] of names.entries()) {
    await ip("-n", name, "addr", "add", cidrs[i], "dev", iface);
    await ip("-n", name, "link", "set", iface, "up");
  }
  return names;
}

/**
 * Namespaces `k3sha-<tag><i>-<pid>` on one L2 segment: a bridge in a switch namespace
 * `k3sha-<tag>sw-<pid>`, each host joined to it by a veth whose host end is `iface` with the
 * matching address (CIDR). Returns the hosts' names; deleteNetnsSegment removes them all.
 */
export async function createNetnsSegment(
  tag: string,
  cidrs: string[],
  iface = "eth1",
): Promise<string[]> {
  const sw = `k3sha-${tag}sw-${process.pid}`;
  await ip("netns", "add", sw);
  await ip("-n", sw, "link", "add", "br0", "type", "bridge");
  await ip("-n", sw, "link", "set", "br0", "up");
  const names: string[] = [];
  for (const [i, cidr] of cidrs.entries()) {
    const name = `k3sha-${tag}${i}-${process.pid}`;
    await ip("netns", "add", name);
    names.push(name);
    await ip("-n", name, "link", "set", "lo", "up");
    await ip(...`-n ${sw} link add p${i} type veth peer name ${iface} netns ${name}`.split(" "));
    await ip("-n", sw, "link", "set", `p${i}`, "master", "br0", "up");
    await ip("-n", name, "addr", "add", cidr, "dev", iface);
    await ip("-n", name, "link", "set", iface, "up");
  }
  return names;
}

/** Deletes the namespaces of createNetnsSegment(tag, …) and its switch. */
export async function deleteNetnsSegment(tag: string, names: string[]): Promise<void> {
  for (const name of names) await deleteNetns(name);
  await deleteNetns(`k3sha-${tag}sw-${process.pid}`);
}
