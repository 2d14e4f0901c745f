/** Reads HAProxy's server states over its admin socket, reached through the host's /proc root. */
import * as net from "net";

/** "server name" -> status ("UP", "DOWN", "UP 1/3", "MAINT", ...) for one backend. */
export function readServerStatus(
  socketPath: string,
  backend: string,
  timeoutMs = 1_000,
): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    let out = "";
    const socket = net.connect({ path: socketPath });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${socketPath} in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write("show stat\n"));
    socket.on("data", (chunk) => (out += chunk.toString()));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("end", () => {
      clearTimeout(timer);
      resolve(parseShowStat(out, backend));
    });
  });
}

export function parseShowStat(csv: string, backend: string): Map<string, string> {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const header = (lines.shift() ?? "").replace(/^# /, "").split(",");
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`HAProxy 'show stat' has no ${name} column`);
    return i;
  };
  const [px, sv, status] = [col("pxname"), col("svname"), col("status")];
  const out = new Map<string, string>();
  for (const line of lines) {
    const f = line.split(",");
    if (f[px] === backend && f[sv] !== "BACKEND") out.set(f[sv], f[status]);
  }
  return out;
}
