/**
 * Bounded client load, run inside the client netns. Self-contained (node builtins only): the lab
 * transpiles it to plain JS. Reads one JSON LoadSpec from argv[2]; prints "started <epoch ms>",
 * then, when done, one JSON LoadResult line. Every loop is bounded in count and in time. SIGUSR2
 * ends the run early (no new connection after it), with the result printed as usual.
 */
import * as fs from "fs";
import * as tls from "tls";

import type { ConnRecord, LoadResult, LoadSpec, WatchRecord } from "./types";

const spec = JSON.parse(process.argv[2]) as LoadSpec;
const ca = fs.readFileSync(spec.caFile);
const conns: ConnRecord[] = [];
const watchRecords: WatchRecord[] = [];
const watchSockets: tls.TLSSocket[] = [];
let next = 0;

function target() {
  return spec.targets[next++ % spec.targets.length];
}

function ping(): Promise<void> {
  return new Promise((resolve) => {
    const { host, port } = target();
    const start = Date.now();
    // Durations from the monotonic clock, sub-millisecond; `start` stays epoch for timelines.
    const t0 = performance.now();
    const since = () => Math.round((performance.now() - t0) * 100) / 100;
    let handshakeMs = -1;
    let done = false;
    let body = "";
    const socket = tls.connect({ host, port, ca });
    const finish = (ok: boolean, error: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const end = Date.now();
      conns.push([start, end, ok ? 1 : 0, handshakeMs, ok ? since() : -1, error]);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(() => finish(false, "timeout"), spec.timeoutMs);
    socket.on("secureConnect", () => {
      handshakeMs = since();
      socket.write(`GET /ping HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    socket.on("data", (chunk: Buffer) => {
      body += chunk.toString();
      // The body may arrive chunked ("4\r\npong\r\n0\r\n\r\n").
      const bodyStart = body.indexOf("\r\n\r\n");
      if (bodyStart >= 0 && body.includes("pong", bodyStart)) finish(true, "");
    });
    socket.on("error", (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
    socket.on("close", () => finish(false, "closed"));
  });
}

function openWatch(record: WatchRecord) {
  const { host, port } = target();
  const socket = tls.connect({ host, port, ca });
  watchSockets.push(socket);
  let lastLine = Date.now();
  const lose = (reason: string, at: number) => {
    if (record.lostAt !== null) return;
    record.lostAt = at;
    record.reason = reason;
    clearInterval(stallTimer);
    socket.destroy();
  };
  const stallTimer = setInterval(() => {
    if (Date.now() - lastLine > spec.watchStallMs) lose("stalled", Date.now());
  }, 100);
  socket.on("secureConnect", () => socket.write(`GET /watch HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
  socket.on("data", (chunk: Buffer) => {
    lastLine = Date.now();
    record.lines += chunk.toString().split("\n").length - 1;
  });
  socket.on("error", (err: NodeJS.ErrnoException) => lose(err.code ?? "error", Date.now()));
  socket.on("close", () => lose("closed", Date.now()));
  return () => clearInterval(stallTimer);
}

let stopRequested = false;
process.on("SIGUSR2", () => (stopRequested = true));

async function main() {
  const startedAt = Date.now();
  const deadline = startedAt + spec.durationMs;
  const running = () => Date.now() < deadline && !stopRequested;
  const stopWatchTimers: (() => void)[] = [];
  for (let i = 0; i < spec.watches; i++) {
    const record: WatchRecord = { openedAt: Date.now(), lines: 0, lostAt: null, reason: "" };
    watchRecords.push(record);
    stopWatchTimers.push(openWatch(record));
  }
  process.stdout.write(`started ${startedAt}\n`);
  const inFlight: Promise<void>[] = [];
  let launched = 0;
  if (spec.mode === "paced") {
    while (running() && launched < spec.maxConnections) {
      inFlight.push(ping());
      launched++;
      const due = startedAt + launched * spec.intervalMs;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
  } else {
    const loop = async () => {
      while (running() && launched < spec.maxConnections) {
        launched++;
        await ping();
      }
    };
    for (let i = 0; i < spec.concurrency; i++) inFlight.push(loop());
  }
  await Promise.all(inFlight);
  stopWatchTimers.forEach((stop) => stop());
  const endedAt = Date.now();
  for (const record of watchRecords) if (record.lostAt === null) record.reason = "held";
  watchSockets.forEach((s) => s.removeAllListeners("close").destroy());
  const result: LoadResult = { startedAt, endedAt, conns, watches: watchRecords };
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
}

void main();
