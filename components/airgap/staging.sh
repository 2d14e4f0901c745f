#!/bin/sh
# The first step on an air-gapped host: checks the tools the K3s scripts use (the program cannot
# install packages offline; curl answers the readiness checks and the registration gate), then
# creates the staging dir for the SSH user (sudo sets SUDO_USER) under a root-owned parent, so no
# other local user can swap a file between the copy and the verification.
: "${staging:?}"

missing=""
for tool in curl sha256sum awk sed timeout base64 install; do have "$tool" || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  log "this air-gapped host lacks:$missing. The program cannot install packages offline: install them from your distribution's media first (curl answers the readiness checks and the registration gate)"
  exit 1
fi
owner=${SUDO_USER:-root}
install -d -m 0755 -o root -g root "$K3S_HA_STATE_DIR"
if [ -L "$staging" ]; then rm -f "$staging"; fi
install -d -m 0700 -o "$owner" "$staging"
log "$staging: ready for $owner"
