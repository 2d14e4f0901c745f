#!/bin/sh
# Stops KeepAlived, which releases the VIP, and puts the distribution's keepalived.conf back.

if have keepalived; then svc stop keepalived || true; svc_disable keepalived; fi
rm -f "$(reload_pending keepalived)" "$(keepalived_held_marker)"
restore_file "$KEEPALIVED_CONF"
