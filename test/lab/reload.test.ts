/**
 * Scale in and out as the LB tier sees it: the program rewrites haproxy.cfg with the new server
 * list and reloads HAProxy (a reload, never a restart). Here the reload is what Debian's systemd
 * unit does (`haproxy -c` on the new file, then SIGUSR2 to the master), under client load.
 */
import { expect } from "chai";
import * as fs from "fs";
import { renderHaproxyCfg } from "../../components/lb/haproxy-pair/haproxyCfg";
import { API_PORT, LB_HOSTS, VIP } from "../../harness/lb-lab/constants";
import { CONFIG_SETS } from "../../harness/lb-lab/configs/config-set";
import { OUR_BACKENDS } from "../../harness/lb-lab/configs/ours";
import { LbHost } from "../../harness/lb-lab/lb-host";
import { startLoad } from "../../harness/lb-lab/load";
import { useLab } from "./fixture";
import { signal } from "../../harness/shared/processes";
import { sleep, waitFor } from "../../harness/shared/sh";

/** The HAProxy master: the one haproxy process whose parent is not haproxy. */
function masterPid(host: LbHost): number {
  const comm = (pid: number) => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      return "";
    }
  };
  const parent = (pid: number) =>
    Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[1]);
  const masters = host.pids("haproxy").filter((pid) => comm(parent(pid)) !== "haproxy");
  expect(masters, `one HAProxy master on ${host.name}`).to.have.length(1);
  return masters[0];
}

async function reloadWith(host: LbHost, cfg: string): Promise<void> {
  host.writeFile("etc-haproxy", "haproxy.cfg", cfg);
  await host.exec("haproxy", ["-c", "-q", "-f", "/etc/haproxy/haproxy.cfg"]);
  signal(masterPid(host), "SIGUSR2");
}

describe("LB tier reload on scale in/out (lab, real haproxy, K3s server stand-ins)", function () {
  this.timeout(300_000);
  const { lab, tier } = useLab();

  it("changes the backends with a reload: same master, no failed connection, no watch lost", async () => {
    const holder = await tier.startHaproxyPair(CONFIG_SETS.ours, "multicast");
    const masters = LB_HOSTS.map((name) => masterPid(tier.hosts[name]));
    const twoServers = renderHaproxyCfg({ backends: OUR_BACKENDS.slice(0, 2) });
    const threeServers = renderHaproxyCfg({ backends: OUR_BACKENDS });

    const load = startLoad(lab.programs.loadClient, {
      targets: [{ host: VIP, port: API_PORT }],
      caFile: lab.cert.cert,
      mode: "paced",
      intervalMs: 15,
      concurrency: 1,
      durationMs: 9_000,
      maxConnections: 600,
      timeoutMs: 1_500,
      watches: 4,
      watchStallMs: 3_500,
    });
    await load.started;
    await sleep(2_000);

    // Scale in: server-3 leaves the backends on both LB hosts.
    for (const name of LB_HOSTS) await reloadWith(tier.hosts[name], twoServers);
    await waitFor(
      "HAProxy on the VIP holder to drop server-3",
      async () => !(await tier.serverStatus(holder)).has("server-3"),
      5_000,
      100,
    );
    await sleep(2_000);

    // Scale out: server-3 comes back.
    for (const name of LB_HOSTS) await reloadWith(tier.hosts[name], threeServers);
    await waitFor(
      "HAProxy on the VIP holder to list server-3 again",
      async () => (await tier.serverStatus(holder)).has("server-3"),
      5_000,
      100,
    );

    const result = await load.result;
    const failed = result.conns.filter((c) => !c[2]);
    expect(result.conns.length, "connections attempted").to.be.greaterThan(300);
    expect(
      failed.map((c) => c[5]),
      "failed new connections across both reloads",
    ).to.deep.equal([]);
    expect(
      result.watches.filter((w) => w.lostAt !== null).map((w) => w.reason),
      "long-lived watches lost",
    ).to.deep.equal([]);
    expect(
      LB_HOSTS.map((name) => masterPid(tier.hosts[name])),
      "HAProxy masters",
    ).to.deep.equal(masters);
  });
});
