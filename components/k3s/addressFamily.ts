/**
 * Servers and agents share one address family: each node's address is its K3s node-ip, and a
 * single-stack cluster (IPv4, or IPv6 with K3s's IPv6 defaults) cannot take a node of the other.
 */
import { Problems } from "../config/problems";
import type { HostRef } from "../host/hostEntry";

const FAMILY = { ipv4: "IPv4", ipv6: "IPv6" } as const;

export function checkNodeAddressFamily(p: Problems, nodes: HostRef[]): void {
  const first = nodes.find((ref) => ref.address !== undefined);
  if (!first?.address) return;
  const family = first.address.parsed.kind();
  for (const ref of nodes) {
    if (!ref.address || ref.address.parsed.kind() === family) continue;
    p.error(
      `${ref.path}.address`,
      `${ref.address.text} is ${FAMILY[ref.address.parsed.kind()]}, but ${first.path}.address is ${FAMILY[family]}: ` +
        `the K3s nodes of one cluster use one address family (each address is the node's node-ip); ` +
        `give every server and agent an ${FAMILY[family]} address`,
    );
  }
}
