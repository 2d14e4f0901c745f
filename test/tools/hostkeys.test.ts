/**
 * npm run hostkeys against real sshd daemons on loopback addresses: one per host with its own
 * generated host key, all on one free high port (a stack has one sshPort), and a bastion that
 * forwards to them (root logs in with a generated client key). Everything lives in a temp dir and
 * is torn down in `after`.
 */
import { expect } from "chai";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { EXIT_OK, EXIT_REFUSED, EXIT_UNPINNED, runHostkeys } from "../../tools/hostkeys";
import { REPO_ROOT } from "../../harness/program/stacks";

const SSHD = "/usr/sbin/sshd";

interface Daemon {
  name: string;
  address: string;
  /** "ssh-ed25519 AAAA..." per key type the daemon has. */
  keys: Map<string, string>;
  /** `ssh-keygen -lf` fingerprints per key type. */
  fingerprints: Map<string, string>;
  log: string;
  child?: ChildProcess;
}

/** A third octet per test process, so two runs on one machine use different addresses. */
const NET = `127.77.${20 + (process.pid % 200)}`;

function keygen(file: string, type: "ed25519" | "ecdsa"): { key: string; fingerprint: string } {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", path.basename(file), "-f", file]);
  const [keyType, body] = fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/);
  // "256 SHA256:... comment (ED25519)": the second field is what the tool must print.
  const fingerprint = execFileSync("ssh-keygen", ["-lf", `${file}.pub`], {
    encoding: "utf8",
  }).split(/\s+/)[1];
  return { key: `${keyType} ${body}`, fingerprint };
}

function canListen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, address, () => server.close(() => resolve(true)));
  });
}

/** A free high port on every address. */
async function freePort(addresses: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + crypto.randomInt(30000);
    const free = await Promise.all(addresses.map((a) => canListen(a, port)));
    if (free.every(Boolean)) return port;
  }
  throw new Error("no free port on the test addresses");
}

/** Resolves once the daemon sends its SSH banner. */
async function waitForBanner(address: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, address);
      const done = (v: boolean) => {
        socket.destroy();
        resolve(v);
      };
      socket.setTimeout(1000, () => done(false));
      socket.once("data", (d) => done(d.toString().startsWith("SSH-2.0")));
      socket.once("error", () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd on ${address}:${port} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function sshdConfig(dir: string, d: Daemon, port: number, bastion: boolean): string {
  return [
    `ListenAddress ${d.address}`,
    `Port ${port}`,
    ...[...d.keys.keys()].map((t) => `HostKey ${path.join(dir, `host_${t}`)}`),
    `PidFile ${path.join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${path.join(path.dirname(dir), "authorized_keys")}`,
    "AllowUsers root",
    "PermitRootLogin prohibit-password",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    "X11Forwarding no",
    `AllowTcpForwarding ${bastion ? "yes" : "no"}`,
    "PrintMotd no",
    // The bastion's debug log names each forwarded connection (server_request_direct_tcpip).
    `LogLevel ${bastion ? "DEBUG1" : "VERBOSE"}`,
    "",
  ].join("\n");
}

interface Result {
  code: number;
  out: string;
}

async function hostkeys(args: string[], ask?: (q: string) => Promise<string>): Promise<Result> {
  const lines: string[] = [];
  const code = await runHostkeys(args, {
    out: (t) => lines.push(t),
    ...(ask && { ask }),
    env: {},
  });
  return { code, out: lines.join("\n") };
}

describe("npm run hostkeys: pins the stack's SSH host keys", function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  const daemons: Daemon[] = [];
  let tmp = "";
  let port = 0;
  let clientKey = "";
  let silent: net.Server | undefined;
  const held: net.Socket[] = [];
  const repoStack = `hkTEST${process.pid}`;
  const repoStackFile = path.join(REPO_ROOT, `Pulumi.${repoStack}.yaml`);
  const host = (name: string) => daemons.find((d) => d.name === name)!;
  const ed = (name: string) => host(name).fingerprints.get("ed25519")!;
  const SILENT = `${NET}.11`;
  const DEAD = `${NET}.12`;

  before(async function () {
    if (process.getuid?.() !== 0 || !fs.existsSync(SSHD)) {
      // CI runs as root with openssh-server installed (.ci/run).
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-hk-"));
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const specs: [string, string, ("ed25519" | "ecdsa")[]][] = [
      ["server-1", `${NET}.2`, ["ed25519"]],
      ["server-2", `${NET}.3`, ["ed25519", "ecdsa"]],
      ["lb-1", `${NET}.4`, ["ed25519"]],
      ["bastion", `${NET}.10`, ["ed25519"]],
    ];
    port = await freePort([...specs.map((s) => s[1]), SILENT, DEAD]);
    clientKey = path.join(tmp, "id_ed25519");
    keygen(clientKey, "ed25519");
    fs.copyFileSync(`${clientKey}.pub`, path.join(tmp, "authorized_keys"));
    for (const [name, address, types] of specs) {
      const dir = path.join(tmp, name);
      fs.mkdirSync(dir);
      dirs.push(dir);
      const d: Daemon = {
        name,
        address,
        keys: new Map(),
        fingerprints: new Map(),
        log: path.join(dir, "sshd.log"),
      };
      for (const t of types) {
        const { key, fingerprint } = keygen(path.join(dir, `host_${t}`), t);
        d.keys.set(t, key);
        d.fingerprints.set(t, fingerprint);
      }
      const config = path.join(dir, "sshd_config");
      fs.writeFileSync(config, sshdConfig(dir, d, port, name === "bastion"));
      const log = fs.openSync(d.log, "a");
      d.child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", log, log] });
      fs.closeSync(log);
      daemons.push(d);
    }
    // Accepts TCP and never speaks SSH: the connect timeout must end the wait.
    silent = net.createServer((s) => held.push(s));
    await new Promise<void>((resolve) => silent!.listen(port, SILENT, resolve));
    await Promise.all(daemons.map((d) => waitForBanner(d.address, port, 10_000)));
  });

  after(async () => {
    for (const s of held) s.destroy();
    if (silent) await new Promise((resolve) => silent!.close(resolve));
    await Promise.all(
      daemons.map(
        (d) =>
          new Promise<void>((resolve) => {
            const child = d.child;
            if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    );
    fs.rmSync(repoStackFile, { force: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A stack file with comments, labels and one host per daemon (or the given addresses). */
  function stackText(opts: { pins?: Record<string, string>; extra?: string[] } = {}): string {
    const pin = (name: string, indent: string) =>
      opts.pins?.[name] ? [`${indent}hostKey: ${opts.pins[name]}`] : [];
    return [
      "# hostkeys test stack: these comments must survive.",
      "config:",
      "  k3s-ha:k3sVersion: v1.27.3+k3s1",
      `  k3s-ha:sshPort: ${port} # one port for every host`,
      "  k3s-ha:lbKind: nginx",
      "  k3s-ha:servers:",
      "    # the first server",
      "    - name: server-1",
      `      address: ${host("server-1").address} # rack A`,
      ...pin("server-1", "      "),
      "      labels:",
      "        zone: a",
      "    - name: server-2",
      `      address: ${host("server-2").address}`,
      ...pin("server-2", "      "),
      ...(opts.extra ?? []),
      "  k3s-ha:lbHosts:",
      "    - name: lb-1",
      `      address: ${host("lb-1").address}`,
      ...pin("lb-1", "      "),
      "",
    ].join("\n");
  }

  let counter = 0;
  function writeStack(text: string): string {
    const file = path.join(tmp, `Pulumi.case${++counter}.yaml`);
    fs.writeFileSync(file, text);
    return file;
  }

  /** `text` with a hostKey line after each named host's address line, as the tool must write it. */
  function withKeysAfterAddress(text: string, keys: Record<string, string>): string {
    let out = text;
    for (const [name, key] of Object.entries(keys)) {
      const address = host(name).address;
      out = out.replace(
        new RegExp(`(\\n( *)address: ${address.replace(/\./g, "\\.")}[^\\n]*)`),
        `$1\n$2hostKey: ${key}`,
      );
    }
    return out;
  }

  it("prints each host's key type and SHA256 fingerprint as ssh-keygen -lf does; no TTY, no flag: writes nothing", async () => {
    const text = stackText();
    const file = writeStack(text);
    const { code, out } = await hostkeys(["--file", file]);
    expect(code).to.equal(EXIT_UNPINNED);
    for (const name of ["server-1", "server-2", "lb-1"]) {
      const d = host(name);
      expect(out).to.match(
        new RegExp(
          `${name}\\s+${d.address.replace(/\./g, "\\.")}:${port}\\s+ssh-ed25519\\s+${ed(name).replace(/[+/]/g, "\\$&")}\\s+not pinned`,
        ),
      );
    }
    expect(out).to.contain("there is no terminal to confirm on");
    expect(out).to.contain("--expect SHA256:");
    expect(fs.readFileSync(file, "utf8")).to.equal(text);
  });

  it("--expect writes exactly the hostKey lines after each address, comments kept; a second run finds them pinned", async () => {
    const text = stackText();
    const file = writeStack(text);
    const args = [
      "--file",
      file,
      ...["server-1", "server-2", "lb-1"].flatMap((n) => ["--expect", ed(n)]),
    ];
    const first = await hostkeys(args);
    expect(first.code, first.out).to.equal(EXIT_OK);
    const keys = {
      "server-1": host("server-1").keys.get("ed25519")!,
      "server-2": host("server-2").keys.get("ed25519")!,
      "lb-1": host("lb-1").keys.get("ed25519")!,
    };
    expect(fs.readFileSync(file, "utf8")).to.equal(withKeysAfterAddress(text, keys));
    expect(first.out).to.contain(`servers[0].hostKey (server-1): ssh-ed25519 ${ed("server-1")}`);

    const again = await hostkeys(["--file", file]);
    expect(again.code, again.out).to.equal(EXIT_OK);
    expect(again.out.match(/pinned: the same key/g)).to.have.length(3);
    expect(fs.readFileSync(file, "utf8")).to.equal(withKeysAfterAddress(text, keys));
  });

  it("a new key that is not expected writes nothing and exits non-zero, as does another host's fingerprint in --expect-file", async () => {
    const text = stackText();
    const file = writeStack(text);
    const partial = await hostkeys([
      "--file",
      file,
      "--expect",
      ed("server-1"),
      "--expect",
      ed("lb-1"),
    ]);
    expect(partial.code).to.equal(EXIT_REFUSED);
    expect(partial.out).to.match(/server-2 .* not pinned; NOT EXPECTED/);
    expect(partial.out).to.contain("Nothing was written");
    expect(fs.readFileSync(file, "utf8")).to.equal(text);

    const swapped = path.join(tmp, "swapped.txt");
    fs.writeFileSync(
      swapped,
      `server-1 ${ed("server-2")}\n${host("server-2").address} ${ed("server-1")}\nlb-1 ${ed("lb-1")}\n`,
    );
    const wrong = await hostkeys(["--file", file, "--expect-file", swapped]);
    expect(wrong.code).to.equal(EXIT_REFUSED);
    expect(fs.readFileSync(file, "utf8")).to.equal(text);

    const good = path.join(tmp, "good.txt");
    fs.writeFileSync(
      good,
      `# checked on the consoles\nserver-1 ${ed("server-1")}\n${host("server-2").address} ${ed("server-2")}\nlb-1 ${ed("lb-1")}\n`,
    );
    const right = await hostkeys(["--file", file, "--expect-file", good]);
    expect(right.code, right.out).to.equal(EXIT_OK);
    expect(fs.readFileSync(file, "utf8")).to.contain(
      `hostKey: ${host("lb-1").keys.get("ed25519")}`,
    );
  });

  it("refuses a pinned key that differs, loudly, with both fingerprints, and writes nothing", async () => {
    const other = keygen(path.join(tmp, "other_host_key"), "ed25519");
    const text = stackText({ pins: { "server-1": other.key } });
    const file = writeStack(text);
    const args = ["--file", file, "--expect", ed("server-2"), "--expect", ed("lb-1")];
    const { code, out } = await hostkeys(args);
    expect(code).to.equal(EXIT_REFUSED);
    expect(out).to.contain(`!! HOST KEY CHANGED: server-1 (${host("server-1").address}:${port})`);
    expect(out).to.contain(`pinned (servers[0].hostKey): ssh-ed25519 ${other.fingerprint}`);
    expect(out).to.match(
      new RegExp(`presented now: +ssh-ed25519 ${ed("server-1").replace(/[+/]/g, "\\$&")}`),
    );
    expect(out).to.contain("replace the hostKey by hand");
    expect(fs.readFileSync(file, "utf8")).to.equal(text);
  });

  it("asks a host for the pinned key's type, as the command provider does (ECDSA pinned, ed25519 also there)", async () => {
    const text = stackText({ pins: { "server-2": host("server-2").keys.get("ecdsa")! } });
    const file = writeStack(text);
    const { code, out } = await hostkeys([
      "--file",
      file,
      "--expect",
      ed("server-1"),
      "--expect",
      ed("lb-1"),
    ]);
    expect(code, out).to.equal(EXIT_OK);
    expect(out).to.match(/server-2 .* ecdsa-sha2-nistp256 +SHA256:\S+ +pinned: the same key/);
    expect(out).to.contain(host("server-2").fingerprints.get("ecdsa"));
  });

  it("scans through the bastion (its own key too) and pins the bastion's key in sshBastion", async () => {
    const bastion = host("bastion");
    const text = stackText().replace(
      "  k3s-ha:lbKind: nginx\n",
      [
        "  k3s-ha:lbKind: nginx",
        `  k3s-ha:sshPrivateKeyPath: ${clientKey}`,
        "  k3s-ha:sshBastion:",
        `    host: ${bastion.address} # the jump host`,
        `    port: ${port}`,
        "",
      ].join("\n"),
    );
    const file = writeStack(text);
    const logBefore = fs.readFileSync(bastion.log, "utf8").length;
    const all = ["bastion", "server-1", "server-2", "lb-1"].flatMap((n) => ["--expect", ed(n)]);
    const { code, out } = await hostkeys(["--file", file, ...all]);
    expect(code, out).to.equal(EXIT_OK);
    expect(out).to.contain(`through the bastion root@${bastion.address}:${port}`);
    expect(out).to.match(
      new RegExp(`sshBastion +${bastion.address.replace(/\./g, "\\.")}:${port} +ssh-ed25519`),
    );
    const written = fs.readFileSync(file, "utf8");
    expect(written).to.contain(
      `    host: ${bastion.address} # the jump host\n    hostKey: ${bastion.keys.get("ed25519")}\n    port: ${port}\n`,
    );
    // The bastion forwarded a connection to every host.
    const log = fs.readFileSync(bastion.log, "utf8").slice(logBefore);
    for (const name of ["server-1", "server-2", "lb-1"]) {
      expect(log).to.match(
        new RegExp(
          `server_request_direct_tcpip: .* target ${host(name).address.replace(/\./g, "\\.")} port ${port}`,
        ),
      );
    }

    // A bastion whose key differs from the pinned one is refused before any authentication.
    const other = keygen(path.join(tmp, "other_bastion_key"), "ed25519");
    const pinned = writeStack(
      written.replace(`hostKey: ${bastion.keys.get("ed25519")}`, `hostKey: ${other.key}`),
    );
    const before = fs.readFileSync(bastion.log, "utf8").length;
    const refused = await hostkeys(["--file", pinned]);
    expect(refused.code).to.equal(EXIT_REFUSED);
    expect(refused.out).to.contain("!! HOST KEY CHANGED: sshBastion");
    expect(refused.out).to.contain(
      "not scanned: the bastion's host key differs from sshBastion.hostKey",
    );
    expect(fs.readFileSync(bastion.log, "utf8").slice(before)).to.not.contain("Accepted publickey");
  });

  it("reports unreachable and silent hosts within the connect timeout, pins the others, exits 2", async () => {
    const text = stackText({
      extra: [
        "    - name: server-3",
        `      address: ${SILENT}`,
        "    - name: server-4",
        `      address: ${DEAD}`,
      ],
    });
    const file = writeStack(text);
    const started = Date.now();
    const args = ["--file", file, "--connect-timeout", "2"];
    const { code, out } = await hostkeys([
      ...args,
      ...["server-1", "server-2", "lb-1"].flatMap((n) => ["--expect", ed(n)]),
    ]);
    expect(Date.now() - started).to.be.below(8000);
    expect(code, out).to.equal(EXIT_UNPINNED);
    expect(out).to.match(/server-3 .* no SSH handshake within 2 s/);
    expect(out).to.match(/server-4 .* connection refused/);
    expect(out).to.contain("Not pinned: server-3, server-4");
    const written = fs.readFileSync(file, "utf8");
    expect(written.match(/hostKey:/g)).to.have.length(3);
  });

  it("--known-hosts: takes a plain and a hashed entry, writes them without asking, leaves a host it lacks", async () => {
    const text = stackText();
    const file = writeStack(text);
    const hashedName = `[${host("server-2").address}]:${port}`;
    const salt = crypto.randomBytes(20);
    const hash = crypto.createHmac("sha1", salt).update(hashedName).digest("base64");
    const knownHosts = path.join(tmp, "known_hosts");
    fs.writeFileSync(
      knownHosts,
      [
        `[${host("server-1").address}]:${port},server-1.example ${host("server-1").keys.get("ed25519")} root@server-1`,
        `|1|${salt.toString("base64")}|${hash} ${host("server-2").keys.get("ed25519")}`,
        // The same address on another port is another host.
        `${host("lb-1").address} ${host("bastion").keys.get("ed25519")}`,
        "",
      ].join("\n"),
    );
    const { code, out } = await hostkeys(["--file", file, "--known-hosts", knownHosts]);
    expect(code, out).to.equal(EXIT_UNPINNED);
    expect(out).to.contain("known_hosts is your own record: writing 2 host keys");
    expect(out).to.match(
      new RegExp(
        `lb-1 .* not in known_hosts as \\[${host("lb-1").address.replace(/\./g, "\\.")}\\]:${port}`,
      ),
    );
    expect(fs.readFileSync(file, "utf8")).to.equal(
      withKeysAfterAddress(text, {
        "server-1": host("server-1").keys.get("ed25519")!,
        "server-2": host("server-2").keys.get("ed25519")!,
      }),
    );

    // A known_hosts key that contradicts a pinned one is refused like a scanned one.
    const other = keygen(path.join(tmp, "other_known_key"), "ed25519");
    const pinnedText = stackText({ pins: { "server-1": other.key } });
    const pinnedFile = writeStack(pinnedText);
    const refused = await hostkeys(["--file", pinnedFile, "--known-hosts", knownHosts]);
    expect(refused.code).to.equal(EXIT_REFUSED);
    expect(refused.out).to.contain("!! HOST KEY CHANGED: server-1");
    expect(fs.readFileSync(pinnedFile, "utf8")).to.equal(pinnedText);
  });

  it("on a terminal: shows the fingerprints, asks once, writes on y and nothing on anything else", async () => {
    const text = stackText();
    const no = writeStack(text);
    const questions: string[] = [];
    const declined = await hostkeys(["--file", no], (q) => {
      questions.push(q);
      return Promise.resolve("");
    });
    expect(declined.code).to.equal(EXIT_UNPINNED);
    expect(questions).to.deep.equal([`write these 3 host keys into ${no}? [y/N] `]);
    expect(fs.readFileSync(no, "utf8")).to.equal(text);

    const yes = writeStack(text);
    const accepted = await hostkeys(["--file", yes], () => Promise.resolve("y"));
    expect(accepted.code, accepted.out).to.equal(EXIT_OK);
    expect(fs.readFileSync(yes, "utf8").match(/hostKey: ssh-ed25519 /g)).to.have.length(3);
  });

  it("npm run hostkeys -- --stack <s>, with no terminal: prints the fingerprints, writes nothing, says how to go on", async () => {
    const text = stackText();
    fs.writeFileSync(repoStackFile, text);
    const child = spawn("npm", ["run", "--silent", "hostkeys", "--", "--stack", repoStack], {
      cwd: REPO_ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.end();
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, out).to.equal(EXIT_UNPINNED);
    expect(out).to.contain(`Pulumi.${repoStack}.yaml: 3 hosts, SSH port ${port}`);
    expect(out).to.contain(ed("server-1"));
    expect(out).to.contain(`Nothing was written to Pulumi.${repoStack}.yaml: there is no terminal`);
    expect(fs.readFileSync(repoStackFile, "utf8")).to.equal(text);
  });
});
