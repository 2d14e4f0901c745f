#!/bin/sh
# Rotates the server token on a running cluster (what `k3s token rotate` does), reading the new
# token from stdin. `k3s token rotate` takes the new token only as a command-line argument, which
# any local user can read from /proc while it runs; so this script sends the same request the CLI
# sends (PUT /v1-k3s/token on the local supervisor, authenticated as the `server` user with the
# current token, verified against the cluster's server CA) through curl, with every secret in files
# in a private temp dir and in shell variables, never in a process's arguments or environment.
# Runs before any token file is rewritten. Does nothing on a new cluster (K3s is not running yet and
# starts with the new token) or when the cluster already uses the token.
#
# Parameters: server_token (the token K3s wrote at start, K10<ca hash>::server:<password>, which
# holds the current password), server_ca, supervisor (host:port), rotate_since (the releases that
# brought `k3s token rotate`, for the message).
: "${server_token:?}" "${server_ca:?}" "${supervisor:?}" "${rotate_since:?}"

new=$(cat)
# A full token (K10<ca hash>::server:<password>) or just the password: K3s keys on the password.
new_password=${new##*::server:}
case $new_password in
  '') log "the new server token is empty"; exit 1 ;;
  *[![:print:]]*) log "the new server token holds control characters"; exit 1 ;;
esac
installed=$(installed_version) || installed=""
if [ -z "$installed" ] || ! svc_running k3s || ! [ -s "$server_token" ]; then
  log "K3s is not running here yet: it starts with the configured token, nothing to rotate"; exit 0
fi
current=$(cat "$server_token")
current_password=${current##*::server:}
if [ "$current_password" = "$new_password" ]; then
  log "the cluster already uses the configured server token"; exit 0
fi
if ! k3s token --help 2>/dev/null | grep -q rotate; then
  log "K3s $installed on this server cannot rotate the cluster's token: k3s token rotate came with $rotate_since and every later minor release (k3s#8264). Nothing was changed on any host: upgrade K3s to one of those first (keep the current token in the stack meanwhile), then change the token"
  exit 1
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# printf is a shell builtin: its arguments are not a process's command line.
printf '{"newToken":"%s"}' "$(printf '%s' "$new_password" | sed 's/[\\"]/\\&/g')" >"$work/body.json"
{
  printf 'url = "https://%s/v1-k3s/token"\n' "$supervisor"
  printf 'request = "PUT"\n'
  printf 'cacert = "%s"\n' "$server_ca"
  printf 'header = "Authorization: Basic %s"\n' "$(printf 'server:%s' "$current_password" | base64 | tr -d '\n')"
  printf 'header = "Content-Type: application/json"\n'
  printf 'data-binary = "@%s"\n' "$work/body.json"
} >"$work/curl.conf"
if ! curl --silent --show-error --fail --max-time 30 --config "$work/curl.conf" >&2; then
  log "the server token rotation request failed; the cluster keeps its current token"; exit 1
fi
# K3s waits this long for the new token to reach the datastore before it reports success.
sleep 1
log "server token rotated: every server now restarts with it, one at a time (agents join with the agent token and keep it); etcd snapshots taken before now need the old token to restore"
