#!/bin/sh
# Functions the load-balancer scripts share on top of components/host/lib.sh. Units as in lib.sh:
# one definition each, separated by blank lines; a script carries only the units it uses.
# shellcheck disable=SC2034 # the variables are used by the scripts that include them

HAPROXY_CFG=/etc/haproxy/haproxy.cfg

KEEPALIVED_CONF=/etc/keepalived/keepalived.conf

NGINX_CONF=/etc/nginx/nginx.conf

# The Nginx container in Docker mode, and where its config is kept on the host.
NGINX_CONTAINER=lb-nginx

NGINX_DOCKER_CONF=/etc/k3s-ha/nginx.conf

# Marks a KeepAlived the VRRP roll stopped; only the resume step starts it again.
keepalived_held_marker() { printf '%s/keepalived-held-for-peer' "$K3S_HA_STATE_DIR"; }

# True when file $1 is one the program wrote (it starts with the managed header).
managed_file() { [ -f "$1" ] && grep -qF "$K3S_HA_MANAGED_HEADER" "$1"; }

nginx_listens() { ss -Hltnp "sport = :6443" | grep -q '"nginx"'; }

# Stops service $1 if the program set it up (its config $2 is managed) and it runs: this host's
# load balancer is now $3.
retire_service() {
  if managed_file "$2" && have "$1" && svc_running "$1"; then
    svc stop "$1"; svc_disable "$1"; log "$1: stopped: this host's load balancer is now $3"
  fi
}

# Stops the other load-balancer kinds the program set up on this host; $1 is this host's tier
# (haproxy, nginx or nginx-docker). On a switch (haproxy <-> nginx, native <-> docker) Pulumi
# creates the new tier's steps first and deletes the old tier's at the end of the run; both listen
# on :6443: the new one stops the old daemons once it listens beside them (switch_tier), or, where
# it cannot (Docker), before it binds. Stopping KeepAlived first hands the VIP to the peer at once.
# The old steps' deletes then restore the distribution's files.
retire_other_tiers() {
  if [ "$1" != haproxy ]; then
    retire_service keepalived "$KEEPALIVED_CONF" "$1"
    retire_service haproxy "$HAPROXY_CFG" "$1"
  fi
  # A graceful quit closes Nginx's listeners at once and lets open tunnels drain in the background
  # (worker_shutdown_timeout), where `stop` waits for them (Debian: 5 s) with the port closed.
  if [ "$1" != nginx ] && managed_file "$NGINX_CONF" && have nginx && svc_running nginx; then
    nginx -s quit; svc_disable nginx; log "nginx: quit gracefully: this host's load balancer is now $1"
    # Nginx closes its listeners within moments of the signal; a new proxy that could not share
    # the port binds once they are gone.
    if have ss; then
      tries=0
      while nginx_listens && [ "$tries" -lt 50 ]; do sleep 0.2; tries=$((tries + 1)); done
    else sleep 2; fi
  fi
  if [ "$1" != nginx-docker ] && have docker && [ "$(docker container inspect -f '{{.State.Running}}' "$NGINX_CONTAINER" 2>/dev/null)" = true ]; then
    docker stop "$NGINX_CONTAINER" >/dev/null; log "$NGINX_CONTAINER: stopped: this host's load balancer is now $1"
  fi
}

# True when another load-balancer kind the program set up runs here natively: the tier this
# host's tier $1 replaces.
other_tier_running() {
  case $1 in
    haproxy) managed_file "$NGINX_CONF" && have nginx && svc_running nginx ;;
    nginx) managed_file "$HAPROXY_CFG" && have haproxy && svc_running haproxy ;;
    *) return 1 ;;
  esac
}

# Starts or reloads service $2, this host's tier $1 ($3: changed when its file changed), and stops
# the tier it replaces. On a switch, make before break: $2 starts while the old tier still listens
# on :6443 (both set SO_REUSEPORT: Nginx's `reuseport`, HAProxy's default on Linux), so a client
# finds a listener throughout; then the old tier stops. Where the port cannot be shared (an Nginx
# set up by an earlier release, without reuseport), the start fails and the old tier stops first.
switch_tier() {
  if ! svc_running "$2" && other_tier_running "$1"; then
    svc_enable "$2"
    if svc start "$2" 2>/dev/null; then
      log "$2: started beside the tier it replaces"; rm -f "$(reload_pending "$2")"
      retire_other_tiers "$1"; return 0
    fi
    log "$2: could not share :6443 with the tier it replaces; stopping that tier first"
  fi
  retire_other_tiers "$1"
  svc_apply "$2" "$3"
}

# Before this host changes, the LB host that changes before it ($1, named for messages, at $2 =
# host:port, its own address, never the VIP) must serve: a new config that host refused or does
# not serve with stops the run before a second host takes it, so the VIP keeps a working holder.
# Bounded: 5 s to connect, up to 3 s per server, then about 10 s of retries (each up to 3 s) for
# /ping through the peer. A TCP connect proves the peer's proxy listens (with no server up yet, as
# on a fresh cluster, that is all there is to see); with K3s servers given ($3...), once one of
# them answers /ping from here, /ping through the peer must answer too, else its new backend list
# does not serve.
peer_serves_first() {
  peer=$1; at=$2; shift 2
  ensure_packages curl=curl
  # A TLS error after the connect (no server behind the proxy yet) still counts: the proxy listens.
  probe=$(curl --noproxy '*' -ksS -o /dev/null --connect-timeout 3 --max-time 5 -w '\nconnects=%{num_connects}\n' "https://$at/" 2>&1) || true
  case ${probe##*connects=} in
    0|'')
      why=$(printf '%s\n' "$probe" | grep -v '^connects=' | tr -s '\n' ' ')
      log "$peer ($at) does not answer on its own address: ${why% }; this host is left unchanged until $peer serves (fix $peer, then run again)"
      return 1 ;;
  esac
  for server in "$@"; do
    ping_ok "$server" || continue
    if wait_for 10 "/ping through $peer ($at)" ping_ok "$at"; then
      log "$peer ($at) serves: /ping through it answers"; return 0
    fi
    log "$peer ($at) accepts connections but passes no /ping to a K3s server, while $server answers it directly: $peer's new configuration does not serve; this host is left unchanged"
    return 1
  done
  if [ $# -gt 0 ]; then log "$peer ($at) accepts connections (no K3s server answers /ping yet)"
  else log "$peer ($at) accepts connections"; fi
}

# `keepalived -t -f <file>`, run again in a PID namespace when 2.2.5-2.2.7 kill it: those versions
# (Debian 12's) kill their own `-t` with SIGTERM (status 143) when a script runs as a non-root user,
# taking themselves for an orphan (fixed in 2.2.8, keepalived commit aae8e910). In a PID namespace
# of its own its parent pid reads 0, as the test expects, and the same file gets the full check.
keepalived_test() {
  # Output and status captured together, so that the shell's "Terminated" is not reported.
  kt_out=$( { keepalived -t -f "$1" && echo kt_status=0 || echo "kt_status=$?"; } 2>&1 )
  kt_status=${kt_out##*kt_status=}
  kt_out=${kt_out%kt_status=*}
  if [ "$kt_status" -eq 143 ] && have unshare; then
    unshare --pid --fork --kill-child keepalived -t -f "$1"; return
  fi
  printf '%s' "$kt_out" >&2
  return "$kt_status"
}

# "v3", or "v2/<advert_int>": what two hosts of a pair must agree on, read from keepalived.conf $1.
vrrp_signature() {
  v=$(sed -n 's/^[[:space:]]*vrrp_version[[:space:]][[:space:]]*\([23]\).*/\1/p' "$1" | head -n 1)
  if [ -z "$v" ]; then
    # KeepAlived runs IPv6 instances as VRRPv3 whatever the default.
    if grep -Eq '^[[:space:]]*[0-9A-Fa-f]*:[0-9A-Fa-f:]*/[0-9]+ dev ' "$1"; then v=3; else v=2; fi
  fi
  if [ "$v" = 3 ]; then echo v3; return; fi
  i=$(sed -n 's/^[[:space:]]*advert_int[[:space:]][[:space:]]*\([0-9.]*\).*/\1/p' "$1" | head -n 1)
  echo "v2/${i:-1}"
}

vip_serves() {
  # A TLS or HTTP error after the connect still means a proxy holds the VIP.
  n=$(curl --noproxy '*' -ksS -o /dev/null --connect-timeout 1 --max-time 2 -w '%{num_connects}' "https://$1/" 2>/dev/null) || true
  [ "${n:-0}" != 0 ]
}

# True when a KeepAlived process runs at nice $1 (field 19 of /proc/<pid>/stat).
keepalived_at_nice() {
  for proc in /proc/[0-9]*; do
    [ "$(cat "$proc/comm" 2>/dev/null)" = keepalived ] || continue
    [ "$(awk '{print $19}' "$proc/stat" 2>/dev/null)" = "$1" ] && return 0
  done
  return 1
}

# vrrp_priority asks for nice $1, which a container without CAP_SYS_NICE refuses; KeepAlived then
# runs at the default priority. Says so, without failing: the pair still works, but a busy host may
# delay its adverts.
warn_unless_prioritised() {
  tries=0
  until keepalived_at_nice "$1" || [ "$tries" -ge 10 ]; do sleep 0.3; tries=$((tries + 1)); done
  keepalived_at_nice "$1" || log "warning: KeepAlived's VRRP process does not run at nice $1 (vrrp_priority refused, e.g. no CAP_SYS_NICE in a container): a busy host may delay its adverts and let the peer take the VIP"
}
