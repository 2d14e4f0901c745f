/** Runs one fault against one configuration under client load and measures what clients saw. */
import { CpuStat, cpuStat } from "./cgroups";
import { API_PORT, HOST_ADDRESSES, LB_HOSTS, LbHostName, VIP } from "./constants";
import { CONFIG_SETS, ConfigName, VrrpMode } from "./configs/config-set";
import {
  ConnStats,
  Timeline,
  VipStats,
  analyzeConns,
  backAfterMs,
  failedStartedAfter,
  timeline,
  vipStats,
  watchStats,
} from "./analyze";
import { FAULTS, FaultId, VICTIM, otherLb } from "./faults";
import { PidWatch } from "./daemon-watch";
import { Lab } from "./lab";
import { isRealtime, niceOf } from "./lb-host";
import { LbTier } from "./lb-tier";
import { startLoad } from "./load";
import { RollFault, RollProcedure, RollStep, rollEnds, rollKeepalived } from "./roll";
import { signal } from "../shared/processes";
import { sleep, waitFor } from "../shared/sh";
import { UnitEvent } from "./supervisor";
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
  /** starvation: how long each LB host is starved, one after the other (default 60 s). */
  starveMs?: number;
  /** vrrp-roll-*: the roll procedure reproduced (default "hold"). */
  roll?: RollProcedure;
  /** vrrp-roll-*: from lb-1's step to lb-2's (default 5 s). */
  rollGapMs?: number;
}

export const DEFAULT_STARVE_MS = 60_000;
/** Two per core on the lab's 2-core machine: the host's one-CPU quota is taken whatever the spread. */
export const BUSY_LOOPS = 4;
export const DEFAULT_ROLL_GAP_MS = 5_000;

export interface StarvationStat {
  host: LbHostName;
  /** The host's cgroup over its starvation: CFS periods and how many were throttled. */
  cpu: CpuStat;
  /** KeepAlived's VRRP process ran real-time (vrrp_rt_priority took effect). */
  keepalivedRealtime: boolean;
  /** Its nice value (vrrp_priority), null when it was not found. */
  keepalivedNice: number | null;
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
  /**
   * keepalived-kill, keepalived-vrrp-kill: from the fault until a KeepAlived VRRP process runs again
   * on the host (one that was not running at the fault); null if none did, or for other faults.
   */
  daemonBackAfterMs: number | null;
  /** The victim host's KeepAlived supervisor reproduction, when the config set has supervision. */
  supervisor?: { state: string; events: (Omit<UnitEvent, "at"> & { afterMs: number })[] };
  starvation?: StarvationStat[];
  roll?: {
    procedure: RollProcedure;
    /** "hold" stopped lb-1 first (the change was incompatible); else the plain steps ran. */
    held: boolean;
    steps: (Omit<RollStep, "at"> & { afterMs: number })[];
  };
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
  const isRoll: RollFault | undefined =
    spec.fault === "vrrp-roll-version" || spec.fault === "vrrp-roll-interval"
      ? spec.fault
      : undefined;
  if (isRoll && spec.config !== "ours") {
    throw new Error(`${spec.fault} rolls to the program's config: run it with config "ours"`);
  }
  const starveMs = spec.starveMs ?? DEFAULT_STARVE_MS;
  if (spec.fault === "starvation" && spec.postMs < LB_HOSTS.length * starveMs) {
    throw new Error(
      `starvation starves each LB host for ${starveMs} ms: postMs must be at least ${LB_HOSTS.length * starveMs}`,
    );
  }
  let target: string;
  let holder: LbHostName | null = null;
  let returning: LbHostName | undefined;
  try {
    if (info.tier === "nginx") {
      await tier.startNginx(config);
      target = HOST_ADDRESSES["lb-1"];
    } else {
      holder = await tier.startHaproxyPair(isRoll ? rollEnds(isRoll).from : config, spec.vrrp);
      target = VIP;
      if (spec.fault === "link-back" || spec.fault === "power-back") {
        // The host dies first; the run then measures its return.
        returning = holder;
        holder = otherLb(returning);
        if (spec.fault === "link-back") await setLink(returning, false);
        else await tier.hosts[returning].powerOff();
        const newHolder = holder;
        await waitFor(
          `the VIP to move to ${newHolder} after ${returning} went down (${spec.fault})`,
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
    const keepalivedKill =
      spec.fault === "keepalived-kill" || spec.fault === "keepalived-vrrp-kill";
    let vrrpWatch: PidWatch | undefined;
    let vrrpBefore: number[] = [];
    if (keepalivedKill && holder) {
      const host = tier.hosts[holder];
      vrrpWatch = new PidWatch(() => host.childPids("keepalived"));
      vrrpBefore = host.childPids("keepalived");
      vrrpWatch.start(25, spec.postMs + 5_000);
    }
    const faultAt = Date.now();
    const ejection =
      serverFault && holder ? watchEjection(tier, holder, faultAt + spec.postMs) : undefined;
    const extra = await inject(lab, tier, spec, holder, returning);

    const result = await load.result;
    const samples = vipWatch ? await vipWatch.stop() : [];
    const vrrpSamples = vrrpWatch ? await vrrpWatch.stop() : [];
    const downAt = ejection ? await ejection() : null;
    const conns = analyzeConns(result, faultAt);
    const supervisor = holder ? tier.hosts[holder].supervisors.get("keepalived") : undefined;
    return {
      ...extra,
      daemonBackAfterMs: keepalivedKill ? backAfterMs(vrrpSamples, faultAt, vrrpBefore) : null,
      ...(keepalivedKill && supervisor
        ? {
            supervisor: {
              state: supervisor.state,
              events: supervisor.events
                .filter((e) => e.at >= faultAt)
                .map(({ at, ...e }) => ({ ...e, afterMs: at - faultAt })),
            },
          }
        : {}),
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

type Extra = Pick<ScenarioResult, "starvation" | "roll">;

async function inject(
  lab: Lab,
  tier: LbTier,
  spec: ScenarioSpec,
  holder: LbHostName | null,
  returning: LbHostName | undefined,
): Promise<Extra> {
  const fault = spec.fault;
  const onHolder = () => {
    if (!holder) throw new Error(`${fault} needs a VIP holder`);
    return tier.hosts[holder];
  };
  switch (fault) {
    case "server-crash":
    case "nginx-server-crash":
      lab.standIns.kill(VICTIM);
      return {};
    case "server-hang":
    case "nginx-server-hang":
      lab.standIns.hang(VICTIM);
      return {};
    case "haproxy-kill":
      onHolder().signalDaemon("haproxy", "SIGKILL");
      return {};
    case "haproxy-hang":
      onHolder().signalDaemon("haproxy", "SIGSTOP");
      return {};
    case "link-down":
      await setLink(onHolder().name, false);
      return {};
    case "link-back":
      if (!returning) throw new Error("link-back needs the host that went down");
      await setLink(returning, true);
      return {};
    case "power-off":
      await onHolder().powerOff();
      return {};
    case "power-back":
      if (!returning) throw new Error("power-back needs the host that was powered off");
      await tier.powerOn(returning);
      return {};
    case "keepalived-kill":
      onHolder().signalDaemon("keepalived", "SIGKILL");
      return {};
    case "keepalived-vrrp-kill": {
      const host = onHolder();
      const vrrp = host.keepalivedVrrpPid();
      if (vrrp === undefined) throw new Error(`no KeepAlived VRRP process on ${host.name}`);
      signal(vrrp, "SIGKILL");
      return {};
    }
    case "starvation":
      return { starvation: await starveEachHost(tier, spec.starveMs ?? DEFAULT_STARVE_MS) };
    case "vrrp-roll-version":
    case "vrrp-roll-interval": {
      const procedure = spec.roll ?? "hold";
      const at = Date.now();
      const { steps, hold } = await rollKeepalived(
        tier,
        rollEnds(fault).to,
        spec.vrrp,
        procedure,
        spec.rollGapMs ?? DEFAULT_ROLL_GAP_MS,
      );
      return {
        roll: {
          procedure,
          held: hold,
          steps: steps.map(({ at: t, ...s }) => ({ ...s, afterMs: t - at })),
        },
      };
    }
  }
}

/** Busy loops in each LB host's cgroup in turn, for `ms` each; what its cgroup saw meanwhile. */
async function starveEachHost(tier: LbTier, ms: number): Promise<StarvationStat[]> {
  const stats: StarvationStat[] = [];
  for (const name of LB_HOSTS) {
    const host = tier.hosts[name];
    const before = cpuStat(host.cgroupDir);
    const loops = host.busyLoops(BUSY_LOOPS, ms);
    // Read while the loops run, from the VRRP process itself (the check script's forks are
    // named keepalived too until they exec).
    await sleep(Math.min(1_000, ms / 2));
    const vrrp = host.keepalivedVrrpPid();
    const realtime = vrrp !== undefined && isRealtime(vrrp);
    const nice = vrrp === undefined ? null : niceOf(vrrp);
    await loops;
    const after = cpuStat(host.cgroupDir);
    stats.push({
      host: name,
      cpu: {
        periods: after.periods - before.periods,
        throttledPeriods: after.throttledPeriods - before.throttledPeriods,
        throttledMs: after.throttledMs - before.throttledMs,
      },
      keepalivedRealtime: realtime,
      keepalivedNice: nice,
    });
  }
  return stats;
}
