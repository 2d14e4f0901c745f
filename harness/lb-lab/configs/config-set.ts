/**
 * The configurations the faults run with: the page's (baseline), what the program rendered before
 * issue 12 (previous, frozen), what it renders now (ours), and ours with the advertisement
 * interval at the renderer's floor (ours-floor: the starvation run shows the floor holds).
 */
import { VRRP_ADVERT_INTERVAL_FLOOR_MS } from "../../../components/lb/haproxy-pair/section";
import { SUPERVISION } from "../../../components/lb/supervision";
import type { SupervisionPolicy } from "../supervisor";
import { LbHostName } from "../constants";
import { baselineHaproxyCfg, baselineKeepalivedConf, baselineNginxConf } from "./baseline";
import {
  OUR_CHECK_SCRIPT_PATH,
  oursCheckScript,
  oursHaproxyCfg,
  oursKeepalivedConf,
  oursNginxConf,
} from "./ours";
import {
  PREVIOUS_CHECK_SCRIPT_PATH,
  previousCheckScript,
  previousKeepalivedConf,
} from "./previous";

export type ConfigName = "baseline" | "previous" | "ours" | "ours-floor";
export type VrrpMode = "multicast" | "unicast";

export interface ConfigSet {
  name: ConfigName;
  /** The HAProxy backend holding the stand-ins, as named in haproxyCfg(). */
  haproxyBackend: string;
  haproxyCfg(): string;
  keepalivedConf(host: LbHostName, vrrp: VrrpMode): string;
  /** A check script to install, if the keepalived.conf names one. */
  checkScript?: { path: string; content: string };
  nginxConf(): string;
  /**
   * The systemd drop-in the program installs for the LB daemons; the lab then runs each daemon
   * under its supervisor reproduction (harness/lb-lab/supervisor.ts). Omitted: no restart, as Debian's
   * keepalived.service and nginx.service (no Restart=).
   */
  supervision?: SupervisionPolicy;
}

export const CONFIG_SETS: Record<ConfigName, ConfigSet> = {
  baseline: {
    name: "baseline",
    haproxyBackend: "k3s-backend",
    haproxyCfg: baselineHaproxyCfg,
    keepalivedConf: (host, vrrp) => {
      if (vrrp === "unicast") throw new Error("the page's keepalived.conf has no unicast mode");
      return baselineKeepalivedConf(host);
    },
    nginxConf: baselineNginxConf,
  },
  previous: {
    name: "previous",
    haproxyBackend: "k3s-servers",
    haproxyCfg: oursHaproxyCfg,
    keepalivedConf: (host, vrrp) => previousKeepalivedConf(host, vrrp === "unicast"),
    checkScript: { path: PREVIOUS_CHECK_SCRIPT_PATH, content: previousCheckScript() },
    nginxConf: oursNginxConf,
  },
  ours: {
    name: "ours",
    haproxyBackend: "k3s-servers",
    haproxyCfg: oursHaproxyCfg,
    keepalivedConf: (host, vrrp) => oursKeepalivedConf(host, vrrp === "unicast"),
    checkScript: { path: OUR_CHECK_SCRIPT_PATH, content: oursCheckScript() },
    nginxConf: oursNginxConf,
    supervision: SUPERVISION,
  },
  "ours-floor": {
    name: "ours-floor",
    haproxyBackend: "k3s-servers",
    haproxyCfg: oursHaproxyCfg,
    keepalivedConf: (host, vrrp) =>
      oursKeepalivedConf(host, vrrp === "unicast", VRRP_ADVERT_INTERVAL_FLOOR_MS),
    checkScript: { path: OUR_CHECK_SCRIPT_PATH, content: oursCheckScript() },
    nginxConf: oursNginxConf,
    supervision: SUPERVISION,
  },
};
