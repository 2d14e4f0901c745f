#!/bin/sh
# Docker mode: keeps the config (stdin) on the host and makes the running container serve it. The
# container is created once with the config of its day; later configs are checked with the
# container's own nginx, copied in and loaded with SIGHUP (a graceful reload). The comparison is
# with what the container holds, so a run cut between the copy and the reload is finished later.
# Writes stdin to: $NGINX_DOCKER_CONF (mode 0644)

check_in_container() {
  docker cp "$1" "$NGINX_CONTAINER:/tmp/k3s-ha-nginx.conf" && docker exec "$NGINX_CONTAINER" nginx -t -q -c /tmp/k3s-ha-nginx.conf
}
write_file "$NGINX_DOCKER_CONF" 0644 check_in_container >/dev/null
if docker exec "$NGINX_CONTAINER" cat "$NGINX_CONF" 2>/dev/null | cmp -s - "$NGINX_DOCKER_CONF"; then
  log "$NGINX_CONTAINER: unchanged"
else
  docker cp "$NGINX_DOCKER_CONF" "$NGINX_CONTAINER:$NGINX_CONF"
  docker kill --signal HUP "$NGINX_CONTAINER" >/dev/null
  log "$NGINX_CONTAINER: reloaded"
fi
