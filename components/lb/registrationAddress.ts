/** The address agents and clients use: the VIP, or the Nginx host. */
import type { ClusterConfig } from "../config/types";

export function registrationAddressOf(c: ClusterConfig): string {
  return c.loadBalancer.kind === "haproxy" ? c.loadBalancer.vip : c.loadBalancer.hosts[0].address;
}
