/** Starting, signalling and finding the lab's long-running processes. */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";

/** Starts a process with stdout+stderr appended to logFile. */
export function startLogged(cmd: string, args: string[], logFile: string): ChildProcess {
  const fd = fs.openSync(logFile, "a");
  const child = spawn(cmd, args, { stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  child.on("error", () => undefined);
  return child;
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  return signal(pid, 0 as unknown as NodeJS.Signals);
}

function readLink(path: string): string | undefined {
  try {
    return fs.readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Host-side pids of processes named `comm` (any, without one) in the pid namespace of `nsPid`. */
export function pidsInPidNamespace(nsPid: number, comm?: string): number[] {
  const ns = readLink(`/proc/${nsPid}/ns/pid`);
  if (!ns) return [];
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    if (readLink(`/proc/${entry}/ns/pid`) !== ns) continue;
    try {
      if (comm === undefined || fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm)
        pids.push(Number(entry));
    } catch {
      // exited while scanning
    }
  }
  return pids;
}

/** Children of a process (needs CONFIG_PROC_CHILDREN, present on Debian kernels). */
export function childPids(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** The parent pid of `pid` (0 when it is gone): the field after comm in /proc/<pid>/stat. */
export function parentPid(pid: number): number {
  try {
    // comm may hold spaces and parentheses: the fields after the last ")" are fixed.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}
