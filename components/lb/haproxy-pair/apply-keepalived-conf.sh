#!/bin/sh
# Writes keepalived.conf from stdin (checked by `keepalived -t` first) and reloads KeepAlived.
#
# Hosts of one pair must speak the same VRRP version, and under VRRPv2 the same interval: a host
# drops the other's adverts ("wrong version", "advertisement interval mismatch"), hears no master
# and takes the VIP too. Reloading one host after the other would leave two holders for as long as
# the second host's turn takes. So with roll_vip set (the VIP's host:port; on the host that changes
# first), when such a change meets a running KeepAlived, this host hands the VIP over (a graceful
# stop sends a priority-0 advert in the old settings), stays stopped while its peer changes, and
# starts again after it (the resume step): the pair never runs two settings at once. The peer's
# name stays out of this script: renaming lb-2 must not re-run lb-1's steps.
#
# Parameters: peer, peer_at (on lb-2: lb-1 must serve first); roll_vip ("" on the last host);
# vrrp_nice (the nice value keepalived.conf asks for with vrrp_priority).
# Writes stdin to: $KEEPALIVED_CONF (mode 0644)
: "${peer?}" "${peer_at?}" "${roll_vip?}" "${vrrp_nice:?}"

if [ -n "$peer" ]; then peer_serves_first "$peer" "$peer_at"; fi
ensure_packages keepalived=keepalived curl=curl
held=$(keepalived_held_marker)
# Before the new file moves into place (it passed keepalived -t).
hold_for_peer() {
  mark_reload keepalived
  [ -n "$roll_vip" ] || return 0
  [ -f "$KEEPALIVED_CONF" ] && svc_running keepalived || return 0
  old_sig=$(vrrp_signature "$KEEPALIVED_CONF"); new_sig=$(vrrp_signature "$new_conf")
  [ "$old_sig" = "$new_sig" ] && return 0
  state_touch "$held"
  svc stop keepalived
  log "keepalived: stopped for the VRRP change $old_sig -> $new_sig (the pair's hosts cannot hear each other across it); the other LB host changes next, then this host starts again"
  if wait_for 10 "the other LB host to take over the VIP ($roll_vip)" vip_serves "$roll_vip"; then return 0; fi
  # Nobody serves the VIP: the peer is down, so this host takes it with the new settings now.
  rm -f "$held"
  log "keepalived: the other LB host did not take the VIP over; starting here with the new settings"
}
keep_original "$KEEPALIVED_CONF"
new_conf=$(mktemp)
trap 'rm -f "$new_conf"' EXIT
cat >"$new_conf"
changed=$(write_file "$KEEPALIVED_CONF" 0644 keepalived_test hold_for_peer <"$new_conf")
if [ -e "$held" ]; then
  svc_enable keepalived
  rm -f "$(reload_pending keepalived)"
  log "keepalived: held stopped until the other LB host runs the new VRRP settings (the resume step starts it)"
else
  svc_apply keepalived "$changed"
  warn_unless_prioritised "$vrrp_nice"
fi
