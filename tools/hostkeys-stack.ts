/**
 * The stack file's SSH hosts (servers, agents, lbHosts, the bastion) and the edit that pins their
 * keys: the yaml Document API, hostKey fields only, comments, order and formatting kept.
 */
import { defaultOf } from "../components/config/keys";
import { isDeepStrictEqual } from "util";
import { Document, isMap, isScalar, parseDocument, ToStringOptions, YAMLMap } from "yaml";

const NS = "k3s-ha";

/** One host the program reaches over SSH, as the stack file describes it. */
export interface StackHost {
  /** The host's name; "sshBastion" for the jump host. */
  name: string;
  /** Where the program connects: an IP address (the bastion's may be a DNS name). */
  address: string;
  port: number;
  /** The hostKey field as validation names it, e.g. "servers[1].hostKey". */
  field: string;
  /** The path of the host's YAML map from the document's root. */
  entryPath: (string | number)[];
  /** The key hostKey goes right after when the entry has none. */
  after: string;
  /** The key the stack pins, as written (undefined: none). */
  pinned?: string;
}

export interface StackBastion extends StackHost {
  user: string;
}

export interface StackHosts {
  /** The bastion first when there is one, then servers, agents and lbHosts in file order. */
  hosts: StackHost[];
  bastion?: StackBastion;
  user: string;
  port: number;
  privateKeyPath?: string;
  /** Entries that cannot be scanned (no name or address): reported, skipped. */
  skipped: string[];
  /** Settings the tool cannot work with (a malformed port, a hostKey that is not a string). */
  errors: string[];
}

const LISTS = [
  ["servers", "servers"],
  ["agents", "agents"],
  ["lbHosts", "lbHosts"],
] as const;

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A port as the stack holds it: a number, or a string Pulumi hands over as JSON. */
function readPort(value: unknown, field: string, errors: string[]): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const port = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  errors.push(`${field}: expected an integer from 1 to 65535, got ${JSON.stringify(value)}`);
  return undefined;
}

function readPinned(value: unknown, field: string, errors: string[]): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string") return value;
  errors.push(`${field}: expected a string "ssh-ed25519 AAAA...", got ${JSON.stringify(value)}`);
  return undefined;
}

/** Reads the hosts and SSH settings from a stack file's text. Throws when it is not YAML. */
export function readStackHosts(text: string): StackHosts {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`not valid YAML: ${doc.errors[0].message}`);
  const config = record(record(doc.toJS())?.config) ?? {};
  const errors: string[] = [];
  // As the Pulumi CLI reads a stack file (see tools/stack-file.ts): `sshUser` is `k3s-ha:sshUser`.
  const spellings = new Map<string, string>();
  const spelling = (key: string): string => {
    const known = spellings.get(key);
    if (known !== undefined) return known;
    const written = [`${NS}:${key}`, key, `${NS}:config:${key}`].filter((k) => k in config);
    if (written.length > 1)
      errors.push(`${written.join(" and ")}: the same key set twice; keep one`);
    spellings.set(key, written[0] ?? `${NS}:${key}`);
    return written[0] ?? `${NS}:${key}`;
  };
  const get = (key: string) => config[spelling(key)];
  const skipped: string[] = [];
  const userValue = get("sshUser");
  const user = typeof userValue === "string" && userValue !== "" ? userValue : defaultOf("sshUser");
  const port = readPort(get("sshPort"), "sshPort", errors) ?? defaultOf("sshPort");
  const keyPathValue = get("sshPrivateKeyPath");
  const privateKeyPath =
    typeof keyPathValue === "string" && keyPathValue !== "" ? keyPathValue : undefined;
  const hosts: StackHost[] = [];

  let bastion: StackBastion | undefined;
  const rawBastion = get("sshBastion");
  if (rawBastion !== undefined && rawBastion !== null) {
    const b = record(rawBastion);
    if (!b || typeof b.host !== "string" || b.host === "") {
      errors.push("sshBastion: expected an object {host, user?, port?, hostKey?} with a host");
    } else {
      const pinned = readPinned(b.hostKey, "sshBastion.hostKey", errors);
      bastion = {
        name: "sshBastion",
        address: b.host,
        // As the program does: the bastion's port defaults to 22, its user to sshUser.
        port: readPort(b.port, "sshBastion.port", errors) ?? defaultOf("sshPort"),
        user: typeof b.user === "string" && b.user !== "" ? b.user : user,
        field: "sshBastion.hostKey",
        entryPath: ["config", spelling("sshBastion")],
        after: "host",
        ...(pinned !== undefined && { pinned }),
      };
      hosts.push(bastion);
    }
  }

  for (const [key, label] of LISTS) {
    const list = get(key);
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      errors.push(`${label}: expected a YAML list of hosts`);
      continue;
    }
    list.forEach((item: unknown, i) => {
      const entry = record(item);
      const path = `${label}[${i}]`;
      if (!entry || typeof entry.name !== "string" || typeof entry.address !== "string") {
        skipped.push(`${path}: no name or address, not scanned`);
        return;
      }
      const pinned = readPinned(entry.hostKey, `${path}.hostKey`, errors);
      hosts.push({
        name: entry.name,
        address: entry.address,
        port,
        field: `${path}.hostKey`,
        entryPath: ["config", spelling(key), i],
        after: "address",
        ...(pinned !== undefined && { pinned }),
      });
    });
  }
  return {
    hosts,
    ...(bastion && { bastion }),
    user,
    port,
    ...(privateKeyPath !== undefined && { privateKeyPath }),
    skipped,
    errors,
  };
}

export interface HostKeyWrite {
  host: StackHost;
  /** "ssh-ed25519 AAAA...". */
  key: string;
}

/** Serializations tried, first the library's defaults: the one that reproduces the file is used. */
const STYLES: ToStringOptions[] = [
  { lineWidth: 0 },
  { lineWidth: 0, indentSeq: false },
  { lineWidth: 0, indent: 4 },
  { lineWidth: 0, indent: 4, indentSeq: false },
];

function setHostKey(doc: Document, write: HostKeyWrite): void {
  const map = doc.getIn(write.host.entryPath, true);
  if (!isMap(map)) throw new Error(`${write.host.field}: the entry is not a YAML map`);
  const entry: YAMLMap = map;
  const keyOf = (item: { key: unknown }) => (isScalar(item.key) ? item.key.value : item.key);
  const existing = entry.items.find((item) => keyOf(item) === "hostKey");
  if (existing) {
    existing.value = doc.createNode(write.key);
    return;
  }
  const at = entry.items.findIndex((item) => keyOf(item) === write.host.after);
  const index = at === -1 ? entry.items.length : at + 1;
  entry.items.splice(index, 0, doc.createPair("hostKey", write.key));
}

const HOST_KEY_LINE = /\bhostKey\s*:/;

/**
 * The stack file's text with each write's hostKey set (after `address`, or `host` for the bastion).
 * Throws, changing nothing, unless every other line of the file comes out as it was.
 */
export function withHostKeys(original: string, writes: HostKeyWrite[]): string {
  // The library ends a document with a newline; a file without one keeps it that way.
  const text = original.endsWith("\n") ? original : `${original}\n`;
  const style = STYLES.find((s) => parseDocument(text).toString(s) === text);
  if (!style) {
    throw new Error(
      "the stack file's formatting cannot be reproduced by the YAML library, so it is not edited",
    );
  }
  const doc = parseDocument(text);
  for (const write of writes) setHostKey(doc, write);
  const out = doc.toString(style);

  // Every line but the hostKey lines is unchanged, and the values are the old ones plus the keys.
  const others = (t: string) => t.split("\n").filter((line) => !HOST_KEY_LINE.test(line));
  const expected = parseDocument(text);
  for (const write of writes) expected.setIn([...write.host.entryPath, "hostKey"], write.key);
  if (
    !isDeepStrictEqual(others(out), others(text)) ||
    !isDeepStrictEqual(parseDocument(out).toJS(), expected.toJS())
  ) {
    throw new Error("the edit would change more than the hostKey fields, so it is not made");
  }
  return text === original ? out : out.slice(0, -1);
}
