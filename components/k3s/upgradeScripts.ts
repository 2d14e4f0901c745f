/** Scripts that run before an upgrade touches a node: the etcd snapshot and an agent's drain. Pure. */
import {
  DRAIN_FUNCTIONS,
  INSTALLED_VERSION,
  KUBE_LOCAL,
  VERSION_FUNCTIONS,
} from "./shellFunctions";
import { script, shQuote } from "../host/script";

/** The snapshot name for an upgrade to `version` (K3s appends the node name and a timestamp). */
export function preUpgradeSnapshotName(version: string): string {
  return `k3s-ha-pre-${version.replace(/[^A-Za-z0-9.-]/g, "-")}`;
}

/**
 * On the first server, before any server is upgraded: refuses a downgrade, then takes an etcd
 * snapshot and prints its name. Does nothing on a new cluster or when K3s already runs `version`.
 */
export function preUpgradeSnapshotScript(version: string, nodeName: string): string {
  const name = preUpgradeSnapshotName(version);
  return script(`
${VERSION_FUNCTIONS}
${KUBE_LOCAL}
version=${shQuote(version)}
node=${shQuote(nodeName)}
${INSTALLED_VERSION}
if [ -z "$installed" ] || ! svc_running k3s; then
  log "K3s is not running on $node (a new cluster): no snapshot to take"; exit 0
fi
if [ "$installed" = "$version" ]; then
  log "K3s on $node already runs $version: no snapshot to take"; exit 0
fi
refuse_downgrade "$node"
refuse_minor_skip "$node"
wait_for 120 "etcd to report healthy (/readyz/etcd)" kube get --raw=/readyz/etcd || {
  log "etcd on $node is not healthy: not upgrading a cluster that may not survive it"; exit 1; }
k3s etcd-snapshot save --name ${shQuote(name)} >&2
log "etcd snapshot ${name} saved on $node before the upgrade from $installed to $version"
echo ${shQuote(name)}`);
}

/**
 * On a server, before an agent is upgraded: cordons and drains the agent's node (bounded) and marks
 * it, so the agent's membership step uncordons it once it is back. Nothing to do for a node that is
 * not registered yet or already runs `version`.
 */
export function drainAgentForUpgradeScript(
  version: string,
  nodeName: string,
  timeoutSeconds: number,
): string {
  return script(`
${VERSION_FUNCTIONS}
${KUBE_LOCAL}
${DRAIN_FUNCTIONS}
version=${shQuote(version)}
node=${shQuote(nodeName)}
installed=$(kube get node "$node" -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null) || installed=""
if [ -z "$installed" ]; then log "node $node is not registered yet: nothing to drain"; exit 0; fi
if [ "$installed" = "$version" ]; then log "node $node already runs $version: nothing to drain"; exit 0; fi
refuse_downgrade "$node"
drain_for_upgrade "$node" "$version" ${timeoutSeconds}`);
}
