#!/bin/sh
# Removes the drop-ins of $services (space-separated), and a drop-in directory this program created
# once it is empty.
: "${services:?}"

for service in $services; do
  file=/etc/systemd/system/$service.service.d/k3s-ha-supervise.conf; dir=$(dirname "$file")
  marker=$K3S_HA_STATE_DIR/created-dropin-dir-$service
  if [ -e "$file" ]; then mark_reload systemd-supervision; rm -f "$file"; log "$service: supervision drop-in removed"; fi
  if [ -e "$marker" ]; then
    rmdir "$dir" 2>/dev/null || [ ! -d "$dir" ] || log "$service: kept $dir: it holds other drop-ins"
    rm -f "$marker"
  fi
done
if [ -e "$(reload_pending systemd-supervision)" ]; then
  if systemd_running; then timeout "$SVC_TIMEOUT" systemctl daemon-reload; log "systemd: daemon-reload"; fi
  rm -f "$(reload_pending systemd-supervision)"
fi
