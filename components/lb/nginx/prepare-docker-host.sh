#!/bin/sh
# Docker mode, before the container is created: nothing else may hold :6443.

have docker || { log "nginxMode docker needs Docker on this host"; exit 1; }
retire_other_tiers nginx-docker
