#!/bin/sh
# The shared library of every host script (components/host/script.ts puts it together).
#
# Each unit below (a blank line ends it) defines one function or variable. A host script carries
# only the units it uses, directly or through another unit, so a step's script is complete on its
# own, and an edit of one function changes (and re-runs) only the steps whose scripts use it.
# Services are managed with systemd when it is PID 1, else with the distribution's service scripts
# (containers, WSL, hosts without systemd).
# shellcheck disable=SC2034 # the variables are used by the scripts that include them

set -eu

# Where the program keeps its own state on a host (pending reloads and restarts, air-gap files).
K3S_HA_STATE_DIR=/var/lib/k3s-ha

# The header every managed file starts with; scripts use it to tell our files from the
# distribution's.
K3S_HA_MANAGED_HEADER='# Managed by k3s-ha (Pulumi). Local edits are overwritten.'

log() { printf '%s\n' "$*" >&2; }

have() { command -v "$1" >/dev/null 2>&1; }

systemd_running() { [ -d /run/systemd/system ]; }

# The program's state files (markers, records) are 0600; the directory stays traversable, as the
# air-gap staging directory below it belongs to the SSH user.
state_touch() { mkdir -p "$K3S_HA_STATE_DIR"; (umask 077; : >>"$1"); chmod 0600 "$1"; }

state_write() { mkdir -p "$K3S_HA_STATE_DIR"; (umask 077; cat >"$1"); chmod 0600 "$1"; }

# Every service operation is bounded: a unit that never reports ready (Type=notify with
# TimeoutStartSec=0, as K3s's) would make systemctl wait forever.
SVC_TIMEOUT=120

svc() {
  if systemd_running; then timeout "$SVC_TIMEOUT" systemctl "$1" "$2"; else timeout "$SVC_TIMEOUT" service "$2" "$1"; fi
}

# Restarts service $1 and waits up to $2 seconds for it to report ready (a Type=notify unit's
# READY=1); says what it waited for when it gives up. The unit keeps trying on its own.
svc_restart_bounded() {
  if systemd_running; then timeout "$2" systemctl restart "$1"; else timeout "$2" service "$1" restart; fi || {
    log "gave up after $2 s waiting for $1 to restart and report ready"; return 1; }
}

# What to look at when service $1 did not come up.
svc_failure_hint() {
  if systemd_running; then
    printf '%s did not report ready; systemctl status %s:\n%s' "$1" "$1" "$(systemctl status --no-pager -n 15 "$1" 2>&1)"
  else
    printf '%s did not report ready (service %s status: %s)' "$1" "$1" "$(service "$1" status 2>&1 | tail -n 3)"
  fi
}

svc_running() {
  if systemd_running; then systemctl is-active --quiet "$1"; return; fi
  # Not every init script has a status action (Debian's keepalived has none): its pid file tells.
  if [ -s "/run/$1.pid" ]; then kill -0 "$(cat "/run/$1.pid")" 2>/dev/null; return; fi
  service "$1" status >/dev/null 2>&1
}

svc_enable() {
  if systemd_running; then systemctl enable --quiet "$1"; fi
}

svc_disable() {
  if systemd_running; then systemctl disable --quiet "$1" 2>/dev/null || true; fi
}

# A reload a file change calls for, recorded before the file moves into place and cleared only
# once the reload (or a start) succeeded: a run cut in between, or a failed reload, is finished by
# the next run even though the file is already unchanged then.
reload_pending() { printf '%s/reload-pending-%s' "$K3S_HA_STATE_DIR" "$1"; }

mark_reload() { state_touch "$(reload_pending "$1")"; }

# Starts a stopped service, reloads a running one whose config changed (now or in a run that did
# not finish the reload), else leaves it alone.
svc_apply() {
  svc_enable "$1"
  if ! svc_running "$1"; then svc start "$1"; log "$1: started"
  elif [ "$2" = changed ] || [ -e "$(reload_pending "$1")" ]; then svc reload "$1"; log "$1: reloaded"
  else log "$1: unchanged"; fi
  rm -f "$(reload_pending "$1")"
}

# Installs packages that are missing, with whichever package manager the host has.
# Each argument is probe=package: a command name or an absolute path that the package provides.
ensure_packages() {
  missing=""
  for spec in "$@"; do
    probe=${spec%%=*}; pkg=${spec#*=}
    case $probe in
      /*) [ -e "$probe" ] || missing="$missing $pkg" ;;
      *) have "$probe" || missing="$missing $pkg" ;;
    esac
  done
  [ -z "$missing" ] && return 0
  log "installing:$missing"
  if have apt-get; then
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get install -y -q $missing >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
  elif have dnf; then
    # shellcheck disable=SC2086
    dnf install -y -q $missing
  elif have yum; then
    # shellcheck disable=SC2086
    yum install -y -q $missing
  else
    log "no apt-get, dnf or yum on this host: install$missing by hand"; return 1
  fi
}

# Writes stdin to $1 with mode $2 when the content differs; runs the checker $3 (if any) on the new
# content first, and the command $4 (if any) right before the new file moves into place. Prints
# changed or unchanged.
write_file() {
  dest=$1; mode=$2; checker=${3:-}; before_move=${4:-}
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp "$dest.XXXXXX")
  if ! cat >"$tmp"; then rm -f "$tmp"; return 1; fi
  chmod "$mode" "$tmp"
  # shellcheck disable=SC2086
  if [ -n "$checker" ] && ! $checker "$tmp" >&2; then
    rm -f "$tmp"; log "$dest: new content rejected by: $checker"; return 1
  fi
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"; chmod "$mode" "$dest"; echo unchanged; return 0
  fi
  # shellcheck disable=SC2086
  if [ -n "$before_move" ]; then $before_move; fi
  mv -f "$tmp" "$dest"; echo changed
}

# Keeps a distribution's file once as $1.k3s-ha.orig before we first replace it.
keep_original() {
  if [ -f "$1" ] && ! [ -e "$1.k3s-ha.orig" ] && ! grep -qF "$K3S_HA_MANAGED_HEADER" "$1"; then
    cp -p "$1" "$1.k3s-ha.orig"
  fi
}

# Removes a managed file and puts the distribution's original back if we kept one.
restore_file() {
  if [ -e "$1.k3s-ha.orig" ]; then mv -f "$1.k3s-ha.orig" "$1"; else rm -f "$1"; fi
}

# Polls $2 (a command) every 2 s until $1 seconds of wall time have passed (a slow probe counts);
# says what it waited for when it gives up.
wait_for() {
  limit=$1; what=$2; shift 2; deadline=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then log "gave up after ${limit}s waiting for $what"; return 1; fi
    sleep 2
  done
}

ping_ok() { [ "$(curl -ksS --max-time 3 "https://$1/ping" 2>/dev/null)" = pong ]; }

# Creates a file or directory other users cannot read (a 0600 marker or record).
private_marker() { mkdir -p "$K3S_HA_STATE_DIR"; (umask 077 && : >"$1"); }
