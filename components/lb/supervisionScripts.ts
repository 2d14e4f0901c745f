/** Scripts that put the supervision drop-ins (./supervision.ts) on an LB host and take them off. Pure. */
import { K3S_HA_STATE_DIR, script } from "../host/script";
import { SUPERVISION, SupervisedService, supervisionDropInPath } from "./supervision";

/** The reload_pending name: a daemon-reload that a drop-in change calls for and no run did yet. */
const DAEMON_RELOAD = "systemd-supervision";

/** Marks a drop-in directory this program created, so that its delete removes that one only. */
function createdDirMarker(service: SupervisedService): string {
  return `${K3S_HA_STATE_DIR}/created-dropin-dir-${service}`;
}

const dirOf = (file: string) => file.slice(0, file.lastIndexOf("/"));

/**
 * Writes the drop-in it reads on stdin (renderSupervisionDropIn) for each service. The
 * daemon-reload is recorded before a drop-in moves into place and cleared once it ran, so a run
 * cut in between reloads on the next run. Reloading re-reads the units: the running daemons keep
 * running, and the new Restart= applies to their next exit.
 */
export function installSupervisionScript(services: readonly SupervisedService[]): string {
  const names = services.join(", ");
  const vipNote = services.includes("keepalived")
    ? "; a killed KeepAlived leaves the VIP on this host while the peer takes it too"
    : "";
  const writes = services.map((s) => {
    const file = supervisionDropInPath(s);
    return `if [ ! -d ${dirOf(file)} ]; then mkdir -p ${dirOf(file)}; state_touch '${createdDirMarker(s)}'; fi
if [ "$(write_file ${file} 0644 "" "mark_reload ${DAEMON_RELOAD}" <"$dropin")" = changed ]; then
  log "${s}: supervision drop-in written (${file})"
else log "${s}: supervision drop-in unchanged"; fi`;
  });
  const checks = services.map((s) => `check_supervised ${s} ${supervisionDropInPath(s)}`);
  return script(`
if ! systemd_running; then
  log "WARNING: systemd is not PID 1 on this host: ${names} are NOT supervised (nothing restarts them when they crash or are killed${vipNote}). Supervise them with this host's init system (OpenRC supervise-daemon, runit, s6), or run them under systemd."
  cat >/dev/null
  exit 0
fi
dropin=$(mktemp)
trap 'rm -f "$dropin"' EXIT
cat >"$dropin"
[ -s "$dropin" ] || { log "no drop-in content on stdin"; exit 1; }
${writes.join("\n")}
if [ -e "$(reload_pending ${DAEMON_RELOAD})" ]; then
  timeout "$SVC_TIMEOUT" systemctl daemon-reload
  rm -f "$(reload_pending ${DAEMON_RELOAD})"
  log "systemd: daemon-reload (the running daemons keep running; Restart=${SUPERVISION.restart} applies from now)"
else
  log "systemd: no daemon-reload needed"
fi
# Another drop-in that sorts after ours (systemctl edit's override.conf) can set Restart= again.
check_supervised() {
  state=$(systemctl show -p LoadState --value "$1" 2>/dev/null || true)
  if [ "$state" != loaded ]; then log "$1: not installed yet; its drop-in applies once it is"; return 0; fi
  restart=$(systemctl show -p Restart --value "$1")
  if [ "$restart" != ${SUPERVISION.restart} ]; then
    log "WARNING: $1 has Restart=$restart, not ${SUPERVISION.restart}: a drop-in other than $2 overrides it ($(systemctl show -p DropInPaths --value "$1"))"
  fi
}
${checks.join("\n")}`);
}

/** Removes the drop-ins, and a drop-in directory this program created once it is empty. */
export function removeSupervisionScript(services: readonly SupervisedService[]): string {
  const removes = services.map((s) => {
    const file = supervisionDropInPath(s);
    const marker = createdDirMarker(s);
    return `if [ -e ${file} ]; then mark_reload ${DAEMON_RELOAD}; rm -f ${file}; log "${s}: supervision drop-in removed"; fi
if [ -e '${marker}' ]; then
  rmdir ${dirOf(file)} 2>/dev/null || [ ! -d ${dirOf(file)} ] || log "${s}: kept ${dirOf(file)}: it holds other drop-ins"
  rm -f '${marker}'
fi`;
  });
  return script(`
${removes.join("\n")}
if [ -e "$(reload_pending ${DAEMON_RELOAD})" ]; then
  if systemd_running; then timeout "$SVC_TIMEOUT" systemctl daemon-reload; log "systemd: daemon-reload"; fi
  rm -f "$(reload_pending ${DAEMON_RELOAD})"
fi`);
}
