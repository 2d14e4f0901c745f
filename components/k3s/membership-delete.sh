#!/bin/sh
# Removes the node from the cluster before its host is uninstalled (the membership step's delete,
# on a server that stays). A server's removal is refused when the etcd members left would not have
# a healthy majority; K3s removes a server's etcd member when its node carries the annotation
# etcd.k3s.cattle.io/remove, and records the removal in etcd.k3s.cattle.io/removed-node-name. A
# node that is not Ready (its host is down) is not drained: its pods are rescheduled once the node
# object is gone.
: "${role:?}" "${node:?}" "${registration:?}" "${drain_timeout:?}"

use_api_with_fallback "$registration"
if ! node_exists "$node"; then log "node $node is not in the cluster: nothing to remove"; exit 0; fi
if [ "$role" = server ]; then
  members=$(etcd_nodes) || { log "cannot list the etcd member nodes"; exit 1; }
  counts=$(printf '%s\n' "$members" | awk -F= -v self="$node" 'NF == 2 {t++} NF == 2 && $1 != self && $2 == "True" {h++} END {print t + 0, h + 0}')
  total=${counts% *}; healthy=${counts#* }; remaining=$((total - 1))
  if [ "$remaining" -le 0 ]; then
    log "$node is the last etcd member: nothing to remove (its uninstall ends the cluster)"; exit 0
  fi
  quorum=$((remaining / 2 + 1))
  if [ "$healthy" -lt "$quorum" ]; then
    log "refusing to remove server $node: the $remaining etcd members left need $quorum Ready for quorum, but only $healthy are (not Ready: $(etcd_not_ready)); bring them back first"
    exit 1
  fi
  log "removing server $node leaves $remaining etcd members, $healthy of them Ready (quorum $quorum)"
fi
if node_ready "$node"; then
  if kube drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout="${drain_timeout}s" >&2; then
    log "node $node drained"
  else
    log "WARNING: node $node did not drain within ${drain_timeout}s (a PodDisruptionBudget?); removing it anyway, its remaining pods stop with its uninstall"
  fi
else
  log "node $node is not Ready (is its host down?): not draining; its pods are rescheduled once the node object is gone"
fi
if [ "$role" = server ]; then
  kube annotate --overwrite node "$node" etcd.k3s.cattle.io/remove=true >/dev/null
  member_removed() {
    [ -n "$(kube get node "$node" -o jsonpath='{.metadata.annotations.etcd\.k3s\.cattle\.io/removed-node-name}' 2>/dev/null)" ]
  }
  wait_for 120 "K3s to remove the etcd member of $node (etcd.k3s.cattle.io/removed-node-name)" member_removed || exit 1
  log "etcd member of $node removed"
fi
kube delete node "$node" --timeout=120s >&2
log "node $node removed from the cluster; its host is uninstalled next"
