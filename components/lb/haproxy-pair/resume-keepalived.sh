#!/bin/sh
# Starts a KeepAlived the VRRP roll held (apply-keepalived-conf.sh), once the peer runs the new
# settings: this step runs after every step of the later host.

held=$(keepalived_held_marker)
if [ -e "$held" ]; then
  rm -f "$(reload_pending keepalived)"
  svc start keepalived
  rm -f "$held"
  log "keepalived: started: the other LB host runs the new VRRP settings"
else
  log "keepalived: not held, nothing to start"
fi
