#!/usr/bin/env bash
# Sets up a fresh checkout and runs `pulumi up` on a stack (default: dev).
# State goes to a local directory backend unless PULUMI_BACKEND_URL names another (no account needed).
# The stack's secrets are encrypted with a passphrase that Pulumi reads from a file: the one
# PULUMI_CONFIG_PASSPHRASE_FILE names, else ~/.k3s-ha/passphrase, made on first use (random, 0600).
# The CLI comes from the npm package `pulumi`, which fetches the pinned Pulumi release on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

# Points Pulumi at the passphrase. A non-empty PULUMI_CONFIG_PASSPHRASE or
# PULUMI_CONFIG_PASSPHRASE_FILE in the environment is left to Pulumi. Otherwise the passphrase is
# ~/.k3s-ha/passphrase, created with `openssl rand` under umask 077 when it does not exist, and
# exported as PULUMI_CONFIG_PASSPHRASE_FILE. The passphrase itself is never printed, and never
# passed on a command line or in the environment.
use_passphrase_file() {
  if [ -n "${PULUMI_CONFIG_PASSPHRASE:-}" ] || [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    return 0
  fi
  # Pulumi prefers PULUMI_CONFIG_PASSPHRASE whenever it is set, even to an empty string.
  unset PULUMI_CONFIG_PASSPHRASE
  local dir="$HOME/.k3s-ha"
  local file="$dir/passphrase"
  if [ ! -e "$file" ]; then
    (
      umask 077
      mkdir -p "$dir"
      tmp=$(mktemp "$dir/.passphrase.XXXXXX")
      trap 'rm -f "$tmp"' EXIT
      openssl rand -hex 32 >"$tmp"
      # A hard link never replaces a file: a concurrent first run keeps the passphrase it made.
      ln "$tmp" "$file" 2>/dev/null || [ -s "$file" ]
    )
    {
      echo "up.sh: created $file (mode 0600), a random passphrase that encrypts the secrets of"
      echo "  every stack this script creates (token, SSH key, kubeconfig). Back it up: losing it"
      echo "  loses those secrets. Other pulumi commands (stack output, preview, destroy) need"
      echo "  export PULUMI_CONFIG_PASSPHRASE_FILE=$file"
      echo "  A stack made with another passphrase needs that one: point the variable at it."
    } >&2
  fi
  if [ ! -s "$file" ]; then
    echo "up.sh: $file is empty; remove it to get a new passphrase, or put the stack's in it" >&2
    return 2
  fi
  # Like ssh with a private key: refuse a passphrase that others can read or change.
  case "$(ls -lLd -- "$file")" in
    -r[w-]-------*) ;;
    *)
      echo "up.sh: $file is accessible to other users; run: chmod 600 $file" >&2
      return 2
      ;;
  esac
  export PULUMI_CONFIG_PASSPHRASE_FILE="$file"
}

stack=${1:-dev}
pulumi_cli_version=3.265.0
if [ ! -f "Pulumi.$stack.yaml" ]; then
  echo "no Pulumi.$stack.yaml: copy Pulumi.dev.yaml and describe your hosts (see README.md)" >&2
  exit 2
fi
use_passphrase_file

npm ci --no-audit --no-fund
# Pins the hosts' SSH keys first: it scans, shows each fingerprint and asks before writing
# hostKey into the stack file. Status 1 (a pinned key differs, or bad input) stops here; status 2
# (a host left unpinned) is left to `pulumi up`, which refuses unpinned hosts unless the stack
# opts out with sshTrustAnyHostKey.
hostkeys_status=0
npm run --silent hostkeys -- --stack "$stack" || hostkeys_status=$?
if [ "$hostkeys_status" -ne 0 ] && [ "$hostkeys_status" -ne 2 ]; then
  exit "$hostkeys_status"
fi
pulumi() { npx --yes "pulumi@$pulumi_cli_version" "$@"; }

if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  state_dir=${K3S_HA_STATE_DIR:-$HOME/.k3s-ha/state}
  mkdir -p "$state_dir"
  export PULUMI_BACKEND_URL="file://$state_dir"
fi
pulumi login "$PULUMI_BACKEND_URL"
pulumi stack select --create "$stack"
pulumi up --stack "$stack"
