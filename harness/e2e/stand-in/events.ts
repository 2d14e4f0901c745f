/**
 * The stand-in's own history on a host, kept where K3s's uninstall never looks
 * (/var/lib/k3s-stand-in-log, mode 0700, files 0600), so a test can prove what happened to K3s on
 * a host across uninstalls: every start and failed start (version, config digest, token digests),
 * every stop, rotation and snapshot, and (written by the installer's scripts) every install,
 * uninstall and killall. Never a secret: tokens appear only as the sha256 of their password.
 */
import * as fs from "fs";

export const LOG_DIR = "/var/lib/k3s-stand-in-log";
export const EVENTS_FILE = `${LOG_DIR}/events.jsonl`;

export type EventKind =
  | "install"
  | "start"
  | "start-failed"
  /** A start that never becomes ready (the never-ready fault file; see k3s.ts). */
  | "start-blocked"
  | "stop"
  | "uninstall"
  | "killall"
  | "token-rotated"
  | "etcd-snapshot"
  | "etcd-member-removed"
  | "node-deleted";

export interface StandInEvent {
  at: string;
  kind: EventKind;
  [field: string]: unknown;
}

export function recordEvent(kind: EventKind, fields: Record<string, unknown> = {}): void {
  try {
    fs.mkdirSync(LOG_DIR, { recursive: true, mode: 0o700 });
    fs.chmodSync(LOG_DIR, 0o700);
    const line = `${JSON.stringify({ at: new Date().toISOString(), kind, ...fields })}\n`;
    fs.appendFileSync(EVENTS_FILE, line, { mode: 0o600 });
  } catch (err) {
    process.stderr.write(`k3s stand-in: cannot record ${kind}: ${(err as Error).message}\n`);
  }
}

export function parseEvents(text: string): StandInEvent[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as StandInEvent);
}
