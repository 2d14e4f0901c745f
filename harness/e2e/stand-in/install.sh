#!/bin/sh
# K3s install script STAND-IN for the k3s-ha end-to-end lab. It is NOT get.k3s.io: it does, on a
# systemd host, what the real installer (k3s-io/k3s install.sh) does on every point the program
# relies on, each point naming the install.sh function that does it there. Where unsure it is
# stricter, and it refuses what it does not implement rather than doing something else:
#   INSTALL_K3S_VERSION (required to download: the mirror serves no release channel),
#   INSTALL_K3S_EXEC and the arguments, INSTALL_K3S_SKIP_DOWNLOAD, INSTALL_K3S_SKIP_ENABLE,
#   INSTALL_K3S_SKIP_START, INSTALL_K3S_FORCE_RESTART, K3S_URL, K3S_* (kept for the unit),
#   INSTALL_K3S_MIRROR (ignored, as the default, non-China installer ignores it), GITHUB_URL.
# It downloads the stand-in k3s from GITHUB_URL as the real one does (default GitHub's releases,
# here the lab mirror's copy of their layout), checked against the sha256 list served beside it,
# writes k3s-killall.sh, k3s[-agent]-uninstall.sh, the unit and its env file as install.sh does,
# enables the unit and (re)starts it only when something changed. Config comes from
# /etc/rancher/k3s/config.yaml, read by k3s. It keeps no record of its own: what it did is what
# it leaves on the host, as the real one.
set -eu
set -o noglob

# setup_env: GITHUB_URL from the environment, else GitHub's releases, for which the lab mirror
# stands in (the lab cannot reach github.com; a release of the program that passes no GITHUB_URL
# still installs).
GITHUB_URL=${GITHUB_URL:-@GITHUB_RELEASES@}
BIN_DIR=/usr/local/bin
SYSTEMD_DIR=/etc/systemd/system

info() { echo '[INFO] ' "$@"; }
fatal() {
  echo '[ERROR] ' "$@" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fatal "the stand-in installer must run as root (the real one would use sudo)"
for unsupported in INSTALL_K3S_NAME INSTALL_K3S_TYPE INSTALL_K3S_BIN_DIR INSTALL_K3S_BIN_DIR_READ_ONLY \
  INSTALL_K3S_SYSTEMD_DIR INSTALL_K3S_COMMIT INSTALL_K3S_PR INSTALL_K3S_SYMLINK INSTALL_K3S_CHANNEL \
  INSTALL_K3S_CHANNEL_URL; do
  eval "value=\${$unsupported:-}"
  [ -z "$value" ] || fatal "the stand-in installer does not implement $unsupported"
done

# verify_system: systemd or OpenRC, else refuse. The stand-in knows systemd only, and wants it
# running: the real one would pass with a systemctl binary alone and fail at daemon-reload.
if [ -x /sbin/openrc-run ]; then fatal "the stand-in installer implements systemd hosts only"; fi
if ! { [ -x /bin/systemctl ] || type systemctl >/dev/null 2>&1; }; then
  fatal 'Can not find systemd or openrc to use as a process supervisor for k3s'
fi
[ -d /run/systemd/system ] || fatal "systemctl is installed but systemd is not running on this host"

# The real installer evals INSTALL_K3S_EXEC (honouring quotes in it); the stand-in splits it on
# whitespace, so it refuses what the two would read differently.
case "${INSTALL_K3S_EXEC:-}" in
  *\'* | *\"* | *\\*) fatal "the stand-in installer does not implement quoting in INSTALL_K3S_EXEC" ;;
esac
# shellcheck disable=SC2086
set -- ${INSTALL_K3S_EXEC:-} "$@"

# setup_env: the first word names the command; with only flags it is agent when K3S_URL is set
# (which then needs K3S_TOKEN or K3S_TOKEN_FILE), else server.
case "${1:-}" in
  -* | "")
    if [ -z "${K3S_URL:-}" ]; then
      CMD=server
    else
      if [ -z "${K3S_TOKEN:-}" ] && [ -z "${K3S_TOKEN_FILE:-}" ]; then
        fatal "Defaulted k3s exec command to 'agent' because K3S_URL is defined, but K3S_TOKEN or K3S_TOKEN_FILE is not defined."
      fi
      CMD=agent
    fi
    ;;
  server | agent)
    CMD=$1
    shift
    ;;
  *) fatal "the stand-in implements the server and agent commands, not '$1'" ;;
esac
# verify_k3s_url
case "${K3S_URL:-}" in
  "" | https://*) ;;
  *) fatal "Only https:// URLs are supported for K3S_URL (have ${K3S_URL})" ;;
esac
if [ "$CMD" = server ]; then SYSTEM_NAME=k3s; else SYSTEM_NAME=k3s-$CMD; fi
FILE_K3S_SERVICE=$SYSTEMD_DIR/$SYSTEM_NAME.service
FILE_K3S_ENV=$SYSTEMD_DIR/$SYSTEM_NAME.service.env
UNINSTALL_K3S_SH=$BIN_DIR/$SYSTEM_NAME-uninstall.sh
KILLALL_K3S_SH=$BIN_DIR/k3s-killall.sh

# get_installed_hashes: binary, unit and env file as they were before this run (a missing file
# hashes as sha256sum's error line), compared again before any start.
installed_hashes() { sha256sum "$BIN_DIR/k3s" "$FILE_K3S_SERVICE" "$FILE_K3S_ENV" 2>&1 || true; }
PRE_INSTALL_HASHES=$(installed_hashes)

# download_and_verify: with INSTALL_K3S_SKIP_DOWNLOAD=true the binary present is used and must
# be executable; else the hash list first, the binary only when the installed one differs.
if [ "${INSTALL_K3S_SKIP_DOWNLOAD:-}" = true ] || [ "${INSTALL_K3S_SKIP_DOWNLOAD:-}" = binary ]; then
  info 'Skipping k3s download and verify'
  [ -x "$BIN_DIR/k3s" ] || fatal "Executable k3s binary not found at $BIN_DIR/k3s"
else
  VERSION=${INSTALL_K3S_VERSION:-}
  [ -n "$VERSION" ] || fatal "the stand-in needs INSTALL_K3S_VERSION (the lab mirror serves no release channel)"
  TMP_DIR=$(mktemp -d -t k3s-install.XXXXXXXXXX)
  trap 'rm -rf "$TMP_DIR"' EXIT
  # download_hash, download_binary: ${GITHUB_URL}/download/${VERSION_K3S}/, the version as given
  # ('+' and all), sha256sum-amd64.txt and k3s (amd64: no suffix).
  base="$GITHUB_URL/download/$VERSION"
  info "Using $VERSION as release"
  info "Downloading hash $base/sha256sum-amd64.txt"
  curl -sfL -o "$TMP_DIR/k3s.hash" "$base/sha256sum-amd64.txt" || fatal 'Download failed'
  expected=$(awk '$2 == "k3s" {print $1}' "$TMP_DIR/k3s.hash")
  installed=""
  if [ -x "$BIN_DIR/k3s" ]; then installed=$(sha256sum "$BIN_DIR/k3s" | awk '{print $1}'); fi
  if [ -n "$expected" ] && [ "$installed" = "$expected" ]; then
    info 'Skipping binary downloaded, installed k3s matches hash'
  else
    info "Downloading binary $base/k3s"
    curl -sfL -o "$TMP_DIR/k3s.bin" "$base/k3s" || fatal 'Download failed'
    info 'Verifying binary download'
    actual=$(sha256sum "$TMP_DIR/k3s.bin" | awk '{print $1}')
    if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
      fatal "Download sha256 does not match $expected, got $actual"
    fi
    chmod 755 "$TMP_DIR/k3s.bin"
    info "Installing k3s to $BIN_DIR/k3s"
    chown root:root "$TMP_DIR/k3s.bin"
    mv -f "$TMP_DIR/k3s.bin" "$BIN_DIR/k3s"
  fi
fi
mkdir -p /etc/rancher/k3s /var/lib/rancher/k3s

# create_symlinks: kubectl, crictl and ctr to k3s, unless present or another one is in PATH.
for cmd in kubectl crictl ctr; do
  if [ ! -e "$BIN_DIR/$cmd" ] && ! command -v "$cmd" >/dev/null 2>&1; then
    info "Creating $BIN_DIR/$cmd symlink to k3s"
    ln -sf k3s "$BIN_DIR/$cmd"
  fi
done

# create_killall: stops every K3s unit (and init script) on the host. The real one then kills
# containerd shims and removes mounts, CNI interfaces and iptables rules; the stand-in has none.
info "Creating killall script $KILLALL_K3S_SH"
cat >"$KILLALL_K3S_SH" <<EOF
#!/bin/sh
[ \$(id -u) -eq 0 ] || exec sudo \$0 "\$@"
set -x
for service in $SYSTEMD_DIR/k3s*.service; do
    [ -s \$service ] && systemctl stop \$(basename \$service)
done
for service in /etc/init.d/k3s*; do
    [ -x \$service ] && \$service stop
done
# (the real one goes on to its mounts, interfaces and iptables; nothing of those here)
true
EOF
chmod 755 "$KILLALL_K3S_SH"
chown root:root "$KILLALL_K3S_SH"

# create_uninstall: killall, then the unit disabled and removed with its env file; the binary
# and data only when no other K3s unit is left.
info "Creating uninstall script $UNINSTALL_K3S_SH"
cat >"$UNINSTALL_K3S_SH" <<EOF
#!/bin/sh
set -x
[ \$(id -u) -eq 0 ] || exec sudo \$0 "\$@"

$KILLALL_K3S_SH

if command -v systemctl; then
    systemctl disable $SYSTEM_NAME
    systemctl reset-failed $SYSTEM_NAME
    systemctl daemon-reload
fi
if command -v rc-update; then
    rc-update delete $SYSTEM_NAME default
fi

rm -f $FILE_K3S_SERVICE
rm -f $FILE_K3S_ENV

remove_uninstall() {
    rm -f $UNINSTALL_K3S_SH
}
trap remove_uninstall EXIT

if (ls $SYSTEMD_DIR/k3s*.service || ls /etc/init.d/k3s*) >/dev/null 2>&1; then
    set +x; echo 'Additional k3s services installed, skipping uninstall of k3s'; set -x
    exit
fi

for cmd in kubectl crictl ctr; do
    if [ -L $BIN_DIR/\$cmd ]; then
        rm -f $BIN_DIR/\$cmd
    fi
done

rm -rf /etc/rancher/k3s
rm -rf /run/k3s
rm -rf /run/flannel
rm -rf /var/lib/rancher/k3s
rm -rf /var/lib/kubelet
rm -f $BIN_DIR/k3s
rm -f $KILLALL_K3S_SH
EOF
chmod 755 "$UNINSTALL_K3S_SH"
chown root:root "$UNINSTALL_K3S_SH"

# systemd_disable: the unit disabled, it and its env file removed, before both are written again.
systemctl disable "$SYSTEM_NAME" >/dev/null 2>&1 || true
rm -f "$FILE_K3S_SERVICE" "$FILE_K3S_ENV"

# create_env_file: the K3S_* and CONTAINERD_* variables of the installer's environment (and the
# proxy settings), mode 0600, for the unit's EnvironmentFile.
info "env: Creating environment file $FILE_K3S_ENV"
touch "$FILE_K3S_ENV"
chmod 0600 "$FILE_K3S_ENV"
sh -c export | sed -n 's/^export //p' | grep -E '^(K3S|CONTAINERD)_' >"$FILE_K3S_ENV" || true
sh -c export | sed -n 's/^export //p' | grep -Ei '^(NO|HTTP|HTTPS)_PROXY' >>"$FILE_K3S_ENV" || true

# create_systemd_service_file: the unit as install.sh writes it. Type=notify: `systemctl start`
# returns once K3s reports READY=1, and with TimeoutStartSec=0 it waits for ever until then.
# ExecStart: the command, then each argument single-quoted on a line of its own.
quote() { printf '%s\n' "$1" | sed "s/'/'\\\\''/g;1s/^/'/;\$s/\$/'/"; }
CMD_K3S_EXEC="$CMD \\"
for arg in "$@"; do
  CMD_K3S_EXEC="$CMD_K3S_EXEC
	$(quote "$arg") \\"
done
info "systemd: Creating service file $FILE_K3S_SERVICE"
cat >"$FILE_K3S_SERVICE" <<EOF
[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-$FILE_K3S_ENV
KillMode=process
Delegate=yes
User=root
# Having non-zero Limit*s causes performance problems due to accounting overhead
# in the kernel. We recommend using cgroups to do container-local accounting.
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=$BIN_DIR/k3s \\
    $CMD_K3S_EXEC

EOF

# service_enable_and_start: enable and daemon-reload (unless INSTALL_K3S_SKIP_ENABLE), then no
# start with INSTALL_K3S_SKIP_START; else a restart only when the binary, the unit or the env file
# changed since this run began, or with INSTALL_K3S_FORCE_RESTART=true. A stopped K3s whose files
# did not change stays stopped.
[ "${INSTALL_K3S_SKIP_ENABLE:-}" = true ] && exit 0
info "systemd: Enabling $SYSTEM_NAME unit"
systemctl enable "$FILE_K3S_SERVICE" >/dev/null
systemctl daemon-reload >/dev/null
[ "${INSTALL_K3S_SKIP_START:-}" = true ] && exit 0
POST_INSTALL_HASHES=$(installed_hashes)
if [ "$PRE_INSTALL_HASHES" = "$POST_INSTALL_HASHES" ] && [ "${INSTALL_K3S_FORCE_RESTART:-}" != true ]; then
  info 'No change detected so skipping service start'
  exit 0
fi
info "systemd: Starting $SYSTEM_NAME"
systemctl restart "$SYSTEM_NAME"
