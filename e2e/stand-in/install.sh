#!/bin/sh
# K3s install script STAND-IN for the k3s-ha end-to-end lab. It is NOT get.k3s.io: it implements
# the part of the real installer's interface that the program uses, on hosts without systemd:
#   INSTALL_K3S_VERSION (required: the mirror serves no release channel), INSTALL_K3S_EXEC
#   ("server ..." / "agent ..."), INSTALL_K3S_SKIP_DOWNLOAD, INSTALL_K3S_SKIP_START,
#   INSTALL_K3S_MIRROR (recorded only), K3S_URL (selects agent when no command is given).
# It downloads the stand-in k3s from the lab mirror, checks it against the mirror's sha256 list,
# installs k3s-killall.sh and k3s-uninstall.sh / k3s-agent-uninstall.sh, an /etc/init.d service
# script, and (re)starts the service. Config comes from /etc/rancher/k3s/config.yaml, read by k3s.
# An upgrade replaces the binary and restarts the service, as the real installer does. Every
# install, uninstall and killall is recorded in /var/lib/k3s-stand-in-log (see events.ts).
set -eu

MIRROR_URL='@MIRROR_URL@'
BIN_DIR=/usr/local/bin
# The stand-in's history on this host; the uninstall script never removes it.
LOG_DIR=/var/lib/k3s-stand-in-log

info() { echo "[INFO]  $*"; }
fatal() {
  echo "[ERROR] $*" >&2
  exit 1
}
# Single-quotes one word for sh.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

[ "$(id -u)" = 0 ] || fatal "the installer must run as root"
VERSION=${INSTALL_K3S_VERSION:-}
[ -n "$VERSION" ] || fatal "the stand-in needs INSTALL_K3S_VERSION (it serves no release channel)"

# As the real installer: the first word of INSTALL_K3S_EXEC (or of the arguments) names the command.
# shellcheck disable=SC2086
set -- ${INSTALL_K3S_EXEC:-} "$@"
case "${1:-}" in
  server | agent)
    CMD=$1
    shift
    ;;
  *) if [ -n "${K3S_URL:-}" ]; then CMD=agent; else CMD=server; fi ;;
esac
if [ "$CMD" = server ]; then NAME=k3s; else NAME=k3s-agent; fi

if [ "${INSTALL_K3S_SKIP_DOWNLOAD:-false}" != true ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  base="$MIRROR_URL/k3s/$VERSION"
  info "Downloading stand-in k3s $VERSION from $base"
  curl -sfL -o "$tmp/k3s" "$base/k3s" || fatal "download of $base/k3s failed"
  curl -sfL -o "$tmp/sha256sum.txt" "$base/sha256sum-amd64.txt" || fatal "download of the hash list failed"
  expected=$(awk '$2 == "k3s" {print $1}' "$tmp/sha256sum.txt")
  actual=$(sha256sum "$tmp/k3s" | awk '{print $1}')
  if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
    fatal "k3s from $base has sha256 $actual, expected $expected"
  fi
  chmod 755 "$tmp/k3s"
  mv -f "$tmp/k3s" "$BIN_DIR/k3s"
fi
[ -x "$BIN_DIR/k3s" ] || fatal "$BIN_DIR/k3s is missing (INSTALL_K3S_SKIP_DOWNLOAD without a binary)"
mkdir -p /etc/rancher/k3s /var/lib/rancher/k3s
"$BIN_DIR/k3s" stand-in-record-install "$CMD" "$@"
[ -e "$BIN_DIR/kubectl" ] || ln -s k3s "$BIN_DIR/kubectl"

info "Creating killall script $BIN_DIR/k3s-killall.sh"
cat >"$BIN_DIR/k3s-killall.sh" <<'EOF'
#!/bin/sh
# Stand-in: stops every K3s stand-in service on this host.
[ "$(id -u)" = 0 ] || exec sudo "$0" "$@"
# The stand-in's history (kept across uninstalls): this run of killall.
(
  umask 077
  mkdir -p /var/lib/k3s-stand-in-log && chmod 700 /var/lib/k3s-stand-in-log
  printf '{"at":"%s","kind":"killall","script":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$0" >>/var/lib/k3s-stand-in-log/events.jsonl
)
for service in /etc/init.d/k3s /etc/init.d/k3s-agent; do
  if [ -x "$service" ]; then "$service" stop; fi
done
EOF
chmod 755 "$BIN_DIR/k3s-killall.sh"

if [ "$CMD" = server ]; then UNINSTALL=k3s-uninstall.sh; else UNINSTALL=k3s-agent-uninstall.sh; fi
info "Creating uninstall script $BIN_DIR/$UNINSTALL"
cat >"$BIN_DIR/$UNINSTALL" <<EOF
#!/bin/sh
# Stand-in: removes the $NAME service; the binary and data go when no other K3s service is left.
set -x
[ "\$(id -u)" = 0 ] || exec sudo "\$0" "\$@"
# The stand-in's history (kept across uninstalls): this run of the uninstall script.
(
  umask 077
  mkdir -p $LOG_DIR && chmod 700 $LOG_DIR
  running=false
  if /etc/init.d/$NAME status >/dev/null 2>&1; then running=true; fi
  binary=\$($BIN_DIR/k3s --version 2>/dev/null | awk 'NR==1 {print \$3}')
  printf '{"at":"%s","kind":"uninstall","script":"%s","service":"$NAME","wasRunning":%s,"binaryVersion":"%s"}\\n' \\
    "\$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "\$0" "\$running" "\$binary" >>$LOG_DIR/events.jsonl
)
/etc/init.d/$NAME stop || true
rm -f /etc/init.d/$NAME /run/$NAME.pid /run/k3s-stand-in/$NAME.ready /run/k3s-stand-in/$NAME.json
if ls /etc/init.d/k3s* >/dev/null 2>&1; then
  set +x
  echo "Additional k3s services installed, skipping uninstall of k3s"
  rm -f "\$0"
  exit 0
fi
rm -rf /etc/rancher/k3s /var/lib/rancher/k3s /run/k3s-stand-in
rm -f $BIN_DIR/k3s $BIN_DIR/kubectl $BIN_DIR/k3s-killall.sh
rm -f "\$0"
EOF
chmod 755 "$BIN_DIR/$UNINSTALL"

ARGS=$(quote "$CMD")
for arg in "$@"; do ARGS="$ARGS $(quote "$arg")"; done
info "Creating service script /etc/init.d/$NAME"
cat >"/etc/init.d/$NAME" <<EOF
#!/bin/sh
### BEGIN INIT INFO
# Provides:          $NAME
# Required-Start:    \$network \$remote_fs
# Required-Stop:     \$network \$remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: K3s stand-in ($CMD) for the k3s-ha end-to-end lab
### END INIT INFO
NAME=$NAME
DAEMON=$BIN_DIR/k3s
PIDFILE=/run/\$NAME.pid
READY=/run/k3s-stand-in/\$NAME.ready
LOG=/var/lib/rancher/k3s/\$NAME.log
ACTION=\${1:-}
set -- $ARGS

running() { start-stop-daemon --status --pidfile "\$PIDFILE"; }

do_start() {
  if running; then echo "\$NAME is already running"; return 0; fi
  mkdir -p /run/k3s-stand-in /var/lib/rancher/k3s
  rm -f "\$READY" "/run/k3s-stand-in/\$NAME.json"
  start-stop-daemon --start --background --make-pidfile --pidfile "\$PIDFILE" \\
    --output "\$LOG" --startas "\$DAEMON" -- "\$@"
  # Like systemd's Type=notify unit: start returns once K3s reports ready, or fails.
  tenths=0
  while [ ! -e "\$READY" ]; do
    if ! running; then
      echo "\$NAME failed to start:" >&2
      tail -n 20 "\$LOG" >&2
      return 1
    fi
    if [ "\$tenths" -ge 600 ]; then echo "\$NAME did not report ready within 60 s" >&2; return 1; fi
    sleep 0.1
    tenths=\$((tenths + 1))
  done
  echo "\$NAME started"
}

do_stop() {
  start-stop-daemon --stop --oknodo --quiet --pidfile "\$PIDFILE" --retry TERM/10/KILL/5 --remove-pidfile
  rm -f "\$READY" "/run/k3s-stand-in/\$NAME.json"
}

case "\$ACTION" in
  start) do_start "\$@" ;;
  stop) do_stop ;;
  restart) do_stop && do_start "\$@" ;;
  status)
    if running; then echo "\$NAME is running"; else echo "\$NAME is not running"; exit 3; fi
    ;;
  *)
    echo "Usage: /etc/init.d/\$NAME {start|stop|restart|status}" >&2
    exit 2
    ;;
esac
EOF
chmod 755 "/etc/init.d/$NAME"

if [ "${INSTALL_K3S_SKIP_START:-false}" = true ]; then
  info "Skipping $NAME start (INSTALL_K3S_SKIP_START)"
  exit 0
fi
info "Starting $NAME"
service "$NAME" restart
