/** SSH user names, host names and pinned host keys. */
import { firstBadChar } from "../config/display";
import { parseIpAddress } from "../config/address";

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const USER_NAME_CHAR = /^[A-Za-z0-9_.-]$/;
const HOSTNAME_LABEL = /^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/;

/** Host key algorithms ssh2 accepts. */
export const HOST_KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
] as const;

/** Why `name` is not a portable login name (it reaches `sudo -u`, `chown` and paths), or undefined. */
export function userNameProblem(name: string): string | undefined {
  const bad = firstBadChar(name, USER_NAME_CHAR);
  if (bad) return `contains ${bad} (only letters, digits, "_", "." and "-")`;
  if (!USER_NAME.test(name)) {
    return 'must start with a letter or "_" and be at most 32 characters long';
  }
  return undefined;
}

/** Why `host` is neither an IP address nor a DNS host name, or undefined. */
export function hostProblem(host: string): string | undefined {
  if (/^[0-9.]+$/.test(host) || host.includes(":")) {
    const address = parseIpAddress(host);
    return typeof address === "string" ? address : undefined;
  }
  if (host.length > 253) return `is ${host.length} characters long (at most 253)`;
  if (!host.split(".").every((label) => HOSTNAME_LABEL.test(label))) {
    return "is not an IP address or DNS host name";
  }
  return undefined;
}

/**
 * Why `line` is not a public host key as written in known_hosts ("ssh-ed25519 AAAA... [comment]"),
 * or undefined. The base64 blob must decode and name the same algorithm as the first field.
 */
export function hostKeyProblem(line: string): string | undefined {
  const [type, data] = line.trim().split(/\s+/);
  const form = `expected "<type> <base64> [comment]" as in known_hosts, e.g. "ssh-ed25519 AAAA..."`;
  if (/PRIVATE KEY/.test(line)) {
    return "is a private key; put the host's public key here (as in known_hosts)";
  }
  if (data === undefined) return `is not a public host key (${form})`;
  if (!(HOST_KEY_TYPES as readonly string[]).includes(type)) {
    return `has an unsupported key type (expected one of ${HOST_KEY_TYPES.join(", ")})`;
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return `has key data that is not base64 (${form})`;
  const blob = Buffer.from(data, "base64");
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const embedded = nameLength > 0 ? blob.subarray(4, 4 + nameLength).toString("latin1") : "";
  if (embedded !== type) return `has key data that does not decode to a key of type ${type}`;
  return undefined;
}
