#!/usr/bin/env bash
# Sets up a fresh checkout and runs `pulumi up` on a stack (default: dev).
# State goes to a local directory backend unless PULUMI_BACKEND_URL names another (no account needed).
# The CLI comes from the npm package `pulumi`, which fetches the pinned Pulumi release on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

stack=${1:-dev}
pulumi_cli_version=3.265.0
if [ ! -f "Pulumi.$stack.yaml" ]; then
  echo "no Pulumi.$stack.yaml: copy Pulumi.dev.yaml and describe your hosts (see README.md)" >&2
  exit 2
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts the stack's secrets" >&2
  exit 2
fi

npm ci --no-audit --no-fund
pulumi() { npx --yes "pulumi@$pulumi_cli_version" "$@"; }

if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  state_dir=${K3S_HA_STATE_DIR:-$HOME/.k3s-ha/state}
  mkdir -p "$state_dir"
  export PULUMI_BACKEND_URL="file://$state_dir"
fi
pulumi login "$PULUMI_BACKEND_URL"
pulumi stack select --create "$stack"
pulumi up --stack "$stack"
