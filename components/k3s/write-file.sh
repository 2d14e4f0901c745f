#!/bin/sh
# Writes a K3s file (config or token) from stdin, mode 0600. It never restarts K3s itself: when K3s
# is installed and the content changed, it leaves a marker and the install step, which servers run
# one at a time, restarts the service and waits until it is back.
# Writes stdin to: $path (mode 0600)
# $bootstrap_keys: top-level keys K3s reads only to found or join a cluster (a server's `server`
# and `cluster-init`). Once the server's etcd member exists, K3s starts from its own data whatever
# they say (pkg/etcd/etcd.go IsInitialized: the member's wal directory), so a change to them alone
# leaves K3s running; it starts with them at its next restart.
: "${path:?}" "${service:?}" "${bootstrap_keys?}"

ETCD_WAL_DIR=/var/lib/rancher/k3s/server/db/etcd/member/wal

# The file without the bootstrap keys' lines (their values are single-line scalars).
without_bootstrap_keys() {
  grep -vE "^($(printf '%s' "$bootstrap_keys" | tr ' ' '|')):" "$1" || true
}

# Run by write_file right before the new content ($tmp, write_file's) replaces $path.
only_bootstrap_keys_changed() {
  [ -n "$bootstrap_keys" ] && [ -d "$ETCD_WAL_DIR" ] && [ -f "$path" ] || return 1
  # shellcheck disable=SC2154
  [ "$(without_bootstrap_keys "$path")" = "$(without_bootstrap_keys "$tmp")" ]
}

# The marker comes before the new file moves into place: a run cut between the two still leaves
# the restart to do.
mark_restart() {
  if have k3s && ! only_bootstrap_keys_changed; then state_touch "$(restart_marker "$service")"; fi
}
changed=$(write_file "$path" 0600 "" mark_restart)
if [ "$changed" = changed ] && have k3s; then
  if [ -e "$(restart_marker "$service")" ]; then
    log "$service: $path changed; the install step restarts $service"
  else
    log "$service: $path changed only in $bootstrap_keys, which this etcd member no longer reads; $service keeps running"
  fi
fi
