/**
 * CPU cgroups for the LB hosts (cgroup v1 `cpu` controller, with CFS bandwidth): each host's whole
 * process tree runs in `<root>/k3sha-lab/<host>` with a quota of one CPU, and each daemon in a
 * child group named after its systemd unit (`<host>/keepalived.service`), so a host starved of CPU
 * starves only itself and a unit's processes can be found (and killed) as systemd does.
 *
 * cgroup v2 is not supported: its cpu controller cannot take real-time tasks in a child group when
 * the kernel has RT group scheduling, and this lab's machine (cgroup v1) cannot check a v2 path.
 */
import * as fs from "fs";
import * as path from "path";
import { LB_HOSTS, PREFIX } from "./constants";
import { signal } from "../shared/processes";
import { waitFor } from "../shared/sh";

export const CPU_ROOT = "/sys/fs/cgroup/cpu";
/** Parent group of every lab host group; removed on lab teardown. */
export const LAB_CGROUP = path.join(CPU_ROOT, PREFIX.replace(/-$/, ""));

const PERIOD_US = 100_000;
/** One CPU per host: its busy loops can take it all while other hosts keep theirs. */
const HOST_QUOTA_US = PERIOD_US;
/**
 * With CONFIG_RT_GROUP_SCHED=y (this machine) a group's real-time tasks may run only for
 * cpu.rt_runtime_us per cpu.rt_period_us, and a group created without a budget gets 0: KeepAlived's
 * vrrp_rt_priority (SCHED_RR) then fails with EPERM and the VRRP process competes with busy loops
 * as an ordinary task. Debian's and Ubuntu's kernels do not enable RT group scheduling: there
 * SCHED_RR tasks are bounded only by the machine-wide 950 ms per second. The budget reproduces
 * that as closely as the root group allows: the two hosts share up to 900 of its 950 ms, less what
 * other groups on the machine hold. A small budget changes KeepAlived's behaviour: at 100 ms per
 * host, each of three reloads (SIGHUP) of a SCHED_RR KeepAlived had its VRRP process SIGKILLed
 * ("has rlimit_rttime been exceeded?"); at 450 ms, none.
 */
const HOST_RT_RUNTIME_MAX_US = 450_000;
/** Below this per host the lab refuses to start rather than run a different KeepAlived. */
const HOST_RT_RUNTIME_MIN_US = 200_000;
const UNIT_RT_UNITS = ["keepalived.service"];

export function cgroupsSupported(): boolean {
  return fs.existsSync(path.join(CPU_ROOT, "cpu.cfs_quota_us"));
}

function requireV1(): void {
  if (!cgroupsSupported()) {
    throw new Error(
      `the LB lab needs the cgroup v1 cpu controller with CFS bandwidth at ${CPU_ROOT} ` +
        "(cpu.cfs_quota_us); cgroup v2 is not supported",
    );
  }
}

function write(dir: string, file: string, value: number | string): void {
  fs.writeFileSync(path.join(dir, file), String(value));
}

export function hostCgroup(host: string): string {
  return path.join(LAB_CGROUP, host);
}

export function unitCgroup(host: string, unit: string): string {
  return path.join(hostCgroup(host), unit);
}

function readNumber(file: string): number {
  try {
    return Number(fs.readFileSync(file, "utf8").trim());
  } catch {
    return 0;
  }
}

/** The RT budget each host gets: what the root group has left for the lab, split between hosts. */
function hostRtBudget(): number {
  const root = readNumber(path.join(CPU_ROOT, "cpu.rt_runtime_us"));
  const others = fs
    .readdirSync(CPU_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && path.join(CPU_ROOT, e.name) !== LAB_CGROUP)
    .map((e) => ({
      name: e.name,
      us: readNumber(path.join(CPU_ROOT, e.name, "cpu.rt_runtime_us")),
    }))
    .filter((g) => g.us > 0);
  // The root keeps 50 ms for its own real-time tasks.
  const free = root - 50_000 - others.reduce((sum, g) => sum + g.us, 0);
  const perHost = Math.min(
    HOST_RT_RUNTIME_MAX_US,
    Math.floor(free / LB_HOSTS.length / 1000) * 1000,
  );
  if (perHost < HOST_RT_RUNTIME_MIN_US) {
    const held = others.map((g) => `${g.name} ${g.us} us`).join(", ");
    throw new Error(
      `the LB lab needs ${HOST_RT_RUNTIME_MIN_US} us of real-time budget per LB host and ` +
        `${CPU_ROOT} has ${free} us left for both (held by: ${held || "nothing else"})`,
    );
  }
  return perHost;
}

let rtBudget = 0;

function ensureLabCgroup(): void {
  requireV1();
  if (!fs.existsSync(LAB_CGROUP)) fs.mkdirSync(LAB_CGROUP);
  const rt = path.join(LAB_CGROUP, "cpu.rt_runtime_us");
  if (!fs.existsSync(rt)) return;
  rtBudget = readNumber(rt) / LB_HOSTS.length;
  if (rtBudget === 0) {
    rtBudget = hostRtBudget();
    write(LAB_CGROUP, "cpu.rt_runtime_us", rtBudget * LB_HOSTS.length);
  }
}

/** The host's group with a one-CPU quota and an RT budget; empty (its old processes gone). */
export function createHostCgroup(host: string): string {
  ensureLabCgroup();
  const dir = hostCgroup(host);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir);
  write(dir, "cpu.cfs_period_us", PERIOD_US);
  write(dir, "cpu.cfs_quota_us", HOST_QUOTA_US);
  if (rtBudget) write(dir, "cpu.rt_runtime_us", rtBudget);
  return dir;
}

/** A unit's group inside the host's (created on first use); KeepAlived's gets the RT budget. */
export function createUnitCgroup(host: string, unit: string): string {
  const dir = unitCgroup(host, unit);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir);
  if (rtBudget && UNIT_RT_UNITS.includes(unit)) write(dir, "cpu.rt_runtime_us", rtBudget);
  return dir;
}

/** Pids in a group (not its children); [] when it does not exist. */
export function cgroupPids(dir: string): number[] {
  try {
    return fs
      .readFileSync(path.join(dir, "cgroup.procs"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * argv that runs `argv` inside the group: a shell moves itself in, then execs, so the command and
 * everything it starts are in the group from their first instruction.
 */
export function inCgroup(dir: string, argv: string[]): [string, string[]] {
  return ["sh", ["-c", `echo $$ > ${dir}/cgroup.procs && exec "$@"`, "sh", ...argv]];
}

export interface CpuStat {
  periods: number;
  throttledPeriods: number;
  throttledMs: number;
}

export function cpuStat(dir: string): CpuStat {
  const fields = new Map(
    fs
      .readFileSync(path.join(dir, "cpu.stat"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ") as [string, string]),
  );
  return {
    periods: Number(fields.get("nr_periods") ?? 0),
    throttledPeriods: Number(fields.get("nr_throttled") ?? 0),
    throttledMs: Math.round(Number(fields.get("throttled_time") ?? 0) / 1e6),
  };
}

function subgroups(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

/** Kills whatever is left in a group tree and removes it, deepest first. */
export async function removeCgroupTree(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  for (const sub of subgroups(dir)) await removeCgroupTree(sub);
  // rmdir fails with EBUSY until every process has left the group.
  await waitFor(
    `${dir} to be empty and removed`,
    () => {
      for (const pid of cgroupPids(dir)) signal(pid, "SIGKILL");
      try {
        fs.rmdirSync(dir);
        return true;
      } catch {
        return false;
      }
    },
    10_000,
    20,
  );
}

export async function removeLabCgroups(): Promise<void> {
  if (cgroupsSupported()) await removeCgroupTree(LAB_CGROUP);
}
