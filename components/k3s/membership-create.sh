#!/bin/sh
# A node's membership step, on a server that stays: waits until the node is registered and Ready
# and runs the pinned version (its kubelet's, which is the running K3s, whatever binary is on
# disk); uncordons it if a pre-upgrade drain cordoned it. An upgrade re-runs it, which proves the
# node is back at the new version.
: "${node:?}" "${version:?}" "${registration:?}"

ready_timeout=300
use_api_with_fallback "$registration"
wait_for "$ready_timeout" "node $node to register and be Ready" node_ready "$node"
wait_for "$ready_timeout" "node $node to run $version (its kubeletVersion)" node_runs "$node" "$version" || {
  log "node $node runs $(node_version "$node"), not $version: its K3s did not restart into the pinned version"; exit 1; }
uncordon_if_drained "$node"
log "node $node is a Ready member of the cluster, running $version"
