#!/bin/sh
# Stops HAProxy and puts the distribution's haproxy.cfg back.

if have haproxy; then svc stop haproxy || true; svc_disable haproxy; fi
rm -f "$(reload_pending haproxy)"
restore_file "$HAPROXY_CFG"
