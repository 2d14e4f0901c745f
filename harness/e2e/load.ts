/**
 * Client load through the registration address while the program runs: the LB lab's load client
 * (harness/lb-lab/load/client.ts: one new TLS connection every 15 ms to GET /ping, plus long-lived GET /watch
 * streams), run in the controller netns against lab addresses only, verifying each server against
 * the cluster's own CA (fetched from server-1). Bounded in time and count; stop() ends it early.
 *
 *   const load = await E2eLoad.start(lab, { targets: registrationTargets("haproxy") });
 *   await evaluate(...);
 *   const summary = await load.stop();   // summary.failed / summary.attempted, summary.watches.cut
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { startLoad } from "../lb-lab/load";
import type { LoadResult, LoadSpec } from "../lb-lab/load/types";
import { CONTROLLER_NS, E2E_DIR, HOST_ADDRESSES, SUBNET, ServerName, VIP } from "./constants";
import { E2eLab } from "./lab";
import { Variant } from "./stack";

export const SERVER_CA_PATH = "/var/lib/rancher/k3s/server/tls/server-ca.crt";
const LOAD_DIR = path.join(E2E_DIR, "load");
const CLIENT_SOURCE = path.join(__dirname, "..", "lb-lab", "load", "client.ts");
/** Hard bound on one load run, whatever the caller asks. */
export const MAX_LOAD_MS = 15 * 60_000;

export interface Target {
  host: string;
  port: number;
}

/** The registration address of a stack: the VIP (HAProxy) or lb-1 (Nginx). */
export function registrationTargets(variant: Variant): Target[] {
  return [{ host: variant === "haproxy" ? VIP : HOST_ADDRESSES["lb-1"], port: 6443 }];
}

export interface E2eLoadOptions {
  /** Lab addresses only; connections rotate over them. */
  targets: Target[];
  /** One new connection every intervalMs (default 15). */
  intervalMs?: number;
  /** A connection that has not answered `pong` by then failed (default 1500 ms). */
  timeoutMs?: number;
  /** Long-lived watches held open for the whole run (default 4). */
  watches?: number;
  /** A watch silent this long counts as cut (default 3500 ms; the stand-in writes every second). */
  watchStallMs?: number;
  /** Upper bound on the run if stop() is never called (default and maximum MAX_LOAD_MS). */
  maxDurationMs?: number;
  /** Which server's CA to trust (default server-1, the cluster-init server of the example stacks). */
  caFrom?: ServerName;
}

export interface LoadSummary {
  startedAt: number;
  endedAt: number;
  /** New connections started, and how many of them failed (no `pong` within timeoutMs). */
  attempted: number;
  failed: number;
  /** Failed connections by cause: timeout, ECONNREFUSED, ECONNRESET, closed, a TLS error, ... */
  causes: Record<string, number>;
  /** Start times (epoch ms) of the failed connections, for matching against program steps. */
  failedAt: number[];
  watches: { opened: number; cut: number; reasons: string[]; cutAt: number[] };
  raw: LoadResult;
}

export function summarize(result: LoadResult): LoadSummary {
  const failed = result.conns.filter((c) => !c[2]);
  const causes: Record<string, number> = {};
  for (const c of failed) causes[c[5]] = (causes[c[5]] ?? 0) + 1;
  const cut = result.watches.filter((w) => w.lostAt !== null);
  return {
    startedAt: result.startedAt,
    endedAt: result.endedAt,
    attempted: result.conns.length,
    failed: failed.length,
    causes,
    failedAt: failed.map((c) => c[0]),
    watches: {
      opened: result.watches.length,
      cut: cut.length,
      reasons: result.watches.map((w) => w.reason),
      cutAt: cut.map((w) => w.lostAt as number),
    },
    raw: result,
  };
}

function clientScript(): string {
  fs.mkdirSync(LOAD_DIR, { recursive: true, mode: 0o755 });
  const js = ts.transpileModule(fs.readFileSync(CLIENT_SOURCE, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const file = path.join(LOAD_DIR, "client.js");
  fs.writeFileSync(file, js);
  return file;
}

export class E2eLoad {
  private constructor(
    private readonly child: ChildProcess,
    readonly startedAt: number,
    private readonly result: Promise<LoadResult>,
  ) {}

  static async start(lab: E2eLab, opts: E2eLoadOptions): Promise<E2eLoad> {
    if (opts.targets.length === 0) throw new Error("load: no target");
    for (const t of opts.targets) {
      // Lab traffic only: addresses inside the namespaces the lab created.
      if (!t.host.startsWith(`${SUBNET}.`)) throw new Error(`load: ${t.host} is not a lab address`);
    }
    const caFile = path.join(LOAD_DIR, "server-ca.crt");
    const script = clientScript();
    const caHost = lab.host(opts.caFrom ?? "server-1");
    if (!fs.existsSync(caHost.hostPath(SERVER_CA_PATH))) {
      throw new Error(
        `load: ${caHost.name} has no cluster CA (${SERVER_CA_PATH}) yet: start the load once a cluster runs`,
      );
    }
    const ca = fs.readFileSync(caHost.hostPath(SERVER_CA_PATH));
    fs.writeFileSync(caFile, ca, { mode: 0o644 });
    const intervalMs = opts.intervalMs ?? 15;
    const durationMs = Math.min(opts.maxDurationMs ?? MAX_LOAD_MS, MAX_LOAD_MS);
    const spec: LoadSpec = {
      targets: opts.targets,
      caFile,
      mode: "paced",
      intervalMs,
      concurrency: 1,
      durationMs,
      maxConnections: Math.ceil(durationMs / intervalMs),
      timeoutMs: opts.timeoutMs ?? 1_500,
      watches: opts.watches ?? 4,
      watchStallMs: opts.watchStallMs ?? 3_500,
    };
    const { child, started, result } = startLoad(script, spec, CONTROLLER_NS);
    result.catch(() => undefined);
    const startedAt = await started;
    if (Number.isNaN(startedAt)) {
      await result; // rejects with what the client said
      throw new Error("load client ended before it started");
    }
    return new E2eLoad(child, startedAt, result);
  }

  /** Ends the run (no new connection after this) and returns what the client saw. */
  async stop(): Promise<LoadSummary> {
    if (this.child.exitCode === null && this.child.pid) {
      try {
        process.kill(this.child.pid, "SIGUSR2");
      } catch {
        // already gone: its result is what it printed
      }
    }
    return summarize(await this.result);
  }
}
