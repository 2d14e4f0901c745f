#!/bin/sh
# Functions the K3s scripts share on top of components/host/lib.sh: version order, node and etcd
# health through `k3s kubectl`, drain and uncordon. Units as in lib.sh: one definition each,
# separated by blank lines; a script carries only the units it uses.
# shellcheck disable=SC2034 # the variables are used by the scripts that include them

# The version of the installed K3s binary (nothing when there is none).
installed_version() { k3s --version 2>/dev/null | awk 'NR==1 {print $3}'; }

# K3s release order. `sort -V` alone puts v1.30.0+k3s1 before v1.30.0-rc1+k3s1, so each version is
# first mapped to a key where a release sorts after its release candidates.
k3s_version_key() {
  printf '%s\n' "$1" | sed -e 's/^v//' -e 's/-rc\([0-9]*\)+k3s\([0-9]*\)$/.\1.\2/' -e 's/+k3s\([0-9]*\)$/.99999.\1/'
}

# True when K3s version $1 is older than version $2.
version_older() {
  [ "$1" != "$2" ] || return 1
  older_key=$(k3s_version_key "$1")
  [ "$(printf '%s\n%s\n' "$older_key" "$(k3s_version_key "$2")" | sort -V | head -n 1)" = "$older_key" ]
}

# Stops before anything is touched when upgrading node $1 from K3s $2 (installed; "" for none) to
# $3 skips a minor version: Kubernetes upgrades its control plane one minor version at a time.
refuse_minor_skip() {
  [ -n "$2" ] || return 0
  from=$(printf '%s' "$2" | sed -n 's/^v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p')
  to=$(printf '%s' "$3" | sed -n 's/^v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p')
  if [ "${from% *}" = "${to% *}" ] && [ "${to#* }" -gt $((${from#* } + 1)) ]; then
    log "refusing to upgrade K3s from $2 to $3 on $1: Kubernetes upgrades one minor version at a time; go to v${from% *}.$((${from#* } + 1)) first"
    exit 1
  fi
}

# Stops before anything is touched when node $1's installed K3s $2 is newer than $3.
refuse_downgrade() {
  if [ -n "$2" ] && version_older "$3" "$2"; then
    log "refusing to downgrade K3s from $2 to $3 on $1: K3s does not support downgrades; restore the etcd snapshot taken before the upgrade instead"
    exit 1
  fi
}

# The apiserver through the admin kubeconfig K3s writes on every server, or through $api when
# use_api_with_fallback chose the registration address.
kube() { if [ -n "${api:-}" ]; then k3s kubectl --server "$api" "$@"; else k3s kubectl "$@"; fi; }

# Picks the apiserver for `kube`: the local one, else the registration address $1 (host:port; the
# server this runs on may be the one whose etcd member was just removed, e.g. during
# `pulumi destroy`).
use_api_with_fallback() {
  api=""
  if ! wait_for 20 "the local apiserver to report /readyz" kube get --raw=/readyz; then
    api="https://$1"
    wait_for 60 "the apiserver to report /readyz through $api" kube get --raw=/readyz || {
      log "no working K3s API on this host or through $api"; exit 1; }
    log "using the apiserver through $api"
  fi
}

# True when node $1 reports Ready.
node_ready() {
  [ "$(kube get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

node_exists() { kube get node "$1" >/dev/null 2>&1; }

# The version node $1's kubelet reports: what the running K3s is, whatever the binary on disk says.
node_version() { kube get node "$1" -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null; }

node_runs() { [ "$(node_version "$1")" = "$2" ]; }

# One line per etcd member node (K3s labels them node-role.kubernetes.io/etcd): name=ReadyStatus.
etcd_nodes() {
  kube get nodes -l node-role.kubernetes.io/etcd=true -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'
}

# True when every etcd member node but $1 is Ready.
etcd_others_ready() {
  nodes=$(etcd_nodes) || return 1
  [ "$(printf '%s\n' "$nodes" | awk -F= -v self="$1" 'NF == 2 && $1 != self && $2 != "True" {n++} END {print n + 0}')" = 0 ]
}

# Names of the etcd member nodes that are not Ready, for messages.
etcd_not_ready() {
  etcd_nodes 2>/dev/null | awk -F= 'NF == 2 && $2 != "True" {list = list sep $1; sep = ", "} END {print list}'
}

# Cordons and drains node $1 for version $2 within $3 seconds; on failure uncordons it again. The
# annotation k3s-ha/drained-for-upgrade (its value: the version drained for) tells the membership
# step to uncordon the node once it runs that version.
drain_for_upgrade() {
  kube annotate --overwrite node "$1" k3s-ha/drained-for-upgrade="$2" >/dev/null
  if kube drain "$1" --ignore-daemonsets --delete-emptydir-data --timeout="$3s" >&2; then
    log "$1: drained for the upgrade to $2"; return 0
  fi
  kube uncordon "$1" >&2 || true
  kube annotate node "$1" k3s-ha/drained-for-upgrade- >/dev/null 2>&1 || true
  log "$1: the drain did not finish within $3s, so the upgrade stopped and the node is schedulable again; check PodDisruptionBudgets (kubectl get pdb -A) and run pulumi up again"
  return 1
}

# Uncordons node $1 if a pre-upgrade drain cordoned it.
uncordon_if_drained() {
  drained=$(kube get node "$1" -o jsonpath='{.metadata.annotations.k3s-ha/drained-for-upgrade}' 2>/dev/null) || drained=""
  if [ -n "$drained" ]; then
    kube uncordon "$1" >&2
    kube annotate node "$1" k3s-ha/drained-for-upgrade- >/dev/null
    log "$1: uncordoned after the upgrade to $drained"
  fi
}

# The file a config or token step leaves when K3s service $1 must restart to pick up what it
# wrote; the install step restarts it and removes the marker.
restart_marker() { printf '%s/restart-pending-%s' "$K3S_HA_STATE_DIR" "$1"; }
