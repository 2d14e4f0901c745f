#!/bin/sh
# Writes the systemd drop-in it reads on stdin (supervision.ts) for each of $services. The
# daemon-reload is recorded before a drop-in moves into place and cleared once it ran, so a run
# cut in between reloads on the next run. Reloading re-reads the units: the running daemons keep
# running, and the new Restart= applies to their next exit. A marker records each drop-in
# directory this program created, so that its delete removes that one only.
#
# Parameters: services (space-separated unit names), restart (the drop-in's Restart= value).
# Writes stdin to: /etc/systemd/system/<each of $services>.service.d/k3s-ha-supervise.conf (mode 0644)
: "${services:?}" "${restart:?}"

dropin_path() { printf '/etc/systemd/system/%s.service.d/k3s-ha-supervise.conf' "$1"; }
if ! systemd_running; then
  names=$(printf '%s' "$services" | sed 's/ /, /g')
  case " $services " in
    *" keepalived "*) vip_note="; a killed KeepAlived leaves the VIP on this host while the peer takes it too" ;;
    *) vip_note="" ;;
  esac
  log "WARNING: systemd is not PID 1 on this host: $names are NOT supervised (nothing restarts them when they crash or are killed$vip_note). Supervise them with this host's init system (OpenRC supervise-daemon, runit, s6), or run them under systemd."
  cat >/dev/null
  exit 0
fi
dropin=$(mktemp)
trap 'rm -f "$dropin"' EXIT
cat >"$dropin"
[ -s "$dropin" ] || { log "no drop-in content on stdin"; exit 1; }
for service in $services; do
  file=$(dropin_path "$service"); dir=$(dirname "$file")
  if [ ! -d "$dir" ]; then mkdir -p "$dir"; state_touch "$K3S_HA_STATE_DIR/created-dropin-dir-$service"; fi
  if [ "$(write_file "$file" 0644 "" "mark_reload systemd-supervision" <"$dropin")" = changed ]; then
    log "$service: supervision drop-in written ($file)"
  else log "$service: supervision drop-in unchanged"; fi
done
if [ -e "$(reload_pending systemd-supervision)" ]; then
  timeout "$SVC_TIMEOUT" systemctl daemon-reload
  rm -f "$(reload_pending systemd-supervision)"
  log "systemd: daemon-reload (the running daemons keep running; Restart=$restart applies from now)"
else
  log "systemd: no daemon-reload needed"
fi
# Another drop-in that sorts after ours (systemctl edit's override.conf) can set Restart= again.
for service in $services; do
  state=$(systemctl show -p LoadState --value "$service" 2>/dev/null || true)
  if [ "$state" != loaded ]; then log "$service: not installed yet; its drop-in applies once it is"; continue; fi
  actual=$(systemctl show -p Restart --value "$service")
  if [ "$actual" != "$restart" ]; then
    log "WARNING: $service has Restart=$actual, not $restart: a drop-in other than $(dropin_path "$service") overrides it ($(systemctl show -p DropInPaths --value "$service"))"
  fi
done
