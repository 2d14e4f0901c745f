#!/bin/sh
# The servers this stack deployed, and the refusal of server edits that would lose the cluster. It
# runs on the machine running Pulumi, as a local command, before any host step that changes
# something (after the removal check, which only reads): stdin is this run's
# server names in stack order, one per line; PULUMI_COMMAND_STDOUT is the list the last successful
# run accepted (pulumi-command puts a local command's previous stdout there, local/commandOutputs.go
# run). Refused, naming the servers:
# - more servers removed than etcd can lose and keep quorum: of n members, a majority must stay
#   (etcd's quorum, n/2+1), so at most (n-1)/2 leave in one run (one of 3 or 4, two of 5);
# - a first server that this stack never deployed: the first server founds the cluster, and a new
#   one would found a second cluster while the others re-point to it.
# Else it prints the new list, which becomes the accepted one; a refusal changes nothing (a failed
# update keeps the old state). A stack deployed before this record existed has none: nothing to check.
: "${field:?}"

new=$(cat)
old=${PULUMI_COMMAND_STDOUT:-}
if [ -n "$old" ]; then
  in_list() { printf '%s\n' "$2" | grep -qxF "$1"; }
  words() { printf '%s\n' "$1" | awk 'NF {list = list sep $1; sep = ", "} END {print list}'; }
  removed=$(printf '%s\n' "$old" | while read -r name; do
    [ -z "$name" ] || in_list "$name" "$new" || printf '%s\n' "$name"
  done)
  total=$(printf '%s\n' "$old" | awk 'NF {n++} END {print n + 0}')
  leaving=$(printf '%s\n' "$removed" | awk 'NF {n++} END {print n + 0}')
  allowed=$(((total - 1) / 2))
  problems=""
  if [ "$leaving" -gt "$allowed" ]; then
    if [ "$allowed" -eq 0 ]; then
      limit="with $total, none can leave: add servers first (to 3), then remove one per run"
    else
      limit="so at most $allowed may leave in one run. Keep the others in the list for now: remove one per run (adding its replacement in the same run is fine), with a pulumi up after each"
    fi
    problems="$field: this run would remove $leaving of the $total servers this stack deployed ($(words "$removed")). etcd keeps quorum only while a majority of its members stay, $limit."
  fi
  first=$(printf '%s\n' "$new" | awk 'NF {print $1; exit}')
  if [ -n "$first" ] && ! in_list "$first" "$old"; then
    problems="${problems:+$problems
}${field}[0] ($first): the first server founds the cluster, and $first is not one this stack deployed ($(words "$old")); it would found a second cluster and the other servers would re-point to it. List a server that stays first and add $first after it."
  fi
  if [ -n "$problems" ]; then
    printf 'invalid stack configuration:\n%s\n' "$problems" | sed '2,$s/^/  - /' >&2
    exit 1
  fi
fi
printf '%s\n' "$new"
