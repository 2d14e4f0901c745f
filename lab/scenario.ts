/** Runs one fault against one configuration under client load and measures what clients saw. */
import { API_PORT, HOST_ADDRESSES, LB_HOSTS, LbHostName, VIP } from "./constants";
import { CONFIG_SETS, ConfigName, VrrpMode } from "./configs/config-set";
import {
  ConnStats,
  Timeline,
  VipStats,
  analyzeConns,
  failedStartedAfter,
  timeline,
  vipStats,
  watchStats,
} from "./analyze";
import { FAULTS, FaultId, VICTIM, otherLb } from "./faults";
import { Lab } from "./lab";
import { LbTier } from "./lb-tier";
import { startLoad } from "./load";
import { sleep, waitFor } from "./sh";
import { setLink } from "./topology";
import { VipWatch, vipHolders } from "./vip-watch";

export interface ScenarioSpec {
  fault: FaultId;
  config: ConfigName;
  vrrp: VrrpMode;
  /** Load before the fault, and after it. */
  preMs: number;
  postMs: number;
  /** One new connection every intervalMs; each must finish within timeoutMs. */
  intervalMs: number;
  timeoutMs: number;
  watches: number;
}

export const DEFAULT_LOAD = { intervalMs: 15, timeoutMs: 1_500, watches: 4 };

export interface ScenarioResult {
  spec: ScenarioSpec;
  title: string;
  target: string;
  faultAt: number;
  beforeFault: ConnStats;
  afterFault: ConnStats;
  lastFailureAfterMs: number | null;
  /** Server faults on HAProxy: when the VIP holder's HAProxy marked the victim DOWN. */
  ejectedAfterMs: number | null;
  /** Failed new connections that started after the ejection. */
  failedAfterEjection: number | null;
  watches: ReturnType<typeof watchStats>;
  vip: VipStats | null;
  timeline: Timeline;
}

/** Polls the VIP holder's HAProxy for the victim's state; records when it first reads DOWN. */
function watchEjection(tier: LbTier, holder: LbHostName, deadline: number) {
  let downAt: number | null = null;
  let running = true;
  const loop = (async () => {
    while (running && downAt === null && Date.now() < deadline) {
      const status = await tier.serverStatus(holder).catch(() => undefined);
      if (status?.get(VICTIM)?.startsWith("DOWN")) downAt = Date.now();
      else await sleep(100);
    }
  })();
  return async () => {
    running = false;
    await loop;
    return downAt;
  };
}

export async function runScenario(
  lab: Lab,
  tier: LbTier,
  spec: ScenarioSpec,
): Promise<ScenarioResult> {
  const info = FAULTS[spec.fault];
  const config = CONFIG_SETS[spec.config];
  let target: string;
  let holder: LbHostName | null = null;
  let returning: LbHostName | undefined;
  try {
    if (info.tier === "nginx") {
      await tier.startNginx(config);
      target = HOST_ADDRESSES["lb-1"];
    } else {
      holder = await tier.startHaproxyPair(config, spec.vrrp);
      target = VIP;
      if (spec.fault === "link-back") {
        // The host dies first; the run then measures its return.
        returning = holder;
        holder = otherLb(returning);
        await setLink(returning, false);
        const newHolder = holder;
        await waitFor(
          `the VIP to move to ${newHolder} after ${returning}'s link went down`,
          async () => (await vipHolders()).join() === newHolder,
          20_000,
          100,
        );
        await sleep(2_000);
      }
    }

    const vipWatch = info.tier === "haproxy" ? new VipWatch() : undefined;
    const load = startLoad(lab.programs.loadClient, {
      targets: [{ host: target, port: API_PORT }],
      caFile: lab.cert.cert,
      mode: "paced",
      intervalMs: spec.intervalMs,
      concurrency: 1,
      durationMs: spec.preMs + spec.postMs,
      maxConnections: Math.ceil((spec.preMs + spec.postMs) / spec.intervalMs),
      timeoutMs: spec.timeoutMs,
      watches: spec.watches,
      watchStallMs: 3_500,
    });
    const started = await load.started;
    if (Number.isNaN(started)) await load.result;
    vipWatch?.start(50, spec.preMs + spec.postMs + 10_000);
    await sleep(spec.preMs);

    const serverFault = info.recovery === "server-ejected";
    const faultAt = Date.now();
    const ejection =
      serverFault && holder ? watchEjection(tier, holder, faultAt + spec.postMs) : undefined;
    await inject(lab, tier, spec.fault, holder, returning);

    const result = await load.result;
    const samples = vipWatch ? await vipWatch.stop() : [];
    const downAt = ejection ? await ejection() : null;
    const conns = analyzeConns(result, faultAt);
    return {
      spec,
      title: info.title,
      target,
      faultAt,
      ...conns,
      ejectedAfterMs: downAt === null ? null : downAt - faultAt,
      failedAfterEjection: downAt === null ? null : failedStartedAfter(result, downAt),
      watches: watchStats(result, faultAt),
      vip: vipWatch ? vipStats(samples, faultAt, holder, returning) : null,
      timeline: timeline(result, faultAt, -spec.preMs, spec.postMs),
    };
  } finally {
    await tier.stop();
    for (const host of LB_HOSTS) await setLink(host, true);
    await lab.standIns.restore(VICTIM);
  }
}

async function inject(
  lab: Lab,
  tier: LbTier,
  fault: FaultId,
  holder: LbHostName | null,
  returning: LbHostName | undefined,
): Promise<void> {
  const onHolder = () => {
    if (!holder) throw new Error(`${fault} needs a VIP holder`);
    return tier.hosts[holder];
  };
  switch (fault) {
    case "server-crash":
    case "nginx-server-crash":
      return lab.standIns.kill(VICTIM);
    case "server-hang":
    case "nginx-server-hang":
      return lab.standIns.hang(VICTIM);
    case "haproxy-kill":
      onHolder().signalDaemon("haproxy", "SIGKILL");
      return;
    case "haproxy-hang":
      onHolder().signalDaemon("haproxy", "SIGSTOP");
      return;
    case "link-down":
      return setLink(onHolder().name, false);
    case "link-back":
      if (!returning) throw new Error("link-back needs the host that went down");
      return setLink(returning, true);
  }
}
