/**
 * systemd drop-ins that keep the load-balancer tier's daemons running. Pure.
 *
 * Debian's keepalived.service and nginx.service have no `Restart=`: a KeepAlived killed by the
 * OOM killer leaves its VIP on the interface while the peer takes it too (two holders) until
 * someone starts it again; a KeepAlived that starts removes its stale VIPs. Debian's
 * haproxy.service already restarts (`Restart=always`, 100 ms); other distributions' may not.
 *
 * `on-failure`, not `always`: a crash, a kill (SIGKILL, the OOM killer) or a non-zero exit is
 * restarted, a clean exit is not. The program itself ends Nginx with a clean `nginx -s quit`
 * when another tier takes :6443 (lbScripts.ts, retireOtherTiers); under `always` systemd would
 * start it again a second later, and it would take the port back or fail in a loop.
 */
import { MANAGED_HEADER } from "../host/script";

export type SupervisedService = "keepalived" | "haproxy" | "nginx";

/** What every supervised unit gets; the LB lab's supervisor reproduction reads the same values. */
export const SUPERVISION = {
  /** Any exit that `systemctl stop` did not ask for, but a clean one (status 0). */
  restart: "on-failure",
  /** Long enough for a crashing daemon's peer to notice; short enough to end two holders within ~1.5 s. */
  restartSec: 1,
  /** More than `startLimitBurst` starts within this window and systemd gives up (unit failed). */
  startLimitIntervalSec: 60,
  startLimitBurst: 10,
} as const;

export function supervisionDropInPath(service: SupervisedService): string {
  return `/etc/systemd/system/${service}.service.d/k3s-ha-supervise.conf`;
}

export function renderSupervisionDropIn(): string {
  return [
    MANAGED_HEADER,
    "[Unit]",
    `StartLimitIntervalSec=${SUPERVISION.startLimitIntervalSec}`,
    `StartLimitBurst=${SUPERVISION.startLimitBurst}`,
    "",
    "[Service]",
    `Restart=${SUPERVISION.restart}`,
    `RestartSec=${SUPERVISION.restartSec}`,
    "",
  ].join("\n");
}
