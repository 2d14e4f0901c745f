#!/bin/sh
# On the first server, before any server is upgraded: refuses a downgrade, then takes an etcd
# snapshot and prints its name. Does nothing on a new cluster or when K3s already runs $version.
: "${version:?}" "${node:?}" "${snapshot:?}"

installed=$(installed_version) || installed=""
if [ -z "$installed" ] || ! svc_running k3s; then
  log "K3s is not running on $node (a new cluster): no snapshot to take"; exit 0
fi
if [ "$installed" = "$version" ]; then
  log "K3s on $node already runs $version: no snapshot to take"; exit 0
fi
refuse_downgrade "$node" "$installed" "$version"
refuse_minor_skip "$node" "$installed" "$version"
wait_for 120 "etcd to report healthy (/readyz/etcd)" kube get --raw=/readyz/etcd || {
  log "etcd on $node is not healthy: not upgrading a cluster that may not survive it"; exit 1; }
k3s etcd-snapshot save --name "$snapshot" >&2
log "etcd snapshot $snapshot saved on $node before the upgrade from $installed to $version"
echo "$snapshot"
