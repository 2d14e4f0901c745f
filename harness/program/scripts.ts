/** Recovers the scripts a program run sends to hosts, and runs shell text locally. */
import { spawnSync } from "child_process";
import { ProgramRun } from "./mocks";
import { commands } from "./queries";

/** The script inside `[sudo -n ]sh -c '<script>'`. */
export function unwrapCommandLine(line: string): string {
  const m = /^(?:sudo -n )?sh -c '([\s\S]*)'$/.exec(line);
  if (!m) throw new Error(`not a host step command line: ${line.slice(0, 60)}`);
  return m[1].replace(/'"'"'/g, "'");
}

/** Every distinct create/delete script of a run, keyed by `<step> create|delete`. */
export function scriptsOf(run: ProgramRun): Map<string, string> {
  const scripts = new Map<string, string>();
  for (const c of commands(run)) {
    for (const kind of ["create", "delete"] as const) {
      const line = c.inputs[kind];
      if (typeof line === "string") scripts.set(`${c.name} ${kind}`, unwrapCommandLine(line));
    }
  }
  return scripts;
}

export function shellcheck(scriptText: string): { status: number; output: string } {
  const shell = /^#!.*bash/.test(scriptText) ? "bash" : "sh";
  const r = spawnSync("shellcheck", [`--shell=${shell}`, "--severity=style", "-"], {
    input: scriptText,
    encoding: "utf8",
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Runs sh with the given text, stdin and environment; returns status and output. */
export function runSh(
  text: string,
  stdin = "",
  env: Record<string, string> = {},
): { status: number; stdout: string; stderr: string } {
  const r = spawnSync("sh", ["-c", text], {
    input: stdin,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
