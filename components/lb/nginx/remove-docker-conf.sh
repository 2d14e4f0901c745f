#!/bin/sh
# Docker mode: removes the config kept on the host (the container goes with its own resource).

rm -f "$NGINX_DOCKER_CONF"
