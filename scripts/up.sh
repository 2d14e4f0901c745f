#!/usr/bin/env bash
# Deploys a stack: scripts/up.sh <stack> (default: dev), for Pulumi.<stack>.yaml.
#  1. installs the dependencies (npm ci) unless node_modules already matches package-lock.json;
#  2. pins the hosts' SSH keys (npm run hostkeys) and stops, saying what to do, while any host is
#     left unpinned, unless the stack sets sshTrustAnyHostKey: true;
#  3. runs `pulumi up` on the stack, with the CLI, state backend and passphrase file that
#     scripts/pulumi.sh uses for every later command (scripts/lib/pulumi-env.sh).
# State goes to a local directory backend unless PULUMI_BACKEND_URL names another (no account
# needed). The stack's secrets are encrypted with a passphrase Pulumi reads from a file: the one
# PULUMI_CONFIG_PASSPHRASE_FILE names, else ~/.k3s-ha/passphrase, made on first use (random, 0600).
set -euo pipefail
cd "$(dirname "$0")/.."
K3SHA_SCRIPT=up.sh
# shellcheck source=SCRIPTDIR/lib/pulumi-env.sh
. scripts/lib/pulumi-env.sh

stack=${1:-dev}
if [ "$#" -gt 1 ]; then
  echo "usage: scripts/up.sh [stack]   (one stack name; default dev)" >&2
  exit 2
fi
if [[ ! "$stack" =~ ^[A-Za-z0-9_.-]+$ ]]; then
  echo "up.sh: '$stack' is not a stack name (letters, digits, _ . -)" >&2
  exit 2
fi
if [ ! -f "Pulumi.$stack.yaml" ]; then
  echo "up.sh: no Pulumi.$stack.yaml: copy Pulumi.dev.yaml to Pulumi.$stack.yaml and describe your hosts (see README.md)" >&2
  exit 2
fi
k3sha_passphrase create || exit 2

if node scripts/lib/deps-current.cjs .; then
  echo "up.sh: node_modules matches package-lock.json: no npm ci" >&2
else
  npm ci --no-audit --no-fund
fi

# hostkeys scans each host, shows its fingerprint and asks (on a terminal) before writing hostKey
# into the stack file. Status 1: a pinned key differs, or bad input. Status 2: a host is left
# unpinned, which the program refuses unless the stack opts out with sshTrustAnyHostKey.
hostkeys_status=0
npm run --silent hostkeys -- --stack "$stack" || hostkeys_status=$?
if [ "$hostkeys_status" -eq 2 ]; then
  trust_any=$(node -e '
    const cfg = require("yaml").parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const v = cfg && cfg.config ? cfg.config["k3s-ha:sshTrustAnyHostKey"] : undefined;
    console.log(v === true || v === "true" ? "yes" : "no");' "Pulumi.$stack.yaml")
  if [ "$trust_any" != yes ]; then
    k3sha_say "stopped before pulumi up: the hosts listed above as not pinned have no hostKey in" \
      "  Pulumi.$stack.yaml, and the program refuses to connect to them. Pin their keys, then run" \
      "  scripts/up.sh $stack again:" \
      "    npm run hostkeys -- --stack $stack              (on a terminal: shows each fingerprint, asks)" \
      "    npm run hostkeys -- --stack $stack --expect SHA256:...   (fingerprints read on each host's console)" \
      "    npm run hostkeys -- --stack $stack --known-hosts ~/.ssh/known_hosts" \
      "  A host that did not answer: check that it is up and that this machine reaches its SSH port." \
      "  Or accept any host key knowingly: k3s-ha:sshTrustAnyHostKey: true in Pulumi.$stack.yaml."
    exit 2
  fi
  k3sha_say "continuing with hosts unpinned: Pulumi.$stack.yaml sets sshTrustAnyHostKey: true"
elif [ "$hostkeys_status" -ne 0 ]; then
  k3sha_say "stopped before pulumi up: npm run hostkeys -- --stack $stack refused (above); nothing was deployed"
  exit "$hostkeys_status"
fi

k3sha_backend
k3sha_choose_cli
k3sha_say "$K3SHA_CLI_REASON"
k3sha_fetch_cli || exit 3
pulumi() { "${K3SHA_PULUMI[@]}" "$@"; }

pulumi stack select --create "$stack"
# On a terminal `pulumi up` shows the preview and asks; elsewhere it refuses to run without --yes.
if [ -t 0 ] && [ -t 1 ]; then
  pulumi up --stack "$stack"
else
  k3sha_say "no terminal to confirm on: running pulumi up --yes (the preview is printed first)"
  pulumi up --yes --stack "$stack"
fi
k3sha_say "next: npm run kubeconfig -- --stack $stack --merge   (context $stack in ~/.kube/config)" \
  "  and for any later Pulumi command: scripts/pulumi.sh <command> --stack $stack"
