#!/bin/sh
# Removes the check script, and the user only if this program created it (an admin's stays).
: "${path:?}" "${user:?}"

marker=$K3S_HA_STATE_DIR/created-user-$user
rm -f "$path"
if [ -e "$marker" ]; then
  if id -u "$user" >/dev/null 2>&1; then userdel "$user" || log "$user: not removed (userdel failed)"; fi
  rm -f "$marker"
fi
