import { expect } from "chai";
import { ChildProcess } from "child_process";
import { mkdtemp, rm } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";
import {
  HAPROXY_HEALTH_PORT,
  HAPROXY_STATS_PORT,
  renderHaproxyCfg,
} from "../../components/lb/haproxy-pair/haproxyCfg";
import type { LbBackend } from "../../components/lb/backends";
import { renderHaproxyCheckScript } from "../../components/lb/haproxy-pair/keepalivedConf";
import { CheckResult, checkHaproxy, run, writeText } from "./checkers";
import { createNetns, deleteNetns } from "./netns";
import { ProcessGroup, waitFor } from "./processes";
import { makeSelfSignedCert, startPingServer } from "./standIns";

const HEADER = "# Managed by k3s-ha (Pulumi). Local edits are overwritten.";
const DEV_BACKENDS: LbBackend[] = [
  { name: "server-1", address: "10.10.10.50" },
  { name: "server-2", address: "10.10.10.51" },
  { name: "server-3", address: "10.10.10.52" },
];
const V6_BACKENDS: LbBackend[] = [
  { name: "server-1", address: "fd00:10::50" },
  { name: "server-2", address: "FD00:10:0::51" },
  { name: "server-3", address: "10.10.10.52" },
];

/** The trimmed lines of the section starting with `header` (up to the next blank line). */
function section(cfg: string, header: string): string[] {
  const lines = cfg.split("\n");
  const start = lines.indexOf(header);
  expect(start, `section ${header}`).to.be.greaterThan(-1);
  const end = lines.indexOf("", start);
  return lines.slice(start + 1, end).map((l) => l.trim());
}

function expectValid(result: CheckResult): void {
  expect(result.code, result.output).to.equal(0);
  expect(result.output).to.include("Configuration file is valid");
  expect(result.output, "haproxy -c warnings").to.not.include("[WARNING]");
}

describe("renderHaproxyCfg", function () {
  it("passes haproxy -c without warnings for the dev topology", async function () {
    expectValid(await checkHaproxy(renderHaproxyCfg({ backends: DEV_BACKENDS })));
  });

  it("passes haproxy -c without warnings with IPv6 backends and the IPv6 listener", async function () {
    expectValid(await checkHaproxy(renderHaproxyCfg({ backends: V6_BACKENDS })));
    expectValid(
      await checkHaproxy(
        renderHaproxyCfg({ backends: DEV_BACKENDS, port: 7443, ipv6Listener: true }),
      ),
    );
  });

  describe("haproxy -c catches what it should (so the passes above mean something)", function () {
    it("fails on a bad keyword value", async function () {
      const cfg = renderHaproxyCfg({ backends: DEV_BACKENDS }).replace(
        "balance leastconn",
        "balance fastest",
      );
      const result = await checkHaproxy(cfg);
      expect(result.code).to.not.equal(0);
      expect(result.output).to.include("balance only supports");
    });

    it("fails on an SSL check without `verify none` or a CA", async function () {
      const cfg = renderHaproxyCfg({ backends: DEV_BACKENDS }).replace(" verify none", "");
      const result = await checkHaproxy(cfg);
      expect(result.code).to.not.equal(0);
      expect(result.output).to.include("verify is enabled by default but no CA file specified");
    });
  });

  it("lists each backend once, on 6443, checked with GET /ping over TLS expecting pong", function () {
    const backend = section(renderHaproxyCfg({ backends: DEV_BACKENDS }), "backend k3s-servers");
    expect(backend.filter((l) => l.startsWith("server "))).to.deep.equal([
      "server server-1 10.10.10.50:6443 check",
      "server server-2 10.10.10.51:6443 check",
      "server server-3 10.10.10.52:6443 check",
    ]);
    for (const line of [
      "balance leastconn",
      "option httpchk",
      "http-check connect ssl",
      "http-check send meth GET uri /ping",
      "http-check expect string pong",
      "default-server inter 2s fastinter 1s downinter 2s fall 2 rise 2 slowstart 30s on-marked-down shutdown-sessions check verify none",
    ]) {
      expect(backend, line).to.include(line);
    }
  });

  it("sets its own defaults: TCP passthrough, long tunnels, retries on another server", function () {
    const defaults = section(renderHaproxyCfg({ backends: DEV_BACKENDS }), "defaults");
    for (const line of [
      "mode tcp",
      "option tcplog",
      "option log-health-checks",
      "option dontlognull",
      "option clitcpka",
      "option srvtcpka",
      "option redispatch 1",
      "retries 3",
      "timeout connect 3s",
      "timeout client 1h",
      "timeout server 1h",
      "timeout tunnel 4h",
      "timeout client-fin 30s",
      "timeout server-fin 30s",
      "timeout check 2s",
    ]) {
      expect(defaults, line).to.include(line);
    }
    const global = section(renderHaproxyCfg({ backends: DEV_BACKENDS }), "global");
    expect(global).to.include("log /dev/log local0");
    expect(global).to.include("hard-stop-after 30s");
    expect(global).to.include("stats socket /run/haproxy/admin.sock mode 660 level user");
    expect(global.some((l) => l.startsWith("maxconn "))).to.equal(true);
  });

  it("binds the API on every address and health/stats on 127.0.0.1 only", function () {
    const cfg = renderHaproxyCfg({ backends: DEV_BACKENDS });
    expect(section(cfg, "frontend k3s-api")).to.deep.equal([
      "bind *:6443",
      "default_backend k3s-servers",
    ]);
    const health = section(cfg, "frontend health");
    expect(health).to.include(`bind 127.0.0.1:${HAPROXY_HEALTH_PORT}`);
    expect(health).to.include("monitor-uri /healthz");
    expect(health).to.include("mode http");
    const stats = section(cfg, "listen stats");
    expect(stats).to.include(`bind 127.0.0.1:${HAPROXY_STATS_PORT}`);
    expect(stats).to.include("stats enable");
    expect(stats).to.include("stats uri /");
    expect(cfg.split("\n").filter((l) => l.trim().startsWith("bind "))).to.have.length(3);
    expect(cfg).to.not.match(/killall|tcp-check|roundrobin|inter 10s|timeout client 50/);
  });

  it("brackets IPv6 backends and adds the IPv6 listener for them", function () {
    const cfg = renderHaproxyCfg({ backends: V6_BACKENDS, port: 7443 });
    expect(
      section(cfg, "backend k3s-servers").filter((l) => l.startsWith("server ")),
    ).to.deep.equal([
      "server server-1 [fd00:10::50]:6443 check",
      "server server-2 [fd00:10::51]:6443 check",
      "server server-3 10.10.10.52:6443 check",
    ]);
    expect(section(cfg, "frontend k3s-api")).to.deep.equal([
      "bind *:7443",
      "bind :::7443 v6only",
      "default_backend k3s-servers",
    ]);
    const forcedOff = renderHaproxyCfg({ backends: V6_BACKENDS, ipv6Listener: false });
    expect(forcedOff).to.not.include(":::");
  });

  it("is deterministic, starts with the header and ends with a newline", function () {
    const cfg = renderHaproxyCfg({ backends: DEV_BACKENDS });
    expect(renderHaproxyCfg({ backends: DEV_BACKENDS.map((b) => ({ ...b })) })).to.equal(cfg);
    expect(cfg.startsWith(`${HEADER}\n`)).to.equal(true);
    expect(cfg.endsWith("\n")).to.equal(true);
    expect(cfg.endsWith("\n\n")).to.equal(false);
  });
});

describe("haproxy running the rendered config in a private network namespace", function () {
  this.timeout(60_000);
  const PORT = 16443; // the frontend; stand-ins hold 6443 on other loopback addresses
  let netns: string;
  let dir = "";
  const processes = new ProcessGroup();
  let haproxy: ChildProcess;

  function inNetns(argv: string[], timeoutMs = 10_000): Promise<CheckResult> {
    return run(["ip", "netns", "exec", netns, ...argv], timeoutMs);
  }

  /** server name -> "<status> <check_status>", from the stats page's CSV export. */
  async function serverStatus(): Promise<Record<string, string>> {
    const result = await inNetns([
      "curl",
      "-fsS",
      "-m",
      "2",
      `http://127.0.0.1:${HAPROXY_STATS_PORT}/;csv`,
    ]);
    if (result.code !== 0) return {};
    const [header, ...rows] = result.output.trim().split("\n");
    const cols = header.replace(/^# /, "").split(",");
    const [px, sv, st, ck] = ["pxname", "svname", "status", "check_status"].map((c) =>
      cols.indexOf(c),
    );
    return Object.fromEntries(
      rows
        .map((r) => r.split(","))
        .filter((r) => r[px] === "k3s-servers" && r[sv] !== "BACKEND")
        .map((r) => [r[sv], `${r[st]} ${r[ck]}`]),
    );
  }

  before(async function () {
    netns = await createNetns("hap");
    dir = await mkdtemp(path.join(tmpdir(), "k3s-ha-haproxy-run-"));
    await makeSelfSignedCert(dir);
    const standIn = (host: string, body: string) =>
      startPingServer(processes, netns, dir, host, body);
    await standIn("127.0.0.2", "pong");
    await standIn("::1", "pong");
    await standIn("127.0.0.3", "not k3s"); // answers 200, but not pong: must be DOWN
    const cfg = renderHaproxyCfg({
      port: PORT,
      adminSocketPath: `${dir}/admin.sock`,
      backends: [
        { name: "server-1", address: "127.0.0.2" },
        { name: "server-2", address: "::1" },
        { name: "server-3", address: "127.0.0.3" },
        { name: "server-4", address: "127.0.0.4" }, // nothing listens: must be DOWN
      ],
    });
    const cfgPath = await writeText(dir, "haproxy.cfg", cfg);
    haproxy = await processes.start(netns, ["haproxy", "-db", "-f", cfgPath]);
    const healthz = `http://127.0.0.1:${HAPROXY_HEALTH_PORT}/healthz`;
    await waitFor(
      () => `haproxy's monitor URI; haproxy said: ${processes.output(haproxy)}`,
      async () => (await inNetns(["curl", "-fsS", "-m", "1", healthz])).code === 0,
      10_000,
    );
  });

  after(async function () {
    await processes.stopAll();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (netns) await deleteNetns(netns);
  });

  it("marks pong-answering servers UP (IPv4 and IPv6) and the others DOWN", async function () {
    // L7OK: pong seen; L7RSP: answered without pong; L4CON: connection refused.
    const want = {
      "server-1": "UP L7OK",
      "server-2": "UP L7OK",
      "server-3": "DOWN L7RSP",
      "server-4": "DOWN L4CON",
    };
    let last: Record<string, string> = {};
    await waitFor(
      () => `server states ${JSON.stringify(want)}, last seen ${JSON.stringify(last)}`,
      async () => {
        last = await serverStatus();
        return JSON.stringify(last) === JSON.stringify(want);
      },
      20_000,
    );
  });

  it("proxies TLS through to a healthy server on the IPv4 and IPv6 listeners", async function () {
    for (const url of [`https://127.0.0.1:${PORT}/ping`, `https://[::1]:${PORT}/ping`]) {
      for (let i = 0; i < 5; i++) {
        const result = await inNetns(["curl", "-fsSk", "-m", "3", url]);
        expect(result.code, `${url}: ${result.output}`).to.equal(0);
        expect(result.output).to.equal("pong");
      }
    }
  });

  it("accepts connections to an address added after it started, as the VIP is", async function () {
    // The wildcard bind needs no net.ipv4.ip_nonlocal_bind; it is off in a fresh namespace.
    const nonlocal = await inNetns(["sysctl", "-n", "net.ipv4.ip_nonlocal_bind"]);
    expect(nonlocal.output.trim()).to.equal("0");
    const added = await run(["ip", "-n", netns, "addr", "add", "10.10.10.100/24", "dev", "eth1"]);
    expect(added.code, added.output).to.equal(0);
    const result = await inNetns(["curl", "-fsSk", "-m", "3", `https://10.10.10.100:${PORT}/ping`]);
    expect(result.code, result.output).to.equal(0);
    expect(result.output).to.equal("pong");
  });

  it("the rendered check script passes while HAProxy runs and fails within 2 s while it is stopped", async function () {
    const script = await writeText(dir, "check_haproxy.sh", renderHaproxyCheckScript(), 0o755);
    const up = await inNetns([script]);
    expect(up.code, up.output).to.equal(0);
    haproxy.kill("SIGSTOP");
    try {
      const started = Date.now();
      const hung = await inNetns([script]);
      const ms = Date.now() - started;
      expect(hung.code, hung.output).to.not.equal(0);
      expect(ms).to.be.lessThan(2000);
      // The kernel still completes TCP handshakes for the stopped process: a TCP-only check passes.
      const tcp = await inNetns([
        process.execPath,
        "-e",
        `require("net").connect(${HAPROXY_HEALTH_PORT}, "127.0.0.1")
           .on("connect", () => { console.log("connected"); process.exit(0); })
           .on("error", (e) => { console.log(e.message); process.exit(1); });`,
      ]);
      expect(tcp.output.trim(), "TCP connect to the stopped HAProxy").to.equal("connected");
    } finally {
      haproxy.kill("SIGCONT");
    }
    const back = await inNetns([script]);
    expect(back.code, back.output).to.equal(0);
  });
});
