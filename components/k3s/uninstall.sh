#!/bin/sh
# Uninstalls K3s with the uninstall script the installer left; a host without it is already clean.
: "${role:?}"

if [ "$role" = server ]; then
  service=k3s; uninstall=/usr/local/bin/k3s-uninstall.sh
else
  service=k3s-agent; uninstall=/usr/local/bin/k3s-agent-uninstall.sh
fi
if [ -x "$uninstall" ]; then "$uninstall" >&2; else log "no $uninstall: K3s is not installed"; fi
# The air-gap images record goes with the images, which the uninstall removed with K3s's data.
rm -f /etc/rancher/k3s/config.yaml "$(restart_marker "$service")" "$K3S_HA_STATE_DIR/installed-$service" \
  "$K3S_HA_STATE_DIR/airgap-images-installed"
