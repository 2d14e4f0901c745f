/**
 * known_hosts as OpenSSH writes it: "patterns type base64 [comment]", patterns a comma list of
 * names, `[host]:port` forms, wildcards and `!` negations, or one hashed `|1|salt|hash` entry.
 */
import * as crypto from "crypto";
import { PublicKey, parseAuthorizedKey } from "./hostkeys-keys";

export interface KnownHostsLine {
  /** 1-based, for messages. */
  line: number;
  /** "@revoked" lines name keys never to trust; "@cert-authority" lines are skipped. */
  revoked: boolean;
  patterns: string;
  key: PublicKey;
}

export interface KnownHosts {
  lines: KnownHostsLine[];
  /** Lines that could not be read (an unsupported key type, a malformed key): reported, skipped. */
  unreadable: string[];
}

export function parseKnownHosts(text: string): KnownHosts {
  const lines: KnownHostsLine[] = [];
  const unreadable: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const fields = trimmed.split(/\s+/);
    let revoked = false;
    if (fields[0].startsWith("@")) {
      const marker = fields.shift();
      if (marker === "@cert-authority") return;
      if (marker !== "@revoked") {
        unreadable.push(`line ${i + 1}: unknown marker ${marker}`);
        return;
      }
      revoked = true;
    }
    const [patterns, ...keyFields] = fields;
    const key = parseAuthorizedKey(keyFields.join(" "));
    if (patterns === undefined || typeof key === "string") {
      unreadable.push(`line ${i + 1}: ${typeof key === "string" ? key : "no key"}`);
      return;
    }
    lines.push({ line: i + 1, revoked, patterns, key });
  });
  return { lines, unreadable };
}

/** The name OpenSSH looks a host up by: the bare host on port 22, else "[host]:port". */
export function knownHostsName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

function hashedMatch(entry: string, name: string): boolean {
  const [, magic, salt, hash] = entry.split("|");
  if (magic !== "1" || salt === undefined || hash === undefined) return false;
  const mac = crypto.createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest();
  const want = Buffer.from(hash, "base64");
  return want.length === mac.length && crypto.timingSafeEqual(want, mac);
}

function globMatch(pattern: string, name: string): boolean {
  const source = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`).test(name);
}

/** Whether a line's host patterns name `name`: some pattern matches and no negated one does. */
export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith("|")) return hashedMatch(patterns, name);
  let matched = false;
  for (const raw of patterns.split(",")) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!globMatch(pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** The keys known_hosts holds for host:port, and the keys it revokes for it. */
export function lookupKnownHosts(
  known: KnownHosts,
  host: string,
  port: number,
): { keys: PublicKey[]; revoked: PublicKey[] } {
  const name = knownHostsName(host, port);
  const keys: PublicKey[] = [];
  const revoked: PublicKey[] = [];
  for (const line of known.lines) {
    // A revocation applies to the key wherever it is presented, whatever the patterns say.
    if (line.revoked) revoked.push(line.key);
    else if (patternsMatch(line.patterns, name)) keys.push(line.key);
  }
  const isRevoked = (k: PublicKey) => revoked.some((r) => r.blob.equals(k.blob));
  return { keys: keys.filter((k) => !isRevoked(k)), revoked: keys.filter(isRevoked) };
}
