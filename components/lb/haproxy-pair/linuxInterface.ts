/** Linux network interface names (IFNAMSIZ is 16 with the terminating NUL). */
import { firstBadChar, show } from "../../config/display";

const MAX_LENGTH = 15;
/** Linux allows more, but these are the characters that are safe unquoted in a shell. */
const INTERFACE_CHAR = /^[A-Za-z0-9_.-]$/;

/** Why `name` is not a usable interface name, or undefined. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length > MAX_LENGTH) {
    return `is ${name.length} characters long (Linux allows at most ${MAX_LENGTH})`;
  }
  const bad = firstBadChar(name, INTERFACE_CHAR);
  if (bad) return `contains ${bad} (only letters, digits, "_", "." and "-")`;
  if (name.startsWith("-")) return 'must not start with "-"';
  if (name === "." || name === "..") return 'must not be "." or ".."';
  return undefined;
}

/**
 * Why KeepAlived cannot hold the VIP on `name`, or undefined: an ifconfig alias label (`eth1:0`,
 * a second address on eth1, not an interface) or the loopback interface, whose advertisements never
 * reach the other LB host. Bonds (bond0) and VLANs (eth1.100) carry VRRP like any interface.
 */
export function vrrpInterfaceProblem(name: string): string | undefined {
  const alias = /^([^:]+):[A-Za-z0-9_.-]+$/.exec(name);
  if (alias && interfaceNameProblem(alias[1]) === undefined) {
    return (
      `${show(name)} is an alias label (the ifconfig name of a second address on ${alias[1]}), ` +
      `not an interface: KeepAlived adds the VIP to the interface itself; use ${show(alias[1])}`
    );
  }
  if (name === "lo") {
    return (
      '"lo" is the loopback interface: VRRP advertisements on it never reach the other LB host; ' +
      "use the interface that holds the LB hosts' addresses (ip -br addr on an LB host shows it)"
    );
  }
  return undefined;
}
