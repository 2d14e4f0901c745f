#!/bin/sh
# Writes haproxy.cfg from stdin (checked by `haproxy -c` first) and reloads HAProxy, never
# restarts it; on a switch from Nginx, starts beside it before it stops (switch_tier). On lb-2, first checks that lb-1 ($peer, at $peer_at) serves with its new config:
# once one of the K3s servers ($peer_servers, host:port words) answers /ping directly, /ping
# through the peer must answer too.
# Writes stdin to: $HAPROXY_CFG (mode 0644)
: "${peer?}" "${peer_at?}" "${peer_servers?}"

if [ -n "$peer" ]; then
  # shellcheck disable=SC2086 # one host:port word per server
  peer_serves_first "$peer" "$peer_at" $peer_servers
fi
ensure_packages haproxy=haproxy curl=curl
mkdir -p /run/haproxy
keep_original "$HAPROXY_CFG"
changed=$(write_file "$HAPROXY_CFG" 0644 "haproxy -c -q -f" "mark_reload haproxy")
switch_tier haproxy haproxy "$changed"
