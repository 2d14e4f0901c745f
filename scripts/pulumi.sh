#!/usr/bin/env bash
# Runs the Pulumi CLI the way scripts/up.sh does, from any shell and any directory:
#   scripts/pulumi.sh stack output apiEndpoint --stack dev
#   scripts/pulumi.sh preview --stack dev
#   scripts/pulumi.sh destroy --stack dev
# The state backend and the passphrase file are up.sh's (scripts/lib/pulumi-env.sh says how they
# are chosen); the CLI is a pulumi v3.200 or later on PATH, else the pinned npm package.
set -euo pipefail
cd "$(dirname "$0")/.."
K3SHA_SCRIPT=pulumi.sh
# shellcheck source=SCRIPTDIR/lib/pulumi-env.sh
. scripts/lib/pulumi-env.sh

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/pulumi.sh <pulumi arguments>, e.g. scripts/pulumi.sh stack output --stack dev" >&2
  exit 2
fi
k3sha_backend
k3sha_passphrase existing
k3sha_choose_cli
# Only a pulumi on PATH that is passed over is worth a line on every call.
case "$K3SHA_CLI_REASON" in
  *instead) k3sha_say "$K3SHA_CLI_REASON" ;;
esac
k3sha_fetch_cli
exec "${K3SHA_PULUMI[@]}" "$@"
