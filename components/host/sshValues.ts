/** SSH user names, host names and pinned host keys. */
import { firstBadChar } from "../config/display";
import { createHmac } from "crypto";
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

/** The host a pinned key is for: its address (or the bastion's name) and SSH port. */
export interface KeyFor {
  host: string;
  port?: number;
}

/** The name a known_hosts entry holds for host:port (OpenSSH writes [host]:port off port 22). */
function knownHostsName(host: string, port: number | undefined): string[] {
  return port === undefined || port === 22 ? [host] : [`[${host}]:${port}`];
}

function sameHost(a: string, b: string): boolean {
  const x = parseIpAddress(a);
  const y = parseIpAddress(b);
  if (typeof x !== "string" && typeof y !== "string") return x.canonical === y.canonical;
  return a.toLowerCase() === b.toLowerCase();
}

/** Whether one comma-separated entry of a known_hosts host field names `to`. */
function entryMatches(entry: string, to: KeyFor): boolean {
  const hashed = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(entry);
  if (hashed) {
    return knownHostsName(to.host, to.port).some(
      (name) =>
        createHmac("sha1", Buffer.from(hashed[1], "base64")).update(name).digest("base64") ===
        hashed[2],
    );
  }
  if (entry.startsWith("!") || /[*?]/.test(entry)) return false;
  const bracketed = /^\[(.+)\]:(\d+)$/.exec(entry);
  const host = bracketed ? bracketed[1] : entry;
  const port = bracketed ? Number(bracketed[2]) : 22;
  return sameHost(host, to.host) && port === (to.port ?? 22);
}

/**
 * A pinned host key as the provider takes it ("<type> <base64> [comment]"), from the value a stack
 * holds: that form, or a known_hosts line ("<hosts> <type> <base64> [comment]", hosts plain,
 * [host]:port or hashed) whose host part names `to` (the key is taken, the host part left out).
 * A line for another host, or one whose host part cannot be checked, is a problem, never a key.
 */
export function readHostKeyText(text: string, to?: KeyFor): { key: string } | { problem: string } {
  const fields = text.trim().split(/\s+/);
  const isKnownHostsLine =
    fields.length >= 3 &&
    !(HOST_KEY_TYPES as readonly string[]).includes(fields[0]) &&
    (HOST_KEY_TYPES as readonly string[]).includes(fields[1]);
  if (fields[0].startsWith("@") && !/PRIVATE KEY/.test(text)) {
    return {
      problem: `is a known_hosts line marked ${fields[0]}, not a host's own key; put the host's public key here ("ssh-ed25519 AAAA...")`,
    };
  }
  if (!isKnownHostsLine) {
    const problem = hostKeyProblem(text);
    return problem ? { problem } : { key: text.trim() };
  }
  const [hosts, type, data] = fields;
  const key = `${type} ${data}`;
  const keyIssue = hostKeyProblem(key);
  if (keyIssue) return { problem: keyIssue };
  const hostPart = `"${hosts} "`;
  if (to === undefined) {
    return {
      problem: `is a known_hosts line; remove the host part ${hostPart} so that it starts with "${type} "`,
    };
  }
  if (hosts.split(",").some((entry) => entryMatches(entry, to))) return { key };
  const target = knownHostsName(to.host, to.port)[0];
  const named = hosts.startsWith("|1|") ? "a hashed host name that is not" : `${hosts}, not`;
  return {
    problem: `is a known_hosts line for ${named} ${target}: pin ${target}'s own key (npm run hostkeys, or the line \`ssh-keygen -F ${target}\` prints), never another host's`,
  };
}
