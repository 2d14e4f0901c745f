#!/bin/sh
# Frozen: rendered by components/render/keepalived.ts at commit f58bc4880f34a176d16074bf71ce48483f1f912b (before issue 12), lab addresses.
# Managed by k3s-ha (Pulumi). Local edits are overwritten.
# Exit 0 only when the local HAProxy answers over HTTP: a hung process still completes TCP handshakes.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
exec curl --noproxy '*' -fsS -m 0.5 -o /dev/null http://127.0.0.1:8405/healthz
