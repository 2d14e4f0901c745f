/** The K3s servers behind the load balancer, as the LB renderers write them. Pure. */
import * as ipaddr from "ipaddr.js";

/** A K3s server behind the load balancer (validated: an RFC 1123 name and an IP address). */
export interface LbBackend {
  /** Server name shown in HAProxy's logs and stats, and in nginx.conf comments. */
  name: string;
  /** IPv4 or IPv6 address (no brackets); the server listens on K3S_API_PORT. */
  address: string;
}

export function isIpv6(address: string): boolean {
  return address.includes(":");
}

/** The address as it goes before `:port`: dotted IPv4, or canonical IPv6 in brackets. */
export function backendHost(address: string): string {
  return isIpv6(address) ? `[${ipaddr.IPv6.parse(address).toString()}]` : address;
}
