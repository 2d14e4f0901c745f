#!/bin/sh
# Managed by k3s-ha (Pulumi). Local edits are overwritten.
# KeepAlived's check (keepalived.conf vrrp_script chk_haproxy), started every second as an
# unprivileged user. It probes the local HAProxy's monitor URI ($health_url) every 0.1 s for about
# 0.7 s and exits 1 at the second failed probe in a row (refused: HAProxy is gone; no answer within
# 0.3 s: it is hung), else 0. A run never ends on a single failure, so one slow answer moves
# nothing, and a dead HAProxy costs ~0.2 s of probing instead of two whole-second runs. A run that
# reaches 1.5 s was itself starved of CPU and exits 0 without a verdict, well inside KeepAlived's
# 3 s timeout, whose expiry would count as a failure. Probes over HTTP: a hung HAProxy still
# completes TCP handshakes.
: "${health_url:?}"
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
probe() {
  curl --noproxy '*' -fsS -m 0.3 -o /dev/null "$health_url" 2>/dev/null
}
# Centiseconds since boot, read without forking.
tick() {
  read -r up _ </proc/uptime
  now=$((${up%.*} * 100 + 1${up#*.} - 100))
}
tick
end=$((now + 70))
# A run this slow was starved of CPU itself: it decides nothing, the next run asks again.
give_up=$((now + 150))
fails=0
while :; do
  if probe; then fails=0; else fails=$((fails + 1)); fi
  [ "$fails" -ge 2 ] && exit 1
  tick
  [ "$now" -ge "$end" ] && [ "$fails" -eq 0 ] && exit 0
  [ "$now" -ge "$give_up" ] && exit 0
  sleep 0.1
done
