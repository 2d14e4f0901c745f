/** IP addresses and CIDRs, parsed strictly with ipaddr.js. */
import * as ipaddr from "ipaddr.js";

export interface IpAddress {
  /** The address as written. */
  text: string;
  /** A canonical form, so that equal addresses written differently compare equal. */
  canonical: string;
  parsed: ipaddr.IPv4 | ipaddr.IPv6;
}

export interface Cidr {
  address: IpAddress;
  prefixLength: number;
}

/** Ranges that can never be a host's own address. */
const NOT_A_HOST: Record<string, string> = {
  unspecified: "the unspecified address",
  broadcast: "the broadcast address",
  multicast: "a multicast address",
};

/**
 * Parses a host address, or returns why it is not one. `ipaddr.isValid` is too lax ("10" and
 * "0x0a.1.1.1" pass), so IPv4 must be four decimal parts.
 */
export function parseIpAddress(text: string): IpAddress | string {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    parsed = ipaddr.IPv4.parse(text);
  } else if (ipaddr.IPv6.isValid(text)) {
    parsed = ipaddr.IPv6.parse(text);
    if (parsed.zoneId !== undefined) return "has an IPv6 zone index, which is not supported";
  } else {
    return "is not an IPv4 or IPv6 address";
  }
  const range = NOT_A_HOST[parsed.range()];
  if (range) return `is ${range}, not a host address`;
  return { text, canonical: parsed.toNormalizedString(), parsed };
}

/**
 * Why a cluster host or VIP cannot have this address, though a host can (a bastion may sit on
 * loopback behind a tunnel), or undefined: every host must reach the others at it, and K3s takes
 * an IPv4-mapped IPv6 address for an IPv6 one. The kubelet refuses loopback and link-local node
 * IPs (kubernetes pkg/kubelet/kubelet_node_status.go, validateNodeIP).
 */
export function clusterAddressProblem(address: IpAddress): string | undefined {
  const range = address.parsed.range();
  if (range === "loopback") {
    return "is a loopback address: the other hosts cannot reach this host there";
  }
  if (range === "linkLocal") {
    return (
      "is link-local (169.254.0.0/16, fe80::/10): it reaches no further than one link, and the " +
      "kubelet refuses it as a node IP; use the host's address on the cluster's network"
    );
  }
  if (range === "ipv4Mapped") {
    const v4 = (address.parsed as ipaddr.IPv6).toIPv4Address().toString();
    return `is an IPv4-mapped IPv6 address; write the IPv4 address ${v4}`;
  }
  return undefined;
}

/** Parses `address/prefix`, or returns why it is not a CIDR. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  if (slash < 0) return "has no prefix length (expected a CIDR such as 10.10.10.100/24)";
  const address = parseIpAddress(text.slice(0, slash));
  if (typeof address === "string") return `is not a CIDR: its address ${address}`;
  const maxPrefix = address.parsed.kind() === "ipv4" ? 32 : 128;
  const prefixText = text.slice(slash + 1);
  const prefixLength = /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefixLength >= 0 && prefixLength <= maxPrefix)) {
    return `is not a CIDR: the prefix length must be an integer from 0 to ${maxPrefix}`;
  }
  return { address, prefixLength };
}

export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  const network = cidr.address.parsed;
  return (
    network.kind() === address.parsed.kind() && address.parsed.match(network, cidr.prefixLength)
  );
}

/** `network/prefix` for messages, e.g. 10.10.10.0/24. */
export function networkOf(cidr: Cidr): string {
  const text = `${cidr.address.text}/${cidr.prefixLength}`;
  const network =
    cidr.address.parsed.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(text)
      : ipaddr.IPv6.networkAddressFromCIDR(text);
  return `${network.toString()}/${cidr.prefixLength}`;
}

/**
 * Why `address` (the CIDR's own address by default) cannot be a host's or a VIP's inside the
 * CIDR's subnet, or undefined: the IPv4 network or broadcast address, or the IPv6 subnet-router
 * anycast address (RFC 4291 2.6.1), which routers answer. /31 and /32 (RFC 3021) and /127 and /128
 * (RFC 6164) have none.
 */
export function reservedInSubnet(
  cidr: Cidr,
  address: IpAddress = cidr.address,
): string | undefined {
  if (!cidrContains(cidr, address)) return undefined;
  const text = `${cidr.address.text}/${cidr.prefixLength}`;
  const own = address.canonical;
  if (cidr.address.parsed.kind() === "ipv6") {
    if (cidr.prefixLength > 126) return undefined;
    const network = ipaddr.IPv6.networkAddressFromCIDR(text).toNormalizedString();
    return network === own
      ? `the subnet-router anycast address of ${networkOf(cidr)} (RFC 4291: routers answer it)`
      : undefined;
  }
  if (cidr.prefixLength > 30) return undefined;
  if (ipaddr.IPv4.networkAddressFromCIDR(text).toNormalizedString() === own) {
    return `the network address of ${networkOf(cidr)}`;
  }
  if (ipaddr.IPv4.broadcastAddressFromCIDR(text).toNormalizedString() === own) {
    return `the broadcast address of ${networkOf(cidr)}`;
  }
  return undefined;
}
