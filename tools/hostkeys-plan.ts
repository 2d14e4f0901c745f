/**
 * What each host's key means for the stack (pinned and the same, pinned and different, new, not
 * found) and what a run may write: nothing when a pinned key differs or an unexpected key shows.
 */
import { Expectations, hasExpectations, isExpected } from "./hostkeys-expect";
import { PublicKey, fingerprint, parseAuthorizedKey, preferredKey, sameKey } from "./hostkeys-keys";
import { ScanOutcome } from "./hostkeys-scan";
import { StackHost } from "./hostkeys-stack";
import { readHostKeyText } from "../components/host/sshValues";

export type Status =
  /** The stack pins this very key. */
  | { kind: "same" }
  /** The stack pins nothing. */
  | { kind: "new" }
  /** The stack pins another key of the same type: refused, never overwritten. */
  | { kind: "differs"; pinned: PublicKey }
  /** The stack's hostKey is not a valid key, or known_hosts revokes it. */
  | { kind: "bad-pin"; problem: string }
  /** known_hosts holds keys of other types only: the pin is neither confirmed nor contradicted. */
  | { kind: "unconfirmed"; pinned: PublicKey; types: string[] }
  /** No key: unreachable, timed out, not in known_hosts. */
  | { kind: "missing"; reason: string };

export interface Row {
  host: StackHost;
  /** The key the host presented (or known_hosts holds for it). */
  key?: PublicKey;
  status: Status;
  /** With expectations: whether a new key is one of them. */
  expected?: boolean;
}

/**
 * The stack's pinned key: undefined when none, a string when it is not a valid key. A known_hosts
 * line is read as the program reads it (its host part must name this host and port).
 */
export function pinnedKey(host: StackHost): PublicKey | string | undefined {
  if (host.pinned === undefined) return undefined;
  const read = readHostKeyText(host.pinned, { host: host.address, port: host.port });
  const key = "problem" in read ? read.problem : parseAuthorizedKey(read.key);
  return typeof key === "string" ? `${host.field} ${key}` : key;
}

export function classifyScanned(host: StackHost, outcome: ScanOutcome): Row {
  const pinned = pinnedKey(host);
  const key = "key" in outcome ? outcome.key : undefined;
  const row = (status: Status): Row => ({ host, ...(key && { key }), status });
  if (typeof pinned === "string") return row({ kind: "bad-pin", problem: pinned });
  if (!key) return row({ kind: "missing", reason: "error" in outcome ? outcome.error : "" });
  if (!pinned) return row({ kind: "new" });
  return row(sameKey(pinned, key) ? { kind: "same" } : { kind: "differs", pinned });
}

export function classifyKnown(
  host: StackHost,
  found: { keys: PublicKey[]; revoked: PublicKey[] },
  name: string,
): Row {
  const pinned = pinnedKey(host);
  if (typeof pinned === "string") return { host, status: { kind: "bad-pin", problem: pinned } };
  if (pinned && found.revoked.some((k) => sameKey(k, pinned))) {
    const problem = `${host.field}: the pinned key is marked @revoked in known_hosts`;
    return { host, key: pinned, status: { kind: "bad-pin", problem } };
  }
  if (found.keys.length === 0) {
    const revoked = found.revoked.length > 0 ? " (its only keys there are @revoked)" : "";
    return { host, status: { kind: "missing", reason: `not in known_hosts as ${name}${revoked}` } };
  }
  if (!pinned) return { host, key: preferredKey(found.keys), status: { kind: "new" } };
  if (found.keys.some((k) => sameKey(k, pinned))) {
    return { host, key: pinned, status: { kind: "same" } };
  }
  const sameType = found.keys.find((k) => k.type === pinned.type);
  if (sameType) return { host, key: sameType, status: { kind: "differs", pinned } };
  const types = [...new Set(found.keys.map((k) => k.type))];
  return { host, key: pinned, status: { kind: "unconfirmed", pinned, types } };
}

export interface Plan {
  rows: Row[];
  /** New keys the run would write (after confirmation, when interactive). */
  writes: Row[];
  /** Pinned keys that differ or are invalid: the run writes nothing. */
  refused: Row[];
  /** With expectations: new keys that are not expected; the run writes nothing. */
  unexpected: Row[];
  /** Hosts without a key: not written, the exit status says so. */
  missing: Row[];
}

/** Marks which new keys are expected (with expectations) and sorts the rows into the plan. */
export function plan(rows: Row[], expectations: Expectations): Plan {
  const expecting = hasExpectations(expectations);
  const marked = rows.map((r) =>
    expecting && r.status.kind === "new" && r.key
      ? { ...r, expected: isExpected(expectations, r.host, fingerprint(r.key)) }
      : r,
  );
  const newRows = marked.filter((r) => r.status.kind === "new" && r.key);
  return {
    rows: marked,
    writes: newRows,
    refused: marked.filter((r) => r.status.kind === "differs" || r.status.kind === "bad-pin"),
    unexpected: newRows.filter((r) => r.expected === false),
    missing: marked.filter((r) => r.status.kind === "missing"),
  };
}
