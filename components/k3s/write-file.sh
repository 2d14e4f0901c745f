#!/bin/sh
# Writes a K3s file (config or token) from stdin, mode 0600. It never restarts K3s itself: when K3s
# is installed and the content changed, it leaves a marker and the install step, which servers run
# one at a time, restarts the service and waits until it is back.
# Writes stdin to: $path (mode 0600)
: "${path:?}" "${service:?}"

# The marker comes before the new file moves into place: a run cut between the two still leaves
# the restart to do.
mark_restart() { if have k3s; then state_touch "$(restart_marker "$service")"; fi; }
changed=$(write_file "$path" 0600 "" mark_restart)
if [ "$changed" = changed ] && have k3s; then
  log "$service: $path changed; the install step restarts $service"
fi
