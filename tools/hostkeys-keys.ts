/** SSH public host keys: the authorized_keys form a stack pins, the blob a handshake sends, fingerprints. */
import * as crypto from "crypto";
import { HOST_KEY_TYPES, hostKeyProblem } from "../components/host/sshValues";

/** A public host key: its type and its wire-format blob (what the base64 field holds). */
export interface PublicKey {
  type: string;
  blob: Buffer;
}

/** Host key types in the order the scan asks for them (ed25519 first, RSA last): the program's own list. */
export const PREFERRED_KEY_TYPES = HOST_KEY_TYPES;

/**
 * The handshake's host key algorithms that present a key of `type`. An RSA key is the same blob
 * whichever signature algorithm the handshake negotiates.
 */
export function algorithmsFor(type: string): string[] {
  return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

/** Every algorithm of PREFERRED_KEY_TYPES, in order: what an unpinned host is asked for. */
export function preferredAlgorithms(): string[] {
  return PREFERRED_KEY_TYPES.flatMap(algorithmsFor);
}

/** The key type a wire-format blob names (its first string), or undefined when malformed. */
export function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || 4 + length > blob.length) return undefined;
  return blob.subarray(4, 4 + length).toString("latin1");
}

/** A key from its wire-format blob, as a handshake presents it. */
export function keyFromBlob(blob: Buffer): PublicKey | string {
  const type = blobType(blob);
  if (type === undefined) return "the host key blob is malformed";
  return { type, blob: Buffer.from(blob) };
}

/** Parses "<type> <base64> [comment]" (known_hosts / authorized_keys form); a string is the problem. */
export function parseAuthorizedKey(line: string): PublicKey | string {
  const problem = hostKeyProblem(line);
  if (problem) return problem;
  const [type, data] = line.trim().split(/\s+/);
  return { type, blob: Buffer.from(data, "base64") };
}

/** "ssh-ed25519 AAAA...": what a stack's hostKey holds, without a comment. */
export function authorizedForm(key: PublicKey): string {
  return `${key.type} ${key.blob.toString("base64")}`;
}

/** The fingerprint as `ssh-keygen -lf` prints it: SHA256 of the blob, base64 without padding. */
export function fingerprint(key: PublicKey): string {
  const digest = crypto.createHash("sha256").update(key.blob).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

export function sameKey(a: PublicKey, b: PublicKey): boolean {
  return a.type === b.type && a.blob.equals(b.blob);
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** A SHA256 fingerprint as ssh-keygen prints it (trailing "=" padding tolerated), or undefined. */
export function normalizeFingerprint(text: string): string | undefined {
  const trimmed = text.trim().replace(/=+$/, "");
  return FINGERPRINT.test(trimmed) ? trimmed : undefined;
}

/** Of several keys, the one the scan would have asked for first (ed25519 before ECDSA before RSA). */
export function preferredKey(keys: PublicKey[]): PublicKey | undefined {
  const rank = (k: PublicKey) => {
    const i = (PREFERRED_KEY_TYPES as readonly string[]).indexOf(k.type);
    return i === -1 ? PREFERRED_KEY_TYPES.length : i;
  };
  return [...keys].sort((a, b) => rank(a) - rank(b))[0];
}
