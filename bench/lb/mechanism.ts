/**
 * What the failover mechanism itself costs on each LB host while nothing goes wrong: VRRP
 * packets per second on the wire and CPU of KeepAlived plus its check script.
 *
 * - Packets: the kernel's per-netns IP counters (/proc/<pid>/net/snmp and netstat of a process in
 *   the host's netns, what `nstat` reads). VRRP is IP protocol 112, neither TCP, UDP nor ICMP, so
 *   the packets a host sends of another protocol are its VRRP adverts:
 *   Ip.OutTransmits − Tcp.OutSegs − Tcp.RetransSegs − Udp.OutDatagrams − Icmp.OutMsgs.
 *   OutTransmits, not OutRequests: KeepAlived writes its own IP header (IP_HDRINCL), and such
 *   packets reach OutTransmits only (checked on this kernel with a raw socket in a scratch netns).
 *   In multicast mode IpExt.OutMcastPkts counts the same adverts a second way (shown next to it).
 * - CPU: utime + stime + cutime + cstime of the host's keepalived processes (/proc/<pid>/stat).
 *   The check script and its curl are children the VRRP process waits for, so their CPU arrives
 *   in its cutime/cstime when each run is reaped (a run in flight at the end of the window is
 *   counted in the next one: ± one run).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { LB_HOSTS, LbHostName } from "../../harness/lb-lab/constants";
import { CONFIG_SETS, ConfigName, VrrpMode } from "../../harness/lb-lab/configs/config-set";
import { LbTier } from "../../harness/lb-lab/lb-tier";
import { sleep } from "../../harness/shared/sh";

export interface MechanismCost {
  config: string;
  vrrp: string;
  host: LbHostName;
  role: "holder" | "backup";
  windowMs: number;
  /** IP packets of a protocol other than TCP, UDP and ICMP sent by the host, per second. */
  vrrpPacketsPerSec: number;
  /** IPv4 multicast packets sent by the host, per second. */
  multicastPacketsPerSec: number;
  /** CPU seconds per minute of keepalived processes + reaped check-script children. */
  keepalivedCpuSPerMin: number;
  keepalivedProcesses: number;
}

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim();
    clkTck = Number(out) > 0 ? Number(out) : 100;
  }
  return clkTck;
}

/** "Ip: a b c\nIp: 1 2 3" → { "Ip.a": 1, ... } */
export function parseSnmp(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split("\n").filter((l) => l.includes(":"));
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [prefix, names] = lines[i].split(":");
    const [prefix2, values] = lines[i + 1].split(":");
    if (prefix !== prefix2) continue;
    const n = names.trim().split(/\s+/);
    const v = values.trim().split(/\s+/);
    n.forEach((name, j) => (out[`${prefix}.${name}`] = Number(v[j])));
  }
  return out;
}

/** Packets the host sent that are not TCP/UDP/ICMP (its VRRP adverts), from snmp counters. */
export function otherProtocolPackets(c: Record<string, number>): number {
  return (
    c["Ip.OutTransmits"] -
    c["Tcp.OutSegs"] -
    c["Tcp.RetransSegs"] -
    c["Udp.OutDatagrams"] -
    c["Icmp.OutMsgs"]
  );
}

/** utime + stime + cutime + cstime (fields 14-17) in ticks; 0 if the process is gone. */
export function processTicks(statLine: string): number {
  // comm (field 2) may contain spaces: fields after it start after the last ')'.
  const rest = statLine.slice(statLine.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): field k is rest[k - 3].
  return [14, 15, 16, 17].reduce((sum, k) => sum + Number(rest[k - 3]), 0);
}

interface Snapshot {
  at: number;
  counters: Record<string, number>;
  ticks: Map<number, number>;
}

/** ppid (field 4) of a /proc/<pid>/stat line. */
function ppidOf(statLine: string): number {
  return Number(statLine.slice(statLine.lastIndexOf(")") + 2).split(" ")[1]);
}

/**
 * The host's KeepAlived main process and its VRRP child, by pid. Processes it forks to run the
 * check script are also named keepalived until they exec; they are grandchildren and left out
 * (their CPU reaches the VRRP process's cutime/cstime when it reaps them).
 */
function keepalivedDaemons(pids: number[]): Map<number, string> {
  const stats = new Map<number, string>();
  for (const pid of pids) {
    try {
      stats.set(pid, fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
      // exited meanwhile
    }
  }
  const main = [...stats.keys()].filter((pid) => !stats.has(ppidOf(stats.get(pid)!)));
  const out = new Map<number, string>();
  for (const [pid, line] of stats) {
    if (main.includes(pid) || main.includes(ppidOf(line))) out.set(pid, line);
  }
  return out;
}

function snapshot(tier: LbTier, host: LbHostName): Snapshot {
  const h = tier.hosts[host];
  const daemons = keepalivedDaemons(h.pids("keepalived"));
  const inNetns = [...daemons.keys()][0] ?? h.pids("haproxy")[0];
  if (!inNetns) throw new Error(`no keepalived or haproxy process on ${host} to read counters of`);
  const counters = {
    ...parseSnmp(fs.readFileSync(`/proc/${inNetns}/net/snmp`, "utf8")),
    ...parseSnmp(fs.readFileSync(`/proc/${inNetns}/net/netstat`, "utf8")),
  };
  const ticks = new Map<number, number>();
  for (const [pid, line] of daemons) ticks.set(pid, processTicks(line));
  return { at: Date.now(), counters, ticks };
}

/**
 * Starts the pair with each config, lets it settle, and reads both hosts' counters over an idle
 * window (no client load). A keepalived process that is not in both snapshots (restarted) fails
 * the measurement rather than being silently dropped.
 */
export async function measureMechanismCost(
  tier: LbTier,
  configs: { config: ConfigName; vrrp: VrrpMode }[],
  windowMs: number,
  settleMs = 1_000,
): Promise<MechanismCost[]> {
  const out: MechanismCost[] = [];
  for (const { config, vrrp } of configs) {
    const set = CONFIG_SETS[config];
    if (!set) throw new Error(`unknown config ${config}`);
    const holder = await tier.startHaproxyPair(set, vrrp);
    await sleep(settleMs);
    const before = LB_HOSTS.map((h) => snapshot(tier, h));
    await sleep(windowMs);
    const after = LB_HOSTS.map((h) => snapshot(tier, h));
    LB_HOSTS.forEach((host, i) => {
      const [a, b] = [before[i], after[i]];
      const seconds = (b.at - a.at) / 1000;
      let ticks = 0;
      for (const [pid, t] of b.ticks) {
        const t0 = a.ticks.get(pid);
        if (t0 === undefined)
          throw new Error(`keepalived pid ${pid} on ${host} appeared mid-window`);
        ticks += t - t0;
      }
      if (b.ticks.size !== a.ticks.size) throw new Error(`a keepalived process on ${host} exited`);
      const delta = (k: string) => (b.counters[k] ?? NaN) - (a.counters[k] ?? NaN);
      out.push({
        config,
        vrrp,
        host,
        role: host === holder ? "holder" : "backup",
        windowMs: b.at - a.at,
        vrrpPacketsPerSec:
          (otherProtocolPackets(b.counters) - otherProtocolPackets(a.counters)) / seconds,
        multicastPacketsPerSec: delta("IpExt.OutMcastPkts") / seconds,
        keepalivedCpuSPerMin: ((ticks / ticksPerSecond()) * 60) / seconds,
        keepalivedProcesses: b.ticks.size,
      });
    });
  }
  await tier.stop();
  return out;
}
