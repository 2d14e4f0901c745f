/** Reads a lab host's state from outside: stand-in records, file hashes, daemon pids, the VIP. */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { E2eHost } from "./host";
import { HOST_IF } from "./constants";

/** Where the program writes on a host; teardown and idempotence checks look here. */
export const MANAGED_PATHS = [
  "/etc/rancher",
  "/var/lib/rancher",
  "/var/lib/k3s-ha",
  "/etc/haproxy",
  "/etc/keepalived",
  "/etc/nginx",
  "/etc/init.d",
  "/usr/local/bin",
];

export interface ServerRecord {
  role: "server";
  version: string;
  argv: string[];
  config: Record<string, unknown>;
  tokenFile: { path: string; sha256: string; mode: string } | null;
  agentTokenFile: { path: string; sha256: string; mode: string } | null;
  tlsSans: string[];
  servingSans: string[];
  join: { server: string; bootstrapFrom: string } | null;
  install: { env: Record<string, string>; args: string[] } | null;
}

export interface AgentRecord {
  role: "agent";
  version: string;
  argv: string[];
  config: Record<string, unknown>;
  tokenFile: { path: string; sha256: string; mode: string } | null;
  join: {
    server: string;
    pingVerifiedTls: boolean;
    tokenCaHashChecked: boolean;
    answeredBy: string;
  };
  install: { env: Record<string, string>; args: string[] } | null;
}

function readText(host: E2eHost, p: string): string | undefined {
  try {
    return fs.readFileSync(host.hostPath(p), "utf8");
  } catch {
    return undefined;
  }
}

export function exists(host: E2eHost, p: string): boolean {
  return fs.existsSync(host.hostPath(p));
}

export function fileMode(host: E2eHost, p: string): string {
  return (fs.statSync(host.hostPath(p)).mode & 0o777).toString(8).padStart(4, "0");
}

export function fileText(host: E2eHost, p: string): string {
  const text = readText(host, p);
  if (text === undefined) throw new Error(`${host.name}: cannot read ${p}`);
  return text;
}

export function standInRecord<T = ServerRecord | AgentRecord>(host: E2eHost): T {
  return JSON.parse(fileText(host, "/var/lib/rancher/k3s/stand-in-record.json")) as T;
}

export function jsonLines(host: E2eHost, p: string): Record<string, unknown>[] {
  return (readText(host, p) ?? "")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export const joinsOf = (host: E2eHost) =>
  jsonLines(host, "/var/lib/rancher/k3s/stand-in-joins.jsonl");
export const installsOf = (host: E2eHost) =>
  jsonLines(host, "/var/lib/rancher/k3s/stand-in-installs.jsonl");

/** Every file under the managed paths: path → "mode sha256" (symlinks: "link target"). */
export function treeHashes(host: E2eHost): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    const full = host.hostPath(p);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(full);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) out[p] = `link ${fs.readlinkSync(full)}`;
    else if (st.isDirectory()) {
      out[p] = `dir ${(st.mode & 0o777).toString(8)}`;
      for (const entry of fs.readdirSync(full).sort()) walk(path.posix.join(p, entry));
    } else {
      const hash = createHash("sha256").update(fs.readFileSync(full)).digest("hex");
      out[p] = `${(st.mode & 0o777).toString(8)} ${hash}`;
    }
  };
  for (const p of MANAGED_PATHS) walk(p);
  return out;
}

/** Host-side pids of the LB daemons and the K3s stand-in (its pid file) on a host. */
export function daemonPids(host: E2eHost): Record<string, number[]> {
  const standIn = ["/run/k3s.pid", "/run/k3s-agent.pid"]
    .map((p) => readText(host, p)?.trim())
    .filter((pid): pid is string => pid !== undefined && pid !== "")
    .map(Number);
  return {
    haproxy: host.pids("haproxy").sort(),
    keepalived: host.pids("keepalived").sort(),
    nginx: host.pids("nginx").sort(),
    // pids inside the host's pid namespace, as the pid files hold them
    k3s: standIn.sort(),
  };
}

/** Every process on the host whose command line names one of the daemons the program runs. */
export function runningDaemons(host: E2eHost): string[] {
  const found: string[] = [];
  for (const comm of ["haproxy", "keepalived", "nginx"]) {
    if (host.pids(comm).length > 0) found.push(comm);
  }
  for (const pid of host.pids("node")) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes("/usr/local/bin/k3s")) found.push(`k3s stand-in (${cmd.trim()})`);
    } catch {
      // exited
    }
  }
  return found;
}

export async function hostAddresses(host: E2eHost): Promise<string[]> {
  const out = await host.exec("ip", ["-o", "-4", "addr", "show", "dev", HOST_IF], {
    allowFailure: true,
  });
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
}

/** GETs a URL from inside a host with curl (certificate not checked); "" when it fails. */
export function curlFrom(host: E2eHost, url: string): Promise<string> {
  return host.exec("curl", ["-ksS", "--max-time", "3", url], { allowFailure: true });
}
