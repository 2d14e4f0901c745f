/**
 * Pins the stack's SSH host keys (trust on first use, made deliberate): scans every host's key
 * (through the bastion when the stack has one, the bastion's own key too), or reads them from a
 * known_hosts file, prints each fingerprint as `ssh-keygen -lf` does with what the stack pins, and
 * writes the new keys' hostKey fields only once confirmed, expected, or taken from known_hosts.
 * A pinned key that differs is never overwritten.
 *
 *   npm run hostkeys -- --stack dev                          scan, show, ask [y/N]
 *   npm run hostkeys -- --stack dev --expect SHA256:... ...  write only expected keys
 *   npm run hostkeys -- --stack dev --expect-file fingerprints.txt
 *   npm run hostkeys -- --stack dev --known-hosts ~/.ssh/known_hosts
 *
 * Exit status: 0 every host is pinned; 1 refused (a pinned key differs, an unexpected key, bad
 * input), nothing written; 2 some hosts are left unpinned (unreachable, not confirmed).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as readline from "readline";
import { parseArgs } from "util";
import {
  Expectations,
  addExpectFile,
  addExpected,
  emptyExpectations,
  hasExpectations,
  isExpected,
  unusedExpectations,
} from "./hostkeys-expect";
import { authorizedForm, fingerprint, PublicKey, sameKey } from "./hostkeys-keys";
import { knownHostsName, lookupKnownHosts, parseKnownHosts } from "./hostkeys-known-hosts";
import { Row, classifyKnown, classifyScanned, pinnedKey, plan } from "./hostkeys-plan";
import { renderRefusals, renderTable, renderUnexpected } from "./hostkeys-report";
import { BastionAccess, ScanTarget, scanHostKeys } from "./hostkeys-scan";
import { StackHost, StackHosts, readStackHosts, withHostKeys } from "./hostkeys-stack";
import { StackFileError, parseStackFile, readStackText } from "./stack-file";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;
export const DEFAULT_TIMEOUT_SECONDS = 120;
const CONCURRENCY = 8;

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_UNPINNED = 2;

export interface HostkeysIo {
  out: (text: string) => void;
  /** Asks on the terminal; absent without one (then nothing is written without a flag). */
  ask?: (question: string) => Promise<string>;
  env: NodeJS.ProcessEnv;
}

const USAGE = `usage: npm run hostkeys -- (--stack <stack> | --file <Pulumi.<stack>.yaml>) [options]
  (no option)              scan, print the fingerprints, ask before writing
  --expect <SHA256:...>    repeatable: write only these keys, fail on any other new key
  --expect-file <file>     lines "<name or address> SHA256:...", same rules as --expect
  --known-hosts <file>     take the keys from a known_hosts file instead of scanning
  --identity <file>        private key for the bastion (default: sshPrivateKeyPath, else ssh-agent)
  --connect-timeout <s>    per host: connect and handshake (default ${DEFAULT_CONNECT_TIMEOUT_SECONDS})
  --timeout <s>            the whole scan (default ${DEFAULT_TIMEOUT_SECONDS})`;

class UsageError extends Error {}

interface Options {
  file: string;
  /** How messages name the stack file. */
  shown: string;
  expectations: Expectations;
  knownHosts?: string;
  identity?: string;
  connectTimeoutMs: number;
  timeoutMs: number;
}

function readSeconds(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback * 1000;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag}: expected seconds > 0, got ${value}`);
  return Math.round(n * 1000);
}

function expandHome(file: string, base: string): string {
  if (file.startsWith("~/")) return path.join(os.homedir(), file.slice(2));
  return path.resolve(base, file);
}

function readOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      stack: { type: "string" },
      file: { type: "string" },
      expect: { type: "string", multiple: true },
      "expect-file": { type: "string" },
      "known-hosts": { type: "string" },
      identity: { type: "string" },
      "connect-timeout": { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  const stack = values.stack;
  if (stack !== undefined && !/^[A-Za-z0-9_.-]+$/.test(stack)) {
    throw new UsageError(`--stack ${stack}: not a stack name`);
  }
  if (stack === undefined && values.file === undefined) throw new UsageError("--stack is required");
  const file = values.file
    ? path.resolve(values.file)
    : path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
  const expectations = emptyExpectations();
  const problems = addExpected(expectations, values.expect ?? []);
  const expectFile = values["expect-file"];
  if (expectFile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(expectFile, "utf8");
    } catch (err) {
      throw new UsageError(`--expect-file ${expectFile}: ${(err as Error).message}`);
    }
    problems.push(...addExpectFile(expectations, text, expectFile));
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return {
    file,
    shown: values.file ?? `Pulumi.${stack}.yaml`,
    expectations,
    ...(values["known-hosts"] !== undefined && { knownHosts: values["known-hosts"] }),
    ...(values.identity !== undefined && { identity: values.identity }),
    connectTimeoutMs: readSeconds(
      values["connect-timeout"],
      "--connect-timeout",
      DEFAULT_CONNECT_TIMEOUT_SECONDS,
    ),
    timeoutMs: readSeconds(values.timeout, "--timeout", DEFAULT_TIMEOUT_SECONDS),
  };
}

function rowsFromKnownHosts(hosts: StackHost[], file: string, io: HostkeysIo): Row[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`--known-hosts ${file}: ${(err as Error).message}`);
  }
  const known = parseKnownHosts(text);
  for (const problem of known.unreadable) io.out(`note: ${file} ${problem} (skipped)`);
  return hosts.map((h) => {
    const name = knownHostsName(h.address, h.port);
    return classifyKnown(h, lookupKnownHosts(known, h.address, h.port), name);
  });
}

/** How the tool authenticates to the bastion: --identity, sshPrivateKeyPath, else ssh-agent. */
function bastionCredentials(stack: StackHosts, options: Options, env: NodeJS.ProcessEnv) {
  const keyPath = options.identity ?? stack.privateKeyPath;
  if (keyPath !== undefined) {
    const resolved = expandHome(keyPath, path.dirname(options.file));
    try {
      return { privateKey: fs.readFileSync(resolved, "utf8") };
    } catch (err) {
      throw new UsageError(
        `cannot read the bastion's private key ${resolved}: ${(err as Error).message}`,
      );
    }
  }
  if (env.SSH_AUTH_SOCK) return { agent: env.SSH_AUTH_SOCK };
  throw new UsageError(
    "the bastion needs authentication to forward the scan: set sshPrivateKeyPath in the stack, " +
      "pass --identity <private key file>, or run ssh-agent (SSH_AUTH_SOCK)",
  );
}

async function rowsFromScan(stack: StackHosts, options: Options, io: HostkeysIo): Promise<Row[]> {
  const target = (h: StackHost): ScanTarget => {
    const pinned = pinnedKey(h);
    return {
      name: h.name,
      address: h.address,
      port: h.port,
      ...(pinned !== undefined && typeof pinned !== "string" && { pinnedType: pinned.type }),
    };
  };
  const bastionHost = stack.bastion;
  const finals = stack.hosts.filter((h) => h !== bastionHost);
  const targets = finals.map(target);
  let bastion: BastionAccess | undefined;
  if (bastionHost) {
    const expecting = hasExpectations(options.expectations);
    bastion = {
      target: target(bastionHost),
      user: bastionHost.user,
      ...bastionCredentials(stack, options, io.env),
      // Checked before authenticating: a bastion that is not the pinned one gets nothing.
      refuse: (key: PublicKey) => {
        const pinned = pinnedKey(bastionHost);
        if (typeof pinned === "string") return `${pinned}; not connecting through it`;
        if (pinned && !sameKey(pinned, key)) {
          return "the bastion's host key differs from sshBastion.hostKey; not connecting through it";
        }
        if (
          !pinned &&
          expecting &&
          !isExpected(options.expectations, bastionHost, fingerprint(key))
        ) {
          return "the bastion's host key is not expected; not connecting through it";
        }
        return undefined;
      },
    };
    io.out(
      `through the bastion ${bastionHost.user}@${bastionHost.address}:${bastionHost.port} ` +
        "(authenticated, to forward; the hosts themselves are not logged into)",
    );
  }
  const results = await scanHostKeys(targets, stack.user, {
    connectTimeoutMs: options.connectTimeoutMs,
    overallTimeoutMs: options.timeoutMs,
    concurrency: CONCURRENCY,
    ...(bastion && { bastion }),
  });
  const rows: Row[] = [];
  if (bastionHost) {
    rows.push(classifyScanned(bastionHost, results.bastion ?? { error: "not scanned" }));
  }
  finals.forEach((h, i) => {
    rows.push(classifyScanned(h, results.hosts.get(targets[i]) ?? { error: "not scanned" }));
  });
  return rows;
}

function writeAtomically(file: string, text: string): void {
  const mode = fs.statSync(file).mode & 0o777;
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.hostkeys-${process.pid}`);
  try {
    fs.writeFileSync(temp, text, { mode });
    fs.renameSync(temp, file);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Runs the tool; returns the exit status. Never throws for a host: it is reported in its row. */
export async function runHostkeys(argv: string[], io: HostkeysIo): Promise<number> {
  let options: Options;
  try {
    options = readOptions(argv);
  } catch (err) {
    const message =
      err instanceof UsageError || err instanceof TypeError ? err.message : String(err);
    io.out(message ? `${message}\n${USAGE}` : USAGE);
    return message ? EXIT_REFUSED : EXIT_OK;
  }
  try {
    return await run(options, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.out(err.message);
    return EXIT_REFUSED;
  }
}

async function run(options: Options, io: HostkeysIo): Promise<number> {
  const { file, shown } = options;
  let text: string;
  try {
    text = readStackText(file);
    parseStackFile(text, shown); // the YAML and its keys, as every tool reports them
  } catch (err) {
    if (err instanceof StackFileError) throw new UsageError(err.message);
    throw err;
  }
  let stack: StackHosts;
  try {
    stack = readStackHosts(text);
  } catch (err) {
    throw new UsageError(`${shown}: ${(err as Error).message}`);
  }
  if (stack.errors.length > 0) {
    throw new UsageError(`${shown}:\n${stack.errors.map((e) => `  - ${e}`).join("\n")}`);
  }
  if (stack.hosts.length === 0)
    throw new UsageError(`${shown}: no servers, agents, lbHosts or sshBastion`);
  const source = options.knownHosts ? `known_hosts ${options.knownHosts}` : "a scan of each host";
  io.out(`${shown}: ${stack.hosts.length} hosts, SSH port ${stack.port}; keys from ${source}`);
  for (const note of stack.skipped) io.out(`note: ${note}`);

  const rows = options.knownHosts
    ? rowsFromKnownHosts(stack.hosts, options.knownHosts, io)
    : await rowsFromScan(stack, options, io);
  const p = plan(rows, options.expectations);
  io.out(renderTable(p.rows));

  if (p.refused.length > 0 || p.unexpected.length > 0) {
    if (p.refused.length > 0) io.out(`\n${renderRefusals(p, shown)}`);
    if (p.unexpected.length > 0) io.out(`\n${renderUnexpected(p)}`);
    io.out(`\nNothing was written to ${shown}.`);
    return EXIT_REFUSED;
  }

  const expecting = hasExpectations(options.expectations);
  let written: Row[] = [];
  if (p.writes.length > 0) {
    const n = p.writes.length;
    let go = false;
    if (options.knownHosts) {
      io.out(`\nknown_hosts is your own record: writing ${n} host key${n === 1 ? "" : "s"}.`);
      go = true;
    } else if (expecting) {
      io.out(`\nEvery new key is expected: writing ${n} host key${n === 1 ? "" : "s"}.`);
      go = true;
    } else if (io.ask) {
      io.out(
        "\nBefore you answer, compare each fingerprint with the host's own record: its console " +
          "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) or your cloud provider's console output.",
      );
      const answer = await io.ask(`write these ${n} host keys into ${shown}? [y/N] `);
      go = /^y(es)?$/i.test(answer.trim());
      if (!go) io.out(`Nothing was written to ${shown}.`);
    } else {
      io.out(
        `\nNothing was written to ${shown}: there is no terminal to confirm on. Check each ` +
          "fingerprint above against the host's own record (its console, or your cloud provider's " +
          "console output), then either run this in a terminal and answer y, or pass the fingerprints " +
          "you checked: --expect SHA256:... once per key, or --expect-file <file> with lines " +
          '"<name or address> SHA256:...". Keys you already have in known_hosts: --known-hosts <file>.',
      );
    }
    if (go) {
      if (fs.readFileSync(file, "utf8") !== text) {
        throw new UsageError(
          `${shown} changed while the keys were read; nothing was written, run again`,
        );
      }
      const writes = p.writes.map((r) => ({ host: r.host, key: authorizedForm(r.key!) }));
      let out: string;
      try {
        out = withHostKeys(text, writes);
      } catch (err) {
        io.out(`Nothing was written to ${shown}: ${(err as Error).message}. Add these by hand:`);
        for (const w of writes) io.out(`  ${w.host.field}: ${w.key}`);
        return EXIT_REFUSED;
      }
      writeAtomically(file, out);
      written = p.writes;
      io.out(`Wrote into ${shown}:`);
      for (const r of written)
        io.out(`  ${r.host.field} (${r.host.name}): ${r.key!.type} ${fingerprint(r.key!)}`);
      io.out(
        "On a deployed stack the next `pulumi up` updates every step's connection: each step's " +
          "script runs again over the pinned connection and, being idempotent, changes nothing.",
      );
    }
  }

  if (expecting) {
    const used = p.rows
      .filter((r) => r.key)
      .map((r) => ({
        name: r.host.name,
        address: r.host.address,
        fingerprint: fingerprint(r.key!),
      }));
    for (const u of unusedExpectations(options.expectations, used)) {
      io.out(`note: expected fingerprint matched no key: ${u}`);
    }
  }

  const unpinned = p.rows.filter(
    (r) => r.status.kind === "missing" || (r.status.kind === "new" && !written.includes(r)),
  );
  if (unpinned.length === 0) {
    io.out(`\nEvery host of ${shown} has its host key pinned.`);
    return EXIT_OK;
  }
  io.out(
    `\nNot pinned: ${unpinned.map((r) => r.host.name).join(", ")}. The program refuses hosts ` +
      "without a hostKey (unless sshTrustAnyHostKey: true); run this again once they answer.",
  );
  return EXIT_UNPINNED;
}

function terminalAsk(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) => {
    let answered = false;
    rl.on("close", () => {
      if (!answered) resolve("");
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
  });
}

if (require.main === module) {
  const io: HostkeysIo = {
    out: (text) => process.stdout.write(`${text}\n`),
    ...(process.stdin.isTTY && { ask: terminalAsk }),
    env: process.env,
  };
  runHostkeys(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
      // Every connection is closed by now; this only guards against a handle left behind.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(EXIT_REFUSED);
    },
  );
}
