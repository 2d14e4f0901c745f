/**
 * Shell functions the K3s scripts share on top of the prelude: version order, node and etcd
 * health through `k3s kubectl`, drain and uncordon. Pure text; each script includes what it uses.
 */
import { K3S_API_PORT } from "../config/types";
import { hostPort } from "./configYaml";

export { K3S_HA_STATE_DIR } from "../host/script";
import { K3S_HA_STATE_DIR } from "../host/script";
/** The annotation a pre-upgrade drain leaves on a node; its value is the version drained for. */
export const DRAINED_FOR_UPGRADE_ANNOTATION = "k3s-ha/drained-for-upgrade";
/** The label K3s puts on every server that runs an embedded etcd member. */
export const ETCD_ROLE_LABEL = "node-role.kubernetes.io/etcd";
/** K3s removes a node's etcd member when it carries this annotation, and records the removal. */
export const ETCD_REMOVE_ANNOTATION = "etcd.k3s.cattle.io/remove";
export const ETCD_REMOVED_ANNOTATION = "etcd.k3s.cattle.io/removed-node-name";

/** The file a config or token step leaves when K3s must restart to pick up what it wrote. */
export function restartMarkerPath(service: string): string {
  return `${K3S_HA_STATE_DIR}/restart-pending-${service}`;
}

/** The version of the installed K3s binary ("" when there is none). */
export const INSTALLED_VERSION = `installed=$(k3s --version 2>/dev/null | awk 'NR==1 {print $3}') || installed=""`;

/**
 * K3s release order. `sort -V` alone puts v1.30.0+k3s1 before v1.30.0-rc1+k3s1, so each version is
 * first mapped to a key where a release sorts after its release candidates.
 */
export const VERSION_FUNCTIONS = `k3s_version_key() {
  printf '%s\\n' "$1" | sed -e 's/^v//' -e 's/-rc\\([0-9]*\\)+k3s\\([0-9]*\\)$/.\\1.\\2/' -e 's/+k3s\\([0-9]*\\)$/.99999.\\1/'
}
# True when K3s version $1 is older than version $2.
version_older() {
  [ "$1" != "$2" ] || return 1
  older_key=$(k3s_version_key "$1")
  [ "$(printf '%s\\n%s\\n' "$older_key" "$(k3s_version_key "$2")" | sort -V | head -n 1)" = "$older_key" ]
}
# Stops before anything is touched when $version skips a minor version of $installed on node $1:
# Kubernetes upgrades its control plane one minor version at a time.
refuse_minor_skip() {
  [ -n "$installed" ] || return 0
  from=$(printf '%s' "$installed" | sed -n 's/^v\\([0-9]*\\)\\.\\([0-9]*\\)\\..*/\\1 \\2/p')
  to=$(printf '%s' "$version" | sed -n 's/^v\\([0-9]*\\)\\.\\([0-9]*\\)\\..*/\\1 \\2/p')
  if [ "\${from% *}" = "\${to% *}" ] && [ "\${to#* }" -gt $((\${from#* } + 1)) ]; then
    log "refusing to upgrade K3s from $installed to $version on $1: Kubernetes upgrades one minor version at a time; go to v\${from% *}.$((\${from#* } + 1)) first"
    exit 1
  fi
}
# Stops before anything is touched when $installed is newer than $version on node $1.
refuse_downgrade() {
  if [ -n "$installed" ] && version_older "$version" "$installed"; then
    log "refusing to downgrade K3s from $installed to $version on $1: K3s does not support downgrades; restore the etcd snapshot taken before the upgrade instead"
    exit 1
  fi
}`;

/** The local apiserver through the admin kubeconfig K3s writes on every server. */
export const KUBE_LOCAL = `kube() { k3s kubectl "$@"; }`;

/**
 * Picks the apiserver for \`kube\`: the local one, else the registration address (the server this
 * runs on may be the one whose etcd member was just removed, e.g. during \`pulumi destroy\`).
 */
export function kubeWithFallback(registrationAddress: string): string {
  const viaLb = `https://${hostPort(registrationAddress, K3S_API_PORT)}`;
  return `api=""
kube() { if [ -n "$api" ]; then k3s kubectl --server "$api" "$@"; else k3s kubectl "$@"; fi; }
if ! wait_for 20 "the local apiserver to report /readyz" kube get --raw=/readyz; then
  api='${viaLb}'
  wait_for 60 "the apiserver to report /readyz through ${viaLb}" kube get --raw=/readyz || {
    log "no working K3s API on this host or through ${viaLb}"; exit 1; }
  log "using the apiserver through ${viaLb}"
fi`;
}

/** Node and etcd health through `kube` (which the script defines first). */
export const NODE_FUNCTIONS = `# True when node $1 reports Ready.
node_ready() {
  [ "$(kube get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
node_exists() { kube get node "$1" >/dev/null 2>&1; }
# The version node $1's kubelet reports: what the running K3s is, whatever the binary on disk says.
node_version() { kube get node "$1" -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null; }
node_runs() { [ "$(node_version "$1")" = "$2" ]; }
# One line per etcd member node: name=ReadyStatus.
etcd_nodes() {
  kube get nodes -l ${ETCD_ROLE_LABEL}=true -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'
}
# True when every etcd member node but $1 is Ready.
etcd_others_ready() {
  nodes=$(etcd_nodes) || return 1
  [ "$(printf '%s\\n' "$nodes" | awk -F= -v self="$1" 'NF == 2 && $1 != self && $2 != "True" {n++} END {print n + 0}')" = 0 ]
}
# Names of the etcd member nodes that are not Ready, for messages.
etcd_not_ready() {
  etcd_nodes 2>/dev/null | awk -F= 'NF == 2 && $2 != "True" {list = list sep $1; sep = ", "} END {print list}'
}`;

/** Drain and uncordon through `kube`, marking the nodes the program cordoned for an upgrade. */
export const DRAIN_FUNCTIONS = `# Cordons and drains node $1 for version $2 within $3 seconds; on failure uncordons it again.
drain_for_upgrade() {
  kube annotate --overwrite node "$1" ${DRAINED_FOR_UPGRADE_ANNOTATION}="$2" >/dev/null
  if kube drain "$1" --ignore-daemonsets --delete-emptydir-data --timeout="$3s" >&2; then
    log "$1: drained for the upgrade to $2"; return 0
  fi
  kube uncordon "$1" >&2 || true
  kube annotate node "$1" ${DRAINED_FOR_UPGRADE_ANNOTATION}- >/dev/null 2>&1 || true
  log "$1: the drain did not finish within $3s, so the upgrade stopped and the node is schedulable again; check PodDisruptionBudgets (kubectl get pdb -A) and run pulumi up again"
  return 1
}
# Uncordons node $1 if a pre-upgrade drain cordoned it.
uncordon_if_drained() {
  drained=$(kube get node "$1" -o jsonpath='{.metadata.annotations.${DRAINED_FOR_UPGRADE_ANNOTATION}}' 2>/dev/null) || drained=""
  if [ -n "$drained" ]; then
    kube uncordon "$1" >&2
    kube annotate node "$1" ${DRAINED_FOR_UPGRADE_ANNOTATION}- >/dev/null
    log "$1: uncordoned after the upgrade to $drained"
  fi
}`;
