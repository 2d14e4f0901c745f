#!/bin/sh
# Runs on the first server whenever the stack's server list changes, before any other host step of
# the run; it changes nothing. The etcd members the list no longer names leave the cluster at the
# end of the run (their membership steps' delete, one at a time): that is refused here while an
# etcd member that stays is not Ready, since etcd then has less margin than the removal assumes
# and a second failure during it would lose quorum. On a host without K3s (the first run) there is
# no cluster to check. Its script holds only the list, so nothing else re-runs it (a VIP move does
# not); and it asks the first server's own API, which must answer since that server stays.
: "${servers:?}" "${field:?}"

if ! have k3s; then
  log "no K3s server on this host yet: no server can leave a cluster"; exit 0
fi
wait_for 20 "the local apiserver to report /readyz" kube get --raw=/readyz || {
  log "$field: the first server's K3s API does not answer, and the first server stays in every accepted edit: bring it back, then run pulumi up again. Nothing was changed."; exit 1; }
members=$(etcd_nodes) || { log "cannot list the etcd member nodes"; exit 1; }
leaving=""; not_ready=""
for member in $members; do
  name=${member%%=*}
  case " $servers " in
    *" $name "*) [ "${member#*=}" = True ] || not_ready="${not_ready:+$not_ready, }$name" ;;
    *) leaving="${leaving:+$leaving, }$name" ;;
  esac
done
if [ -z "$leaving" ]; then log "no etcd member leaves the cluster in this run"; exit 0; fi
if [ -n "$not_ready" ]; then
  log "invalid stack configuration:
  - $field: this run removes $leaving from the cluster, but etcd members that stay are not Ready ($not_ready): removing a member while another is down leaves etcd no margin, and one more failure would lose quorum. Bring $not_ready back, or remove it in a run of its own first (keeping $leaving), then run pulumi up again. Nothing was changed."
  exit 1
fi
log "$leaving leaves the cluster at the end of this run; every etcd member that stays is Ready"
