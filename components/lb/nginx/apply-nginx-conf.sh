#!/bin/sh
# Writes nginx.conf from stdin (checked by `nginx -t` first) and reloads Nginx; on a switch from
# HAProxy, starts beside it before it stops (switch_tier). Debian and Ubuntu
# ship the stream module as a dynamic module in its own package.
# Writes stdin to: $NGINX_CONF (mode 0644)

ensure_packages nginx=nginx /usr/lib/nginx/modules/ngx_stream_module.so=libnginx-mod-stream
keep_original "$NGINX_CONF"
changed=$(write_file "$NGINX_CONF" 0644 "nginx -t -q -c" "mark_reload nginx")
switch_tier nginx nginx "$changed"
