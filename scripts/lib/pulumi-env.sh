# shellcheck shell=bash disable=SC2034  # K3SHA_* variables are read by the scripts sourcing this
# Sourced by scripts/up.sh and scripts/pulumi.sh, so both call Pulumi the same way:
#   k3sha_backend            PULUMI_BACKEND_URL: as set, else file://$K3S_HA_STATE_DIR, else
#                            file://$HOME/.k3s-ha/state (a local directory: no account needed)
#   k3sha_passphrase create  PULUMI_CONFIG_PASSPHRASE_FILE=$HOME/.k3s-ha/passphrase unless
#                            PULUMI_CONFIG_PASSPHRASE(_FILE) is set; `create` makes the file when
#                            it does not exist (up.sh), `existing` only uses it (pulumi.sh)
#   k3sha_choose_cli         K3SHA_PULUMI: a `pulumi` on PATH whose version is v3.N.x with
#                            N >= K3SHA_PULUMI_MIN_MINOR, else npx --yes pulumi@K3SHA_PULUMI_VERSION
#   k3sha_fetch_cli          when the npx CLI is not downloaded yet: downloads it, and on failure
#                            says what failed and what else to do
# Messages go to stderr, prefixed with K3SHA_SCRIPT. The passphrase itself is never printed, and
# never passed on a command line or in the environment.

K3SHA_PULUMI_VERSION=3.265.0
K3SHA_PULUMI_MIN_MINOR=200
K3SHA_SCRIPT=${K3SHA_SCRIPT:-k3s-ha}
K3SHA_PULUMI=()
K3SHA_CLI_REASON=""

k3sha_say() {
  local line
  for line in "$@"; do
    echo "$K3SHA_SCRIPT: $line" >&2
  done
}

k3sha_backend() {
  if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
    local dir=${K3S_HA_STATE_DIR:-$HOME/.k3s-ha/state}
    (umask 077 && mkdir -p "$dir")
    export PULUMI_BACKEND_URL="file://$dir"
  fi
}

k3sha_new_passphrase() {
  local dir=$1 file=$2
  # Each step checked: under `f || ...` (as up.sh calls this) bash ignores set -e.
  (
    umask 077
    mkdir -p "$dir" || exit 1
    tmp=$(mktemp "$dir/.passphrase.XXXXXX") || exit 1
    trap 'rm -f "$tmp"' EXIT
    openssl rand -hex 32 >"$tmp" || exit 1
    # A hard link never replaces a file: a concurrent first run keeps the passphrase it made.
    ln "$tmp" "$file" 2>/dev/null || [ -s "$file" ]
  ) || return 2
  k3sha_say "created $file (mode 0600), a random passphrase that encrypts the secrets of" \
    "  every stack this script creates (token, SSH key, kubeconfig). Back it up: losing it" \
    "  loses those secrets. Later commands read it when run through scripts/pulumi.sh, e.g." \
    "  scripts/pulumi.sh stack output apiEndpoint --stack <stack>" \
    "  A stack made with another passphrase needs that one: set PULUMI_CONFIG_PASSPHRASE_FILE to it."
}

# $1: create | existing.
k3sha_passphrase() {
  if [ -n "${PULUMI_CONFIG_PASSPHRASE:-}" ] || [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    return 0
  fi
  # Pulumi prefers PULUMI_CONFIG_PASSPHRASE whenever it is set, even to an empty string.
  unset PULUMI_CONFIG_PASSPHRASE
  local dir="$HOME/.k3s-ha"
  local file="$dir/passphrase"
  if [ ! -e "$file" ]; then
    if [ "$1" != create ]; then
      k3sha_say "no passphrase file $file (scripts/up.sh makes it on its first run): commands" \
        "  that read or write a stack's secrets will fail. A stack made elsewhere: set" \
        "  PULUMI_CONFIG_PASSPHRASE_FILE to the file holding its passphrase."
      return 0
    fi
    k3sha_new_passphrase "$dir" "$file" || return 2
  fi
  if [ ! -s "$file" ]; then
    k3sha_say "$file is empty; remove it to get a new passphrase, or put the stack's in it"
    return 2
  fi
  # Like ssh with a private key: refuse a passphrase that others can read or change.
  case "$(ls -lLd -- "$file")" in
    -r[w-]-------*) ;;
    *)
      k3sha_say "$file is accessible to other users; run: chmod 600 $file"
      return 2
      ;;
  esac
  export PULUMI_CONFIG_PASSPHRASE_FILE="$file"
}

# Sets K3SHA_PULUMI and K3SHA_CLI_REASON (why this CLI: one line).
k3sha_choose_cli() {
  local found version minor
  K3SHA_PULUMI=(npx --yes "pulumi@$K3SHA_PULUMI_VERSION")
  found=$(command -v pulumi || true)
  if [ -z "$found" ]; then
    K3SHA_CLI_REASON="no pulumi on PATH: using npx --yes pulumi@$K3SHA_PULUMI_VERSION"
    return 0
  fi
  version=$(pulumi version 2>/dev/null | head -n 1) || version=""
  if [[ ! "$version" =~ ^v3\.([0-9]+)\.[0-9]+ ]]; then
    K3SHA_CLI_REASON="the pulumi on PATH ($found) did not print a v3 version for \`pulumi version\` (got '${version}'): using npx --yes pulumi@$K3SHA_PULUMI_VERSION instead"
    return 0
  fi
  minor=${BASH_REMATCH[1]}
  if [ "$minor" -lt "$K3SHA_PULUMI_MIN_MINOR" ]; then
    K3SHA_CLI_REASON="the pulumi on PATH ($found) is $version, older than v3.$K3SHA_PULUMI_MIN_MINOR.0 which this program needs: using npx --yes pulumi@$K3SHA_PULUMI_VERSION instead"
    return 0
  fi
  K3SHA_PULUMI=("$found")
  K3SHA_CLI_REASON="using pulumi $version from PATH ($found)"
}

k3sha_cli_alternatives() {
  k3sha_say "Either install the CLI with the official installer, then run this again (a pulumi" \
    "  v3.$K3SHA_PULUMI_MIN_MINOR or later on PATH is used):" \
    "    curl -fsSL https://get.pulumi.com | sh   (into ~/.pulumi/bin, on PATH in a new shell)" \
    "  or, on a machine without internet access, take the release tarball" \
    "  pulumi-v$K3SHA_PULUMI_VERSION-linux-x64.tar.gz (https://github.com/pulumi/pulumi/releases) from a" \
    "  machine that has it, unpack it and put its pulumi/ directory on PATH."
}

# The npm package `pulumi` (run.js, lib/resolve.js) runs the CLI cached in
# ${PULUMI_HOME:-~/.pulumi}/versions/<version>/bin/pulumi; on its first run it prints
# "Downloading pulumi v<version>..." and fetches https://get.pulumi.com/install.sh, which
# downloads the release into that directory. So a failure before that line is npm's, after it
# the release download's.
k3sha_fetch_cli() {
  [ "${K3SHA_PULUMI[0]}" = npx ] || return 0
  local cached="${PULUMI_HOME:-$HOME/.pulumi}/versions/$K3SHA_PULUMI_VERSION/bin/pulumi"
  [ -x "$cached" ] && [ -s "$cached" ] && return 0
  local log status=0
  log=$(mktemp)
  "${K3SHA_PULUMI[@]}" version >/dev/null 2>"$log" || status=$?
  if [ "$status" -eq 0 ]; then
    rm -f "$log"
    return 0
  fi
  if grep -q "^Downloading pulumi v$K3SHA_PULUMI_VERSION" "$log"; then
    k3sha_say "could not get the Pulumi CLI: the npm package pulumi@$K3SHA_PULUMI_VERSION ran, but its" \
      "  first-run download of the Pulumi v$K3SHA_PULUMI_VERSION release failed (it fetches" \
      "  https://get.pulumi.com/install.sh, which downloads the release from get.pulumi.com into" \
      "  ${PULUMI_HOME:-$HOME/.pulumi}/versions/$K3SHA_PULUMI_VERSION). It said:"
  else
    k3sha_say "could not get the Pulumi CLI: npx could not fetch the package pulumi@$K3SHA_PULUMI_VERSION" \
      "  from the npm registry (npm config get registry names it). npm said:"
  fi
  sed -e 's/^/    /' "$log" | tail -n 15 >&2
  rm -f "$log"
  k3sha_cli_alternatives
  return 3
}
