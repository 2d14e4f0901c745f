/**
 * Scripts for a node's membership step, which runs on a server that stays: on create it waits for
 * the node to be Ready (and uncordons it after a pre-upgrade drain); on delete it drains the node,
 * for a server removes its etcd member after checking quorum, and deletes the node object. Pure.
 */
import { K3sRole, K3S_READY_TIMEOUT_SECONDS } from "./scripts";
import {
  DRAIN_FUNCTIONS,
  ETCD_REMOVE_ANNOTATION,
  ETCD_REMOVED_ANNOTATION,
  NODE_FUNCTIONS,
  kubeWithFallback,
} from "./shellFunctions";
import { script, shQuote } from "../host/script";

/** Seconds K3s may take to remove an etcd member once asked, and to delete a node object. */
export const ETCD_REMOVE_TIMEOUT_SECONDS = 120;
export const NODE_DELETE_TIMEOUT_SECONDS = 120;

export interface MembershipScriptArgs {
  role: K3sRole;
  nodeName: string;
  /** The VIP or Nginx host: the apiserver to use when the local one does not answer. */
  registrationAddress: string;
  /** Bound on the drain before a removal. */
  drainTimeoutSeconds: number;
  /** The pinned K3s version the node must run (its kubeletVersion), checked after each change. */
  version: string;
}

/**
 * Waits until the node is registered and Ready and runs the pinned version (its kubelet's, which
 * is the running K3s, whatever binary is on disk); uncordons it if a pre-upgrade drain cordoned it.
 */
export function membershipCreateScript(args: MembershipScriptArgs): string {
  return script(`
${kubeWithFallback(args.registrationAddress)}
${NODE_FUNCTIONS}
${DRAIN_FUNCTIONS}
node=${shQuote(args.nodeName)}
version=${shQuote(args.version)}
wait_for ${K3S_READY_TIMEOUT_SECONDS} "node $node to register and be Ready" node_ready "$node"
wait_for ${K3S_READY_TIMEOUT_SECONDS} "node $node to run $version (its kubeletVersion)" node_runs "$node" "$version" || {
  log "node $node runs $(node_version "$node"), not $version: its K3s did not restart into the pinned version"; exit 1; }
uncordon_if_drained "$node"
log "node $node is a Ready member of the cluster, running $version"`);
}

/**
 * Removes the node from the cluster before its host is uninstalled. A server's removal is refused
 * when the etcd members left would not have a healthy majority. A node that is not Ready (its host
 * is down) is not drained: its pods are rescheduled once the node object is gone.
 */
export function membershipDeleteScript(args: MembershipScriptArgs): string {
  const server = args.role === "server";
  return script(`
${kubeWithFallback(args.registrationAddress)}
${NODE_FUNCTIONS}
node=${shQuote(args.nodeName)}
if ! node_exists "$node"; then log "node $node is not in the cluster: nothing to remove"; exit 0; fi
${server ? quorumCheck() : ""}
if node_ready "$node"; then
  if kube drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout=${args.drainTimeoutSeconds}s >&2; then
    log "node $node drained"
  else
    log "WARNING: node $node did not drain within ${args.drainTimeoutSeconds}s (a PodDisruptionBudget?); removing it anyway, its remaining pods stop with its uninstall"
  fi
else
  log "node $node is not Ready (is its host down?): not draining; its pods are rescheduled once the node object is gone"
fi
${server ? etcdMemberRemoval() : ""}
kube delete node "$node" --timeout=${NODE_DELETE_TIMEOUT_SECONDS}s >&2
log "node $node removed from the cluster; its host is uninstalled next"`);
}

/** Stops a server's removal that would leave etcd without a healthy majority. */
function quorumCheck(): string {
  return `members=$(etcd_nodes) || { log "cannot list the etcd member nodes"; exit 1; }
counts=$(printf '%s\\n' "$members" | awk -F= -v self="$node" 'NF == 2 {t++} NF == 2 && $1 != self && $2 == "True" {h++} END {print t + 0, h + 0}')
total=\${counts% *}; healthy=\${counts#* }; remaining=$((total - 1))
if [ "$remaining" -le 0 ]; then
  log "$node is the last etcd member: nothing to remove (its uninstall ends the cluster)"; exit 0
fi
quorum=$((remaining / 2 + 1))
if [ "$healthy" -lt "$quorum" ]; then
  log "refusing to remove server $node: the $remaining etcd members left need $quorum Ready for quorum, but only $healthy are (not Ready: $(etcd_not_ready)); bring them back first"
  exit 1
fi
log "removing server $node leaves $remaining etcd members, $healthy of them Ready (quorum $quorum)"`;
}

/** Asks K3s to remove the server's etcd member and waits until it reports the member removed. */
function etcdMemberRemoval(): string {
  return `kube annotate --overwrite node "$node" ${ETCD_REMOVE_ANNOTATION}=true >/dev/null
member_removed() {
  [ -n "$(kube get node "$node" -o jsonpath='{.metadata.annotations.etcd\\.k3s\\.cattle\\.io/removed-node-name}' 2>/dev/null)" ]
}
wait_for ${ETCD_REMOVE_TIMEOUT_SECONDS} "K3s to remove the etcd member of $node (${ETCD_REMOVED_ANNOTATION})" member_removed || exit 1
log "etcd member of $node removed"`;
}
