/** Runs the load client inside the client netns and collects its result. */
import { ChildProcess, spawn } from "child_process";
import { nsName } from "./constants";
import type { LoadResult, LoadSpec } from "./load/types";

export interface RunningLoad {
  /** Epoch ms when the client began (its watches are open by then); NaN if it died first. */
  started: Promise<number>;
  result: Promise<LoadResult>;
  child: ChildProcess;
}

/** Starts the client in network namespace `netns` (default: the LB lab's client host). */
export function startLoad(
  clientScript: string,
  spec: LoadSpec,
  netns = nsName("client"),
): RunningLoad {
  const child = spawn(
    "ip",
    ["netns", "exec", netns, process.execPath, clientScript, JSON.stringify(spec)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  let resolveStarted: (t: number) => void = () => undefined;
  const started = new Promise<number>((resolve) => (resolveStarted = resolve));
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    const m = /^started (\d+)$/m.exec(out);
    if (m) resolveStarted(Number(m[1]));
  });
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  // Backstop: the client bounds itself by durationMs; this kills it if it somehow does not stop.
  const killer = setTimeout(() => child.kill("SIGKILL"), spec.durationMs + 30_000);
  const result = new Promise<LoadResult>((resolve, reject) => {
    child.on("close", (code) => {
      clearTimeout(killer);
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (code !== 0 || !line) {
        reject(new Error(`load client exited ${code}: ${err.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line) as LoadResult);
    });
  });
  // Surface a client that dies before starting instead of waiting forever.
  result.catch(() => resolveStarted(NaN));
  return { started, result, child };
}
