#!/bin/sh
# Stops Nginx and puts the distribution's nginx.conf back.

if have nginx; then svc stop nginx || true; svc_disable nginx; fi
rm -f "$(reload_pending nginx)"
restore_file "$NGINX_CONF"
