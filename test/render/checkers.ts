/**
 * Runs the real daemons' config checkers (haproxy -c, keepalived -t, nginx -t, shellcheck) on
 * rendered text written to a temporary directory. A missing tool fails the test: CI installs them.
 */
import { spawn } from "child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";
import { shQuote, withLibrary } from "../../components/host/script";
import { bindScriptUserFiles, writeScriptUserFiles } from "../../harness/lb-lab/script-user";

export interface CheckResult {
  /** Exit code; null when the process was killed (timeout) or could not start. */
  code: number | null;
  /** stdout and stderr, interleaved as they arrived. */
  output: string;
}

/** Runs argv[0] with the remaining arguments (no shell), killing it after `timeoutMs`. */
export function run(argv: string[], timeoutMs = 20_000): Promise<CheckResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: null, output: `${output}\n[cannot run ${argv[0]}: ${err.message}]` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Calls `fn` with a fresh directory under the system temp dir (mode 0700) and removes it after. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), "k3s-ha-render-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `text` to `dir/name` with `mode` and returns the path. */
export async function writeText(dir: string, name: string, text: string, mode = 0o644) {
  const file = path.join(dir, name);
  await writeFile(file, text, { mode });
  await chmod(file, mode); // writeFile's mode is filtered by the umask
  return file;
}

/** `haproxy -c -f <file>`. */
export function checkHaproxy(cfg: string): Promise<CheckResult> {
  return withTempDir(async (dir) =>
    run(["haproxy", "-c", "-f", await writeText(dir, "haproxy.cfg", cfg)]),
  );
}

/**
 * `nginx -t -c <file>`. The file is checked as rendered, except that a docker-mode file gets
 * `load_module` for the stream module prepended: the official image has stream built in, while
 * this host's Debian nginx loads it as a module (native files include modules-enabled for that).
 * nginx -t opens the log files the file names but neither binds ports nor writes the pid file.
 */
export function checkNginx(conf: string, mode: "native" | "docker"): Promise<CheckResult> {
  const text =
    mode === "docker" ? `load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n${conf}` : conf;
  return withTempDir(async (dir) =>
    run(["nginx", "-t", "-c", await writeText(dir, "nginx.conf", text)]),
  );
}

/** `shellcheck` on a script (the shebang picks the dialect). */
export function checkShell(script: string): Promise<CheckResult> {
  return withTempDir(async (dir) => run(["shellcheck", await writeText(dir, "script.sh", script)]));
}

/**
 * Runs `command` (sh) inside network namespace `netns` with the check script's user
 * (keepalived_script) in private copies of /etc/passwd and /etc/group, as on an LB host the
 * program configured; `ip netns exec` gives it a mount namespace of its own, so the copies are
 * bound there only.
 */
export async function runAsLbHost(
  netns: string,
  dir: string,
  command: string,
  timeoutMs?: number,
): Promise<CheckResult> {
  const users = writeScriptUserFiles(dir);
  return run(
    ["ip", "netns", "exec", netns, "sh", "-c", `${bindScriptUserFiles(users)} && ${command}`],
    timeoutMs,
  );
}

/**
 * `keepalived -t -f <file>` as the program's config step runs it (lb-lib.sh keepalived_test),
 * inside network namespace `netns` (which must have the interface the file names: keepalived -t
 * rejects a missing one). `render` gets the path of `checkScript`, written 0755 in a root-owned
 * 0755 directory: enable_script_security refuses a path others can write, and the script user
 * must reach the script. `scriptMode` and `dirMode` let a test break either.
 */
export function checkKeepalived(
  netns: string,
  render: (checkScriptPath: string) => string,
  checkScript: string,
  scriptMode = 0o755,
  dirMode = 0o755,
): Promise<CheckResult> {
  return withTempDir(async (dir) => {
    const scriptDir = path.join(dir, "scripts");
    await mkdir(scriptDir);
    const script = await writeText(scriptDir, "check_haproxy.sh", checkScript, scriptMode);
    await chmod(scriptDir, dirMode);
    await chmod(dir, 0o755);
    const conf = await writeText(dir, "keepalived.conf", render(script));
    return runAsLbHost(netns, dir, `exec sh -c ${shQuote(configStepTest(conf))}`);
  });
}

/** The config step's `keepalived -t` (lb-lib.sh keepalived_test) of `conf`, as a script. */
export function configStepTest(conf: string): string {
  return withLibrary(`keepalived_test ${shQuote(conf)}`);
}
