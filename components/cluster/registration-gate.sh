#!/bin/sh
# Proves the registration address (host:port) answers /ping before any agent joins through it.
: "${target:?}"

ensure_packages curl=curl
wait_for 180 "the registration address $target to answer /ping" ping_ok "$target"
log "registration address $target answers /ping"
