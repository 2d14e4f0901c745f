/** What the load client is asked to do and what it reports. Shared by the client and the lab. */

export interface LoadSpec {
  targets: { host: string; port: number }[];
  caFile: string;
  /** "paced": one new connection every intervalMs; "closed": `concurrency` back-to-back loops. */
  mode: "paced" | "closed";
  intervalMs: number;
  concurrency: number;
  durationMs: number;
  maxConnections: number;
  timeoutMs: number;
  /** Long-lived GET /watch connections held open for the whole run. */
  watches: number;
  /** A watch that sends nothing for this long counts as lost (a hung peer). */
  watchStallMs: number;
}

/** [startEpochMs, endEpochMs, ok 1/0, handshakeMs, firstByteMs, error] */
export type ConnRecord = [number, number, number, number, number, string];

export interface WatchRecord {
  openedAt: number;
  lines: number;
  /** When the watch broke (closed, errored or stalled), or null if it lasted the whole run. */
  lostAt: number | null;
  reason: string;
}

export interface LoadResult {
  startedAt: number;
  endedAt: number;
  conns: ConnRecord[];
  watches: WatchRecord[];
}
