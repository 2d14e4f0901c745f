#!/bin/sh
# Installs KeepAlived's check script (stdin) root-owned and not writable by others
# (enable_script_security), and the unprivileged system user it runs as (script_user), created
# once; keepalived -t in the config step then checks that this user can execute the script. A
# marker records that the program created the user, so that the delete removes that user and no
# other. On lb-2, first checks that lb-1 serves.
# Writes stdin to: $path (mode 0755)
: "${path:?}" "${user:?}" "${peer?}" "${peer_at?}"

if [ -n "$peer" ]; then peer_serves_first "$peer" "$peer_at"; fi
ensure_packages keepalived=keepalived curl=curl
if ! id -u "$user" >/dev/null 2>&1; then
  have useradd || { log "useradd is missing: it creates the user $user KeepAlived's check runs as"; exit 1; }
  useradd --system --user-group --no-create-home --no-log-init --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
  private_marker "$K3S_HA_STATE_DIR/created-user-$user"
  log "created the system user $user: KeepAlived's check runs as it"
fi
write_file "$path" 0755 >/dev/null
chown root:root "$path"
