import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MANAGED_HEADER, shQuote, withLibrary } from "../../components/host/script";
import { runProgram } from "../../harness/program/mocks";
import { testStackConfig } from "../../harness/program/stacks";
import { runSh, scriptsOf, shellcheck, unwrapCommandLine } from "../../harness/program/scripts";

describe("every script the program sends to a host", function () {
  this.timeout(180_000);
  const scripts = new Map<string, string>();
  before(async () => {
    const variants = [
      { ...testStackConfig("dev"), "k3s-ha:token": "t", "k3s-ha:agentToken": "a" },
      {
        ...testStackConfig("dev"),
        "k3s-ha:installScriptSha256": "a".repeat(64),
        "k3s-ha:installMirror": "cn",
        "k3s-ha:installScriptUrl": "https://rancher-mirror.rancher.cn/k3s/k3s-install.sh",
      },
      testStackConfig("staging"),
      { ...testStackConfig("staging"), "k3s-ha:nginxMode": "docker" },
    ];
    for (const [i, config] of variants.entries()) {
      const run = await runProgram(config, ["k3s-ha:token", "k3s-ha:agentToken"], `scripts${i}`);
      for (const [key, text] of scriptsOf(run)) scripts.set(`${i}: ${key}`, text);
    }
  });

  it("passes shellcheck", () => {
    expect(scripts.size).to.be.greaterThan(20);
    // Many hosts get the same script: check each distinct text once, named by its first step.
    const distinct = new Map<string, string>();
    for (const [key, text] of scripts) if (!distinct.has(text)) distinct.set(text, key);
    const failures = [...distinct]
      .map(([text, key]) => [key, text] as const)
      .map(([key, text]) => ({ key, ...shellcheck(text) }))
      .filter((r) => r.status !== 0);
    expect(failures.map((f) => `${f.key}\n${f.output}`).join("\n")).to.equal("");
  });

  it("covers the LB pair's scripts: lb-2's check of lb-1, the script user, keepalived -t", () => {
    const texts = [...scripts.values()];
    for (const part of [
      "\npeer='lb-1'\npeer_at='10.10.10.98:6443'\npeer_servers='10.10.10.50:6443 ",
      "\npeer='lb-1'\npeer_at='10.10.10.98:6443'\nroll_vip=",
      'peer_serves_first "$peer" "$peer_at" $peer_servers',
      "peer_serves_first() {",
      "useradd --system --user-group",
      'userdel "$user"',
      "keepalived_test() {",
    ]) {
      expect(
        texts.some((t) => t.includes(part)),
        part,
      ).to.equal(true);
    }
  });

  it("parses with sh -n", () => {
    for (const [key, text] of scripts)
      expect(runSh(`sh -n -c ${shQuote(text)}`).status, key).to.equal(0);
  });

  it("shellcheck catches a broken script (the check can fail)", () => {
    expect(shellcheck(withLibrary("rm -rf $dir/*\n")).status).to.not.equal(0);
  });
});

describe("shQuote and the command line", () => {
  it("round-trips any text through sh -c", () => {
    const nasty = `it's "quoted" $HOME \`id\` ; | & \\ \n newline`;
    const r = runSh(`printf '%s' ${shQuote(nasty)}`);
    expect(r.stdout).to.equal(nasty);
    expect(unwrapCommandLine(`sh -c ${shQuote(nasty)}`)).to.equal(nasty);
  });
});

describe("the prelude's write_file", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-write-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (dest: string, content: string, checker = "") =>
    runSh(withLibrary(`write_file ${shQuote(dest)} 0600 ${shQuote(checker)}`), content);

  it("writes stdin with the mode, and reports changed only when the content changed", () => {
    const dest = path.join(dir, "sub", "token");
    expect(write(dest, "one\n").stdout).to.equal("changed\n");
    expect(fs.readFileSync(dest, "utf8")).to.equal("one\n");
    expect(fs.statSync(dest).mode & 0o777).to.equal(0o600);
    const before = fs.statSync(dest).mtimeMs;
    expect(write(dest, "one\n").stdout).to.equal("unchanged\n");
    expect(fs.statSync(dest).mtimeMs).to.equal(before);
    expect(write(dest, "two\n").stdout).to.equal("changed\n");
    expect(fs.readdirSync(path.dirname(dest))).to.deep.equal(["token"]);
  });

  it("keeps the distribution's original once and restore_file puts it back", () => {
    const dest = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(dest, "distribution default\n");
    const adopt = (content: string) =>
      runSh(
        withLibrary(`keep_original ${shQuote(dest)}\nwrite_file ${shQuote(dest)} 0644`),
        content,
      );
    adopt(`${MANAGED_HEADER}\nours 1\n`);
    adopt(`${MANAGED_HEADER}\nours 2\n`);
    expect(fs.readFileSync(`${dest}.k3s-ha.orig`, "utf8")).to.equal("distribution default\n");
    runSh(withLibrary(`restore_file ${shQuote(dest)}`));
    expect(fs.readFileSync(dest, "utf8")).to.equal("distribution default\n");
    expect(fs.existsSync(`${dest}.k3s-ha.orig`)).to.equal(false);
  });

  it("leaves the old file in place when the checker rejects the new content", () => {
    const dest = path.join(dir, "conf");
    fs.writeFileSync(dest, "good\n");
    const r = write(dest, "bad\n", "false");
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain("rejected by: false");
    expect(fs.readFileSync(dest, "utf8")).to.equal("good\n");
    expect(fs.readdirSync(dir)).to.deep.equal(["conf"]);
  });

  it("wait_for gives up within its bound and says what it waited for", () => {
    const started = Date.now();
    const r = runSh(withLibrary(`wait_for 2 "the moon" false`));
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain("gave up after 2s waiting for the moon");
    expect(Date.now() - started).to.be.lessThan(10_000);
  });

  it("wait_for counts the time its probes take, not only its sleeps", () => {
    const started = Date.now();
    // Each probe takes 3 s: counting sleeps alone, a 6 s bound would last about 5 probes (15 s+).
    const r = runSh(withLibrary(`wait_for 6 "a slow probe" sh -c 'sleep 3; false'`));
    const took = Date.now() - started;
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain("gave up after 6s waiting for a slow probe");
    expect(took).to.be.at.least(6_000);
    expect(took).to.be.lessThan(12_000);
  });
});

describe("the prelude's svc_running without systemd", () => {
  const probe = (pidfileContent: string | undefined) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-svc-"));
    try {
      // A private copy of the prelude that looks for pid files in a temp dir instead of /run.
      const prelude = withLibrary("svc_running demo")
        .replace(/\/run\/\$1\.pid/g, `${dir}/$1.pid`)
        .replace(
          "systemd_running() { [ -d /run/systemd/system ]; }",
          "systemd_running() { false; }",
        );
      if (pidfileContent !== undefined)
        fs.writeFileSync(path.join(dir, "demo.pid"), pidfileContent);
      // `service` is not needed when a pid file exists; without one it reports a missing unit.
      return runSh(`${prelude}\nservice() { return 3; }\nsvc_running demo`).status;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  it("trusts a pid file whose process lives, for init scripts without a status action", () => {
    expect(probe(String(process.pid))).to.equal(0);
  });

  it("reports a stale pid file or no pid file and no status as not running", () => {
    expect(probe("2147483646")).to.not.equal(0);
    expect(probe(undefined)).to.not.equal(0);
  });
});
