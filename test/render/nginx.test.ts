import { expect } from "chai";
import { mkdtemp, rm } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";
import type { LbBackend } from "../../components/lb/backends";
import { renderNginxConf } from "../../components/lb/nginx/nginxConf";
import { checkNginx, run, writeText } from "./checkers";
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
const MODES = ["native", "docker"] as const;

/** The trimmed lines inside `<name> {` ... the first closing brace at the same indent. */
function block(conf: string, name: string): string[] {
  const lines = conf.split("\n");
  const start = lines.findIndex((l) => l.trim() === `${name} {`);
  expect(start, `block ${name}`).to.be.greaterThan(-1);
  const indent = lines[start].length - lines[start].trimStart().length;
  const end = lines.indexOf(`${" ".repeat(indent)}}`, start);
  return lines.slice(start + 1, end).map((l) => l.trim());
}

describe("renderNginxConf", function () {
  for (const mode of MODES) {
    for (const [label, backends] of [
      ["IPv4", DEV_BACKENDS],
      ["IPv6", V6_BACKENDS],
    ] as const) {
      it(`passes nginx -t: ${mode}, ${label} backends`, async function () {
        const result = await checkNginx(renderNginxConf({ backends, mode }), mode);
        expect(result.code, result.output).to.equal(0);
        expect(result.output).to.include("test is successful");
        // e.g. "worker_connections exceed open file resource limit" would show up as [warn].
        expect(result.output, "nginx -t warnings").to.not.match(/\[(warn|emerg|alert)\]/);
      });
    }
  }

  describe("nginx -t catches what it should (so the passes above mean something)", function () {
    it("fails on a bad directive value", async function () {
      const conf = renderNginxConf({ backends: DEV_BACKENDS, mode: "native" }).replace(
        "proxy_timeout 4h;",
        "proxy_timeout forever;",
      );
      const result = await checkNginx(conf, "native");
      expect(result.code).to.not.equal(0);
      expect(result.output).to.include('"proxy_timeout" directive invalid value');
    });

    it("fails on Debian without the modules-enabled include (stream is a dynamic module there)", async function () {
      const conf = renderNginxConf({ backends: DEV_BACKENDS, mode: "native" }).replace(
        "include /etc/nginx/modules-enabled/*.conf;\n",
        "",
      );
      const result = await checkNginx(conf, "native");
      expect(result.code).to.not.equal(0);
      expect(result.output).to.include('unknown directive "stream"');
    });
  });

  it("balances over each backend once with passive health checks and shared state", function () {
    const upstream = block(
      renderNginxConf({ backends: DEV_BACKENDS, mode: "native" }),
      "upstream k3s_servers",
    );
    expect(upstream.filter((l) => l.startsWith("server "))).to.deep.equal([
      "server 10.10.10.50:6443 max_fails=2 fail_timeout=10s; # server-1",
      "server 10.10.10.51:6443 max_fails=2 fail_timeout=10s; # server-2",
      "server 10.10.10.52:6443 max_fails=2 fail_timeout=10s; # server-3",
    ]);
    expect(upstream).to.include("zone k3s_servers 64k;");
    expect(upstream).to.include("least_conn;");
  });

  it("proxies with short connects, long idle sessions and retries on another server", function () {
    for (const mode of MODES) {
      const server = block(renderNginxConf({ backends: DEV_BACKENDS, mode }), "server");
      expect(server).to.deep.equal([
        "listen 6443 so_keepalive=on reuseport;",
        "proxy_pass k3s_servers;",
        "proxy_connect_timeout 3s;",
        "# Idle exec, logs -f and watches; the 10 min default cuts them.",
        "proxy_timeout 4h;",
        "proxy_next_upstream on;",
        "proxy_next_upstream_tries 3;",
        "proxy_next_upstream_timeout 10s;",
        "proxy_socket_keepalive on;",
      ]);
    }
  });

  it("loads the stream module and logs to Debian's log natively, to stderr in Docker", function () {
    const native = renderNginxConf({ backends: DEV_BACKENDS, mode: "native" });
    const docker = renderNginxConf({ backends: DEV_BACKENDS, mode: "docker" });
    expect(native.split("\n")[2]).to.equal("include /etc/nginx/modules-enabled/*.conf;");
    expect(native).to.include("\nerror_log /var/log/nginx/error.log;\n");
    expect(native).to.include("\npid /run/nginx.pid;\n");
    expect(native).to.include("\nuser www-data;\n");
    expect(docker).to.not.include("modules-enabled");
    expect(docker).to.not.include("load_module");
    expect(docker).to.not.match(/^user /m);
    expect(docker).to.not.match(/^daemon /m); // the image's entrypoint passes -g 'daemon off;'
    expect(docker).to.include("\nerror_log stderr;\n");
    for (const conf of [native, docker]) {
      for (const line of [
        "worker_processes auto;",
        "worker_shutdown_timeout 30s;",
        "events {\n  worker_connections 4096;\n}",
      ]) {
        expect(conf, line).to.include(line);
      }
    }
  });

  it("brackets IPv6 backends and listens on IPv6 for them", function () {
    const conf = renderNginxConf({ backends: V6_BACKENDS, mode: "docker", port: 7443 });
    expect(
      block(conf, "upstream k3s_servers").filter((l) => l.startsWith("server ")),
    ).to.deep.equal([
      "server [fd00:10::50]:6443 max_fails=2 fail_timeout=10s; # server-1",
      "server [fd00:10::51]:6443 max_fails=2 fail_timeout=10s; # server-2",
      "server 10.10.10.52:6443 max_fails=2 fail_timeout=10s; # server-3",
    ]);
    const server = block(conf, "server");
    expect(server.slice(0, 2)).to.deep.equal([
      "listen 7443 so_keepalive=on reuseport;",
      "listen [::]:7443 so_keepalive=on reuseport;",
    ]);
    expect(renderNginxConf({ backends: DEV_BACKENDS, mode: "native" })).to.not.include("[::]");
    expect(
      renderNginxConf({ backends: DEV_BACKENDS, mode: "native", ipv6Listener: true }),
    ).to.include("listen [::]:6443 so_keepalive=on reuseport;");
  });

  it("is deterministic, starts with the header and ends with a newline", function () {
    for (const mode of MODES) {
      const conf = renderNginxConf({ backends: DEV_BACKENDS, mode });
      expect(renderNginxConf({ backends: DEV_BACKENDS.map((b) => ({ ...b })), mode })).to.equal(
        conf,
      );
      expect(conf.startsWith(`${HEADER}\n`)).to.equal(true);
      expect(conf.endsWith("}\n")).to.equal(true);
    }
  });
});

describe("nginx running the rendered docker-mode config in a private network namespace", function () {
  this.timeout(60_000);
  const PORT = 16443; // the proxy; stand-ins hold 6443 on other loopback addresses
  const processes = new ProcessGroup();
  let netns = "";
  let dir = "";

  function inNetns(argv: string[]) {
    return run(["ip", "netns", "exec", netns, ...argv], 10_000);
  }

  before(async function () {
    netns = await createNetns("ngx");
    dir = await mkdtemp(path.join(tmpdir(), "k3s-ha-nginx-run-"));
    await makeSelfSignedCert(dir);
    await startPingServer(processes, netns, dir, "127.0.0.2");
    await startPingServer(processes, netns, dir, "::1");
    const conf = renderNginxConf({
      mode: "docker",
      port: PORT,
      backends: [
        { name: "server-1", address: "127.0.0.2" },
        { name: "server-2", address: "::1" },
        { name: "server-3", address: "127.0.0.3" }, // nothing listens: connects are refused
      ],
    });
    // As in checkNginx, plus a private pid file: /run/nginx.pid may belong to another nginx here.
    const runnable = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n${conf}`.replace(
      "\npid /run/nginx.pid;\n",
      `\npid ${dir}/nginx.pid;\n`,
    );
    expect(runnable).to.include(`pid ${dir}/nginx.pid;`);
    const confPath = await writeText(dir, "nginx.conf", runnable);
    // How the official image runs it: `nginx -g 'daemon off;'`.
    const nginx = await processes.start(netns, ["nginx", "-c", confPath, "-g", "daemon off;"]);
    await waitFor(
      () => `nginx on ${PORT}; nginx said: ${processes.output(nginx)}`,
      async () =>
        (await inNetns(["curl", "-fsSk", "-m", "2", `https://127.0.0.1:${PORT}/ping`])).code === 0,
      10_000,
    );
  });

  after(async function () {
    await processes.stopAll();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (netns) await deleteNetns(netns);
  });

  it("answers every connection on both listeners although one server refuses them", async function () {
    // least_conn spreads sequential connections over all three servers; each refused connect
    // must be retried on the next server (proxy_next_upstream) before the client notices.
    const failures: string[] = [];
    for (const url of [`https://127.0.0.1:${PORT}/ping`, `https://[::1]:${PORT}/ping`]) {
      for (let i = 0; i < 15; i++) {
        const result = await inNetns(["curl", "-fsSk", "-m", "3", url]);
        if (result.code !== 0 || result.output !== "pong")
          failures.push(`${url}: ${result.output}`);
      }
    }
    expect(failures).to.deep.equal([]);
  });
});
