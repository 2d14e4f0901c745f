import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import { chmod, mkdtemp, rm } from "fs/promises";
import * as http from "http";
import { AddressInfo } from "net";
import { tmpdir } from "os";
import * as path from "path";
import {
  KEEPALIVED_CHECK_SCRIPT_PATH,
  KEEPALIVED_SCRIPT_USER,
  KeepalivedArgs,
  renderHaproxyCheckScript,
  renderKeepalivedConf,
} from "../../components/lb/haproxy-pair/keepalivedConf";
import { HAPROXY_HEALTH_PORT } from "../../components/lb/haproxy-pair/haproxyCfg";
import { shQuote } from "../../components/host/script";
import { bindScriptUserFiles, writeScriptUserFiles } from "../../harness/lb-lab/script-user";
import {
  checkKeepalived,
  checkShell,
  configStepTest,
  run,
  runAsLbHost,
  withTempDir,
  writeText,
} from "./checkers";
import {
  createNetns,
  createNetnsPair,
  createNetnsSegment,
  deleteNetns,
  deleteNetnsSegment,
} from "./netns";
import { ProcessGroup, waitFor } from "./processes";

const HEADER = "# Managed by k3s-ha (Pulumi). Local edits are overwritten.";

// The dev topology: lb-1 (10.10.10.98, priority 200) and lb-2 (10.10.10.99, priority 100).
const LB_HOSTS = [
  { name: "lb-1", address: "10.10.10.98", priority: 200 },
  { name: "lb-2", address: "10.10.10.99", priority: 100 },
];

function devArgs(host: number, unicast: boolean, nopreempt: boolean): KeepalivedArgs {
  const self = LB_HOSTS[host];
  const peer = LB_HOSTS[1 - host];
  return {
    interface: "eth1",
    virtualRouterId: 51,
    vip: "10.10.10.100",
    vipPrefixLength: 24,
    priority: self.priority,
    peerPriority: peer.priority,
    nopreempt,
    ...(unicast ? { unicast: { sourceAddress: self.address, peers: [peer.address] } } : {}),
  };
}

const VARIANTS = LB_HOSTS.flatMap((_, host) =>
  [false, true].flatMap((unicast) =>
    [true, false].map((nopreempt) => ({
      label: `${LB_HOSTS[host].name} ${unicast ? "unicast" : "multicast"} nopreempt=${nopreempt}`,
      args: devArgs(host, unicast, nopreempt),
    })),
  ),
);

/** Writes the check script and keepalived.conf rendered from `args` into `dir` (made 0755). */
async function writeRendered(dir: string, args: KeepalivedArgs): Promise<string> {
  await chmod(dir, 0o755); // the script user must reach the script
  const script = await writeText(dir, "check_haproxy.sh", renderHaproxyCheckScript(), 0o755);
  const conf = renderKeepalivedConf({ ...args, checkScriptPath: script });
  return writeText(dir, "keepalived.conf", conf);
}

/** The lines between `<name> {` and its closing brace at column 0, trimmed. */
function block(conf: string, name: string): string[] {
  const lines = conf.split("\n");
  const start = lines.indexOf(`${name} {`);
  expect(start, `block ${name}`).to.be.greaterThan(-1);
  const end = lines.indexOf("}", start);
  return lines.slice(start + 1, end).map((l) => l.trim());
}

describe("renderKeepalivedConf", function () {
  let netns: string;
  before(async function () {
    netns = await createNetns("kad");
  });
  after(async function () {
    if (netns) await deleteNetns(netns);
  });

  for (const { label, args } of VARIANTS) {
    it(`passes keepalived -t: ${label}`, async function () {
      const result = await checkKeepalived(
        netns,
        (checkScriptPath) => renderKeepalivedConf({ ...args, checkScriptPath }),
        renderHaproxyCheckScript(),
      );
      expect(result.code, result.output).to.equal(0);
    });
  }

  it("passes keepalived -t with an IPv6 VIP, multicast and unicast", async function () {
    for (const unicast of [undefined, { sourceAddress: "fd00::98", peers: ["fd00::99"] }]) {
      const args: KeepalivedArgs = {
        ...devArgs(0, false, true),
        vip: "fd00::100",
        vipPrefixLength: 64,
        ...(unicast ? { unicast } : {}),
      };
      const result = await checkKeepalived(
        netns,
        (checkScriptPath) => renderKeepalivedConf({ ...args, checkScriptPath }),
        renderHaproxyCheckScript(),
      );
      expect(result.code, result.output).to.equal(0);
      expect(renderKeepalivedConf(args)).to.include("\n    fd00::100/64 dev eth1\n");
    }
  });

  describe("keepalived -t catches what it should (so the passes above mean something)", function () {
    it("fails on an unknown keyword", async function () {
      const result = await checkKeepalived(
        netns,
        (p) =>
          renderKeepalivedConf({ ...devArgs(0, true, true), checkScriptPath: p }).replace(
            "advert_int",
            "advert_intx",
          ),
        renderHaproxyCheckScript(),
      );
      expect(result.code).to.not.equal(0);
      expect(result.output).to.include("Unknown keyword 'advert_intx'");
    });

    // enable_script_security checks the path of scripts that run as root; for a script that runs
    // as another user KeepAlived checks that this user can reach and execute it. The step writes
    // the script 0755 root:root, so no one but root can change what the check says.
    it("fails when the script user cannot reach the check script (a 0700 directory)", async function () {
      const result = await checkKeepalived(
        netns,
        (p) => renderKeepalivedConf({ ...devArgs(0, true, true), checkScriptPath: p }),
        renderHaproxyCheckScript(),
        0o755,
        0o700,
      );
      expect(result.code, result.output).to.not.equal(0);
      expect(result.output).to.include(
        "Disabling track script chk_haproxy since not found/accessible",
      );
    });

    it("fails when the script user does not exist (the check step creates it first)", async function () {
      const known = await run(["getent", "passwd", KEEPALIVED_SCRIPT_USER]);
      if (known.code === 0) this.skip(); // this machine has the user itself
      const result = await withTempDir(async (dir) => {
        const conf = await writeRendered(dir, devArgs(0, true, true));
        return run(["ip", "netns", "exec", netns, "sh", "-c", configStepTest(conf)]);
      });
      expect(result.code, result.output).to.not.equal(0);
      expect(result.output).to.include("Error setting global script uid/gid");
    });

    it("fails on nopreempt with state MASTER, which the renderer never emits", async function () {
      const result = await checkKeepalived(
        netns,
        (p) =>
          renderKeepalivedConf({ ...devArgs(0, true, true), checkScriptPath: p }).replace(
            "state BACKUP",
            "state MASTER",
          ),
        renderHaproxyCheckScript(),
      );
      expect(result.code).to.not.equal(0);
      expect(result.output).to.include("nopreempt will not work with initial state MASTER");
    });
  });

  it("keepalived -t as the config step runs it passes where KeepAlived 2.2.5-2.2.7's own -t kills itself", async function () {
    const version = (await run(["keepalived", "--version"])).output.match(/v(\d+)\.(\d+)\.(\d+)/);
    expect(version, "keepalived --version").to.not.equal(null);
    const [major, minor, patch] = version!.slice(1).map(Number);
    const affected = major === 2 && minor === 2 && patch >= 5 && patch <= 7;
    const result = await withTempDir(async (dir) => {
      const conf = await writeRendered(dir, devArgs(1, true, true));
      const plain = await runAsLbHost(netns, dir, `keepalived -t -f ${shQuote(conf)}; exit $?`);
      const asStep = await runAsLbHost(netns, dir, `exec sh -c ${shQuote(configStepTest(conf))}`);
      return { plain, asStep };
    });
    // 143: killed by SIGTERM, which `sh -c` reports as 128 + 15.
    expect(result.plain.code, result.plain.output).to.equal(affected ? 143 : 0);
    expect(result.asStep.code, result.asStep.output).to.equal(0);
    // Nothing to report on a good file: not even the shell's "Terminated" for the killed test.
    expect(result.asStep.output).to.equal("");
  });

  it("starts both hosts BACKUP with nopreempt, and the higher one MASTER without it", function () {
    const state = (host: number, nopreempt: boolean) =>
      block(renderKeepalivedConf(devArgs(host, true, nopreempt)), "vrrp_instance k3s-api-vip").find(
        (l) => l.startsWith("state "),
      );
    expect(state(0, true)).to.equal("state BACKUP");
    expect(state(1, true)).to.equal("state BACKUP");
    expect(state(0, false)).to.equal("state MASTER");
    expect(state(1, false)).to.equal("state BACKUP");
    const { peerPriority: _, ...withoutPeer } = devArgs(0, true, false);
    expect(renderKeepalivedConf(withoutPeer)).to.include("\n  state BACKUP\n");
  });

  it("renders the instance the dev topology needs", function () {
    const conf = renderKeepalivedConf(devArgs(0, true, true));
    expect(block(conf, "global_defs")).to.deep.equal([
      "vrrp_version 3",
      "vrrp_priority -20",
      "enable_script_security",
      "script_user keepalived_script",
      "vrrp_garp_master_refresh 60",
    ]);
    expect(block(conf, "vrrp_script chk_haproxy")).to.deep.equal([
      `script "${KEEPALIVED_CHECK_SCRIPT_PATH}"`,
      "interval 1",
      "timeout 3",
      "fall 1",
      "rise 2",
    ]);
    const instance = block(conf, "vrrp_instance k3s-api-vip");
    for (const line of [
      "interface eth1",
      "virtual_router_id 51",
      "priority 200",
      "advert_int 0.25",
      "nopreempt",
      "unicast_src_ip 10.10.10.98",
      "10.10.10.99",
      "check_unicast_src",
      "unicast_fault_no_peer",
      "10.10.10.100/24 dev eth1",
      "chk_haproxy",
    ]) {
      expect(instance, line).to.include(line);
    }
    expect(conf).to.not.match(/authentication|auth_pass|killall|weight|script_user root/);
  });

  it("renders the advertisement interval in seconds (validation keeps it on the 10 ms grid, from the floor up)", function () {
    const at = (advertIntervalMs: number) =>
      block(
        renderKeepalivedConf({ ...devArgs(0, true, true), advertIntervalMs }),
        "vrrp_instance k3s-api-vip",
      );
    expect(at(100)).to.include("advert_int 0.1");
    expect(at(1000)).to.include("advert_int 1");
    expect(at(40_950)).to.include("advert_int 40.95");
  });

  it("renders multicast without unicast lines and without nopreempt when preempting", function () {
    const conf = renderKeepalivedConf(devArgs(1, false, false));
    expect(conf).to.not.include("unicast");
    expect(conf).to.not.include("nopreempt");
    expect(conf).to.include("\n  priority 100\n");
  });

  it("sets router_id and the check script path when given", function () {
    const conf = renderKeepalivedConf({
      ...devArgs(0, false, true),
      routerId: "lb-1",
      checkScriptPath: "/usr/local/lib/k3s-ha/check.sh",
    });
    expect(block(conf, "global_defs")).to.include("router_id lb-1");
    expect(conf).to.include('\n  script "/usr/local/lib/k3s-ha/check.sh"\n');
  });

  it("is deterministic, starts with the header and ends with a newline", function () {
    for (const { args } of VARIANTS) {
      const conf = renderKeepalivedConf(args);
      expect(renderKeepalivedConf(args)).to.equal(conf);
      expect(conf.startsWith(`${HEADER}\n`)).to.equal(true);
      expect(conf.endsWith("}\n")).to.equal(true);
    }
  });
});

describe("renderHaproxyCheckScript", function () {
  it("passes shellcheck", async function () {
    const result = await checkShell(renderHaproxyCheckScript());
    expect(result.code, result.output).to.equal(0);
  });

  it("shellcheck catches a flawed script (so the pass above means something)", async function () {
    const flawed = renderHaproxyCheckScript().replace(
      "probe() {",
      "for f in $(ls /tmp); do echo $f; done\nprobe() {",
    );
    const result = await checkShell(flawed);
    expect(result.code).to.not.equal(0);
    expect(result.output).to.match(/SC2045|SC2086/);
  });

  it("probes the local HAProxy monitor URI with a 0.3 s limit per probe, never killall", function () {
    const script = renderHaproxyCheckScript();
    expect(script.startsWith(`#!/bin/sh\n${HEADER}\n`)).to.equal(true);
    expect(script).to.include(`\nhealth_url='http://127.0.0.1:${HAPROXY_HEALTH_PORT}/healthz'\n`);
    expect(script).to.include(
      `curl --noproxy '*' -fsS -m 0.3 -o /dev/null "$health_url" 2>/dev/null\n`,
    );
    expect(script).to.include('[ "$fails" -ge 2 ] && exit 1');
    expect(script).to.not.include("killall");
    expect(renderHaproxyCheckScript({ healthPort: 18405 })).to.include(
      "health_url='http://127.0.0.1:18405/healthz'",
    );
    expect(renderHaproxyCheckScript()).to.equal(script);
  });

  describe("run against real listeners on 127.0.0.1", function () {
    async function runScript(
      port: number,
    ): Promise<{ code: number | null; ms: number; output: string }> {
      return withTempDir(async (dir) => {
        const script = await writeText(
          dir,
          "check.sh",
          renderHaproxyCheckScript({ healthPort: port }),
          0o755,
        );
        const started = Date.now();
        const result = await run([script], 10_000);
        return { ...result, ms: Date.now() - started };
      });
    }

    function listen(server: http.Server): Promise<number> {
      return new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
      );
    }

    it("exits 0 while the monitor URI answers, non-zero at once after the listener stops", async function () {
      const server = http.createServer((req, res) => {
        res.writeHead(req.url === "/healthz" ? 200 : 404).end();
      });
      const port = await listen(server);
      const up = await runScript(port);
      expect(up.code, up.output).to.equal(0);
      await new Promise((resolve) => server.close(resolve));
      // A run lasts about 0.7 s while HAProxy answers; a refused port ends it at the second probe.
      expect(up.ms).to.be.within(600, 1500);
      const down = await runScript(port);
      expect(down.code).to.not.equal(0);
      expect(down.ms).to.be.lessThan(600);
    });

    it("does not fail on one slow answer: only two failed probes in a row fail the run", async function () {
      let requests = 0;
      const server = http.createServer((_req, res) => {
        requests += 1;
        if (requests === 2) setTimeout(() => res.writeHead(200).end(), 500);
        else res.writeHead(200).end();
      });
      const port = await listen(server);
      try {
        const result = await runScript(port);
        expect(result.code, result.output).to.equal(0);
        expect(requests, "probes in one run").to.be.at.least(4);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });

    it("exits non-zero when something else answers on the port with an error", async function () {
      const server = http.createServer((_req, res) => res.writeHead(503).end());
      const port = await listen(server);
      try {
        const result = await runScript(port);
        expect(result.code).to.not.equal(0);
      } finally {
        server.close();
      }
    });

    it("exits 1 within 1.5 s when the listener is stopped (SIGSTOP) but its port accepts", async function () {
      // A separate process, so SIGSTOP freezes the listener and not the test; the kernel keeps
      // completing handshakes into its backlog, as for a hung HAProxy.
      const child: ChildProcess = spawn(
        process.execPath,
        [
          "-e",
          `require("http").createServer((q, s) => s.writeHead(200).end())
             .listen(0, "127.0.0.1", function () { console.log(this.address().port); });`,
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      try {
        const port = await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error("listener did not report its port in 10 s")),
            10_000,
          );
          child.stdout!.once("data", (d: Buffer) => {
            clearTimeout(timer);
            resolve(Number(d.toString().trim()));
          });
        });
        const up = await runScript(port);
        expect(up.code, up.output).to.equal(0);
        child.kill("SIGSTOP");
        const hung = await runScript(port);
        // Two probes in a row get no answer within 0.3 s each.
        expect(hung.code, hung.output).to.equal(1);
        expect(hung.ms).to.be.within(550, 1500);
        child.kill("SIGCONT");
        const back = await runScript(port);
        expect(back.code, back.output).to.equal(0);
      } finally {
        child.kill("SIGKILL");
      }
    });
  });
});

// Answers the check script's probe inside a namespace, standing in for HAProxy's monitor URI.
const HEALTH_PORT = 18405;
const HEALTH_STAND_IN = `require("http")
  .createServer((req, res) => res.writeHead(req.url === "/healthz" ? 200 : 404).end())
  .listen(${HEALTH_PORT}, "127.0.0.1", () => console.log("ready"));`;

/**
 * Starts KeepAlived (VRRP only, in the foreground) in namespace `ns` with `confPath`, as on an LB
 * host the program configured: the check script's user exists (private /etc/passwd and
 * /etc/group copies in `dir`, which must be 0755 so that user reaches the script there).
 */
function startKeepalived(
  processes: ProcessGroup,
  ns: string,
  dir: string,
  confPath: string,
  name: string,
): Promise<ChildProcess> {
  const pid = (what: string) => path.join(dir, `${name}-${what}.pid`);
  const argv = [
    ...["keepalived", "--dont-fork", "--log-console", "--log-detail", "--vrrp"],
    ...["--no-syslog", "-f", confPath, "-p", pid("main"), "-r", pid("vrrp")],
  ];
  const bind = bindScriptUserFiles(writeScriptUserFiles(dir));
  return processes.start(ns, ["sh", "-c", `${bind} && exec ${argv.map(shQuote).join(" ")}`]);
}

describe("keepalived running the rendered configs on two namespaces", function () {
  this.timeout(90_000);

  /** Which of the two namespaces hold the VIP on eth1. */
  async function holders(pair: [string, string]): Promise<boolean[]> {
    return Promise.all(
      pair.map(async (ns) => {
        const out = await run(["ip", "-n", ns, "-o", "-4", "addr", "show", "dev", "eth1"]);
        return out.output.includes(" 10.10.10.100/24 ");
      }),
    );
  }

  /**
   * Starts lb-1 and lb-2 with the rendered files, freezes lb-1's health stand-in (a hung
   * HAProxy) and returns how long the VIP took to move to lb-2, then resumes it and returns
   * where the VIP is 8 s later.
   */
  async function failover(unicast: boolean, nopreempt: boolean) {
    const processes = new ProcessGroup();
    const pair = await createNetnsPair(unicast ? "kvu" : "kvm", [
      "10.10.10.98/24",
      "10.10.10.99/24",
    ]);
    const dir = await mkdtemp(path.join(tmpdir(), "k3s-ha-keepalived-run-"));
    const describeAll = () =>
      pair.map((ns, i) => `${ns}:\n${processes.output(keepalived[i])}`).join("\n");
    const keepalived: ChildProcess[] = [];
    try {
      await chmod(dir, 0o755); // the script user runs the check script from here
      const script = await writeText(
        dir,
        "check_haproxy.sh",
        renderHaproxyCheckScript({ healthPort: HEALTH_PORT }),
        0o755,
      );
      const health: ChildProcess[] = [];
      for (const [i, ns] of pair.entries()) {
        health.push(await processes.start(ns, [process.execPath, "-e", HEALTH_STAND_IN], /ready/));
        const conf = renderKeepalivedConf({
          ...devArgs(i, unicast, nopreempt),
          checkScriptPath: script,
          routerId: LB_HOSTS[i].name,
        });
        const confPath = await writeText(dir, `keepalived-${i}.conf`, conf);
        keepalived.push(await startKeepalived(processes, ns, dir, confPath, LB_HOSTS[i].name));
      }
      const onlyOn = (i: number) => async () => {
        const h = await holders(pair);
        return h[i] && !h[1 - i];
      };
      const startMs = await waitFor(
        () => `the VIP on lb-1 only\n${describeAll()}`,
        onlyOn(0),
        15_000,
      );
      health[0].kill("SIGSTOP");
      const failoverMs = await waitFor(
        () => `the VIP on lb-2 only\n${describeAll()}`,
        onlyOn(1),
        15_000,
      );
      health[0].kill("SIGCONT");
      await new Promise((r) => setTimeout(r, 8_000)); // rise 2 at 1 s, then VRRP settles
      return { startMs, failoverMs, after: await holders(pair) };
    } finally {
      await processes.stopAll();
      await rm(dir, { recursive: true, force: true });
      for (const ns of pair) await deleteNetns(ns);
    }
  }

  it("multicast with preemption: moves the VIP off a hung HAProxy and back when it recovers", async function () {
    const result = await failover(false, false);
    console.log(
      `      multicast/preempt: VIP up ${result.startMs} ms, failover ${result.failoverMs} ms`,
    );
    expect(result.failoverMs).to.be.lessThan(6_000);
    expect(result.after, "VIP holders [lb-1, lb-2] after lb-1 recovers").to.deep.equal([
      true,
      false,
    ]);
  });

  it("unicast with nopreempt: moves the VIP off a hung HAProxy and leaves it there", async function () {
    const result = await failover(true, true);
    console.log(
      `      unicast/nopreempt: VIP up ${result.startMs} ms, failover ${result.failoverMs} ms`,
    );
    expect(result.failoverMs).to.be.lessThan(6_000);
    expect(result.after, "VIP holders [lb-1, lb-2] after lb-1 recovers").to.deep.equal([
      false,
      true,
    ]);
  });
});

describe("unicast VRRP on a shared segment: adverts from an address that is not a peer", function () {
  this.timeout(120_000);
  const ROGUE = "10.10.10.66";
  // Another host on the segment running KeepAlived with the pair's VRID and VIP, the highest
  // priority, and unicast adverts to both LB hosts from its own address.
  const ROGUE_CONF = [
    "global_defs {",
    "  vrrp_version 3",
    "}",
    "vrrp_instance rogue {",
    "  state MASTER",
    "  interface eth1",
    "  virtual_router_id 51",
    "  priority 254",
    "  advert_int 1",
    `  unicast_src_ip ${ROGUE}`,
    "  unicast_peer {",
    ...LB_HOSTS.map((h) => `    ${h.address}`),
    "  }",
    "  virtual_ipaddress {",
    "    10.10.10.100/24 dev eth1",
    "  }",
    "}",
    "",
  ].join("\n");

  /**
   * lb-1 and lb-2 with the rendered unicast files (edited by `edit`), then the rogue: returns
   * whether the VIP's holder kept it for 10 s of rogue adverts, and the holder's log.
   */
  async function underRogue(edit: (conf: string) => string) {
    const processes = new ProcessGroup();
    const segment = await createNetnsSegment("kvr", [
      ...LB_HOSTS.map((h) => `${h.address}/24`),
      `${ROGUE}/24`,
    ]);
    const lbs = segment.slice(0, 2);
    const dir = await mkdtemp(path.join(tmpdir(), "k3s-ha-keepalived-rogue-"));
    const keepalived: ChildProcess[] = [];
    const vipOn = async (ns: string) =>
      (await run(["ip", "-n", ns, "-o", "-4", "addr", "show", "dev", "eth1"])).output.includes(
        " 10.10.10.100/24 ",
      );
    const logs = () =>
      keepalived.map((k, i) => `${segment[i]}:\n${processes.output(k)}`).join("\n");
    try {
      await chmod(dir, 0o755);
      const script = await writeText(
        dir,
        "check_haproxy.sh",
        renderHaproxyCheckScript({ healthPort: HEALTH_PORT }),
        0o755,
      );
      for (const [i, ns] of lbs.entries()) {
        await processes.start(ns, [process.execPath, "-e", HEALTH_STAND_IN], /ready/);
        const conf = edit(
          renderKeepalivedConf({
            ...devArgs(i, true, true),
            checkScriptPath: script,
            routerId: LB_HOSTS[i].name,
          }),
        );
        const confPath = await writeText(dir, `keepalived-${i}.conf`, conf);
        keepalived.push(await startKeepalived(processes, ns, dir, confPath, LB_HOSTS[i].name));
      }
      let holder = -1;
      await waitFor(
        () => `the VIP on one LB host\n${logs()}`,
        async () => {
          const on = await Promise.all(lbs.map(vipOn));
          holder = on[0] !== on[1] ? on.indexOf(true) : -1;
          return holder >= 0;
        },
        15_000,
      );
      const roguePath = await writeText(dir, "rogue.conf", ROGUE_CONF);
      keepalived.push(await startKeepalived(processes, segment[2], dir, roguePath, "rogue"));
      const started = Date.now();
      let lostAfterMs: number | null = null;
      while (Date.now() - started < 10_000 && lostAfterMs === null) {
        if (!(await vipOn(lbs[holder]))) lostAfterMs = Date.now() - started;
        await new Promise((r) => setTimeout(r, 100));
      }
      return {
        holder: LB_HOSTS[holder].name,
        lostAfterMs,
        holderLog: processes.output(keepalived[holder]),
        logs: logs(),
      };
    } finally {
      await processes.stopAll();
      await rm(dir, { recursive: true, force: true });
      await deleteNetnsSegment("kvr", segment);
    }
  }

  it("are ignored (check_unicast_src): the VIP stays on its holder, which logs the source", async function () {
    const r = await underRogue((conf) => conf);
    expect(r.lostAfterMs, `${r.holder} lost the VIP to the rogue\n${r.logs}`).to.equal(null);
    expect(r.holderLog).to.include(`unicast source address ${ROGUE} not a unicast peer`);
  });

  it("take the VIP off its holder without check_unicast_src (so the pass above means something)", async function () {
    const r = await underRogue((conf) => {
      expect(conf).to.include("\n  check_unicast_src\n");
      return conf.replace("\n  check_unicast_src\n", "\n");
    });
    expect(r.lostAfterMs, `${r.holder} kept the VIP\n${r.logs}`).to.not.equal(null);
    console.log(
      `      without check_unicast_src ${r.holder} lost the VIP after ${r.lostAfterMs} ms`,
    );
  });
});
