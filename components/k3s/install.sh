#!/bin/sh
# Installs or upgrades to the pinned K3s version, re-runs the installer when the extra arguments
# changed, and restarts K3s when it is not running, when a config or token step left a marker, or
# when the last restart did not end ready; else changes nothing. Refuses a downgrade (and, on a
# server, skipping a minor version) before touching anything. A server first checks that every
# other etcd member is Ready (restarting now must not cost quorum) and, when asked, drains itself
# before an upgrade; it ends only when it answers /ping, /readyz and /readyz/etcd and its node is
# Ready, running the pinned version.
#
# The installer never starts K3s itself (INSTALL_K3S_SKIP_START): it skips the restart when the
# binary, unit and env file it hashes did not change (install.sh service_enable_and_start), which
# an air-gap binary copied beforehand defeats, and its systemd unit (Type=notify,
# TimeoutStartSec=0) makes `systemctl restart` wait forever for a K3s that never gets ready. This
# script restarts K3s under `timeout` (svc_restart_bounded) and bounds every other wait.
#
# Parameters: role (server|agent); version; exec (INSTALL_K3S_EXEC: the role and the extra
# arguments); node (the Kubernetes node name); drain_timeout (servers: drain within this many
# seconds before an upgrade, "" for no drain); secret_config (true when the stack has a secret
# config fragment); registries (true when the stack has registries); proxy_set (true when the stack
# has a proxy) with proxy_http, proxy_https and proxy_none ("" when unset); airgap (true: install
# from the verified air-gap files) with images_file (the images tarball's name, "" for none); else
# install_script_url, install_script_sha256 ("" for no check), install_mirror ("" for none) and
# releases_url (the installer's GITHUB_URL, "" for its default).
: "${role:?}" "${version:?}" "${exec:?}" "${node:?}" "${airgap:?}" "${secret_config:?}" "${registries:?}" "${proxy_set:?}"
: "${drain_timeout?}" "${images_file?}" "${install_script_url?}" "${install_script_sha256?}" "${install_mirror?}" "${releases_url?}"
: "${proxy_http?}" "${proxy_https?}" "${proxy_none?}"

ready_timeout=300
if [ "$role" = server ]; then service=k3s; else service=k3s-agent; fi
marker=$(restart_marker "$service")
# What the install step last saw running and ready: version and arguments. Written only once K3s
# answered ready, so a run cut between the install and the restart (or a restart that failed)
# leaves it stale, and the next run restarts K3s again.
state=$K3S_HA_STATE_DIR/installed-$service
want="$version $exec"
installed=$(installed_version) || installed=""
refuse_downgrade "$node" "$installed" "$version"
if [ "$role" = server ]; then refuse_minor_skip "$node" "$installed" "$version"; fi
# A secret config fragment the stack no longer has: its step's delete would run only at the end of
# the run, after this step, so this step removes it and restarts K3s in order.
secret_fragment=/etc/rancher/k3s/config.yaml.d/90-k3s-ha-secret.yaml
if [ "$secret_config" != true ] && [ -e "$secret_fragment" ]; then
  state_touch "$marker"; rm -f "$secret_fragment"
  log "$service: $secret_fragment is no longer configured; removed, $service restarts"
fi
# registries.yaml the stack no longer has, when the program wrote it (its header): removed here, in
# order, for the same reason.
registries_file=/etc/rancher/k3s/registries.yaml
if [ "$registries" != true ] && [ -e "$registries_file" ] && [ "$(head -n 1 "$registries_file")" = "$K3S_HA_MANAGED_HEADER" ]; then
  state_touch "$marker"; rm -f "$registries_file"
  log "$service: $registries_file is no longer configured; removed, $service restarts"
fi
# The proxy the installer last wrote into the service's env file (install.sh create_env_file copies
# the proxy variables of its environment there); the installer runs again when it changed.
proxy_state=$K3S_HA_STATE_DIR/installed-$service-proxy
proxy_want=""
if [ "$proxy_set" = true ]; then proxy_want="HTTP_PROXY=$proxy_http HTTPS_PROXY=$proxy_https NO_PROXY=$proxy_none"; fi
proxy_recorded=$(cat "$proxy_state" 2>/dev/null) || proxy_recorded=""
recorded=$(cat "$state" 2>/dev/null) || recorded=""
running=false
if svc_running "$service"; then running=true; fi
# A host installed and running before the program kept this record counts as started with these
# arguments.
if [ -z "$recorded" ] && [ "$installed" = "$version" ] && [ "$running" = true ]; then recorded=$want; fi
# The installer runs for a new binary or new arguments; K3s restarts for those, for a stopped
# service, for a changed config or token (the marker), and when the last restart did not end
# ready (the record is older than what is wanted).
reinstall=false
if [ "$installed" != "$version" ] || [ "${recorded#* }" != "$exec" ]; then reinstall=true; fi
if [ "$proxy_want" != "$proxy_recorded" ]; then reinstall=true; fi
restart=$reinstall
if [ "$running" != true ] || [ -e "$marker" ] || [ "$recorded" != "$want" ]; then restart=true; fi
if [ "$restart" = true ] && [ "$running" = true ] && [ "$role" = server ]; then
  wait_for 120 "every other etcd member to be Ready" etcd_others_ready "$node" || {
    log "refusing to restart K3s on $node: etcd member(s) $(etcd_not_ready) not Ready, and restarting this one too could lose quorum"; exit 1; }
fi
if [ "$reinstall" = true ]; then
  if [ -z "$installed" ]; then
    log "installing K3s $version on $node"
  elif [ "$installed" = "$version" ] && [ "$proxy_want" != "$proxy_recorded" ]; then
    log "re-running the K3s installer on $node for its changed proxy settings"
  elif [ "$installed" = "$version" ]; then
    log "re-running the K3s installer on $node for its changed arguments"
  else
    log "upgrading K3s on $node from $installed to $version"
  fi
  if [ -n "$drain_timeout" ] && [ -n "$installed" ] && [ "$installed" != "$version" ] && [ "$running" = true ]; then
    drain_for_upgrade "$node" "$version" "$drain_timeout" || exit 1
  fi
  # A subshell: with a proxy in the stack (now or before), the download and the installer see
  # exactly the stack's (the installer writes it into the env file, and a removed one leaves it);
  # the local checks after it do not.
  (
  if [ -n "$proxy_want" ] || [ -n "$proxy_recorded" ]; then
    unset HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy
    if [ -n "$proxy_http" ]; then export HTTP_PROXY="$proxy_http" http_proxy="$proxy_http"; fi
    if [ -n "$proxy_https" ]; then export HTTPS_PROXY="$proxy_https" https_proxy="$proxy_https"; fi
    if [ -n "$proxy_none" ]; then export NO_PROXY="$proxy_none" no_proxy="$proxy_none"; fi
  fi
  if [ "$airgap" = true ]; then
    # The verified binary and images go in place; the verified installer runs without download. An
    # images tarball the program put there for an earlier release goes: K3s imports every tarball
    # in that dir at each start (the K3s air-gap docs: delete the old one on an upgrade).
    verified=$K3S_HA_STATE_DIR/airgap
    images_dir=/var/lib/rancher/k3s/agent/images
    images_record=$K3S_HA_STATE_DIR/airgap-images-installed
    staged=$("$verified/k3s" --version 2>/dev/null | awk 'NR==1 {print $3}') || staged=""
    if [ "$staged" != "$version" ]; then
      log "the verified air-gap K3s binary is ${staged:-unreadable}, but k3sVersion is $version: point airgap.k3sBinary at the $version binary"; exit 1
    fi
    install -m 0755 "$verified/k3s" /usr/local/bin/k3s
    previous=$(cat "$images_record" 2>/dev/null) || previous=""
    if [ -n "$previous" ] && [ "$previous" != "$images_file" ]; then
      rm -f "$images_dir/$previous"; log "removed the earlier images tarball $previous"
    fi
    if [ -n "$images_file" ]; then
      mkdir -p "$images_dir"
      install -m 0644 "$verified/$images_file" "$images_dir/$images_file"
      printf '%s\n' "$images_file" | state_write "$images_record"
    else
      rm -f "$images_record"
    fi
    INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_SKIP_START=true INSTALL_K3S_VERSION="$version" INSTALL_K3S_EXEC="$exec" sh "$verified/install.sh" >&2
  else
    ensure_packages curl=curl
    installer=$(mktemp); trap 'rm -f "$installer"' EXIT
    # Redirects may only lead to https: an https URL must not fall back to plain http.
    curl -sfL --proto-redir =https --retry 5 --retry-delay 2 -o "$installer" "$install_script_url"
    if [ -n "$install_script_sha256" ]; then
      echo "$install_script_sha256  $installer" | sha256sum -c - >/dev/null 2>&1 || {
        log "install script from $install_script_url does not match installScriptSha256"; exit 1; }
    fi
    if [ -n "$install_mirror" ]; then export INSTALL_K3S_MIRROR="$install_mirror"; fi
    if [ -n "$releases_url" ]; then export GITHUB_URL="$releases_url"; fi
    INSTALL_K3S_SKIP_START=true INSTALL_K3S_VERSION="$version" INSTALL_K3S_EXEC="$exec" sh "$installer" >&2
  fi
  )
fi
if [ "$restart" = true ]; then
  svc_restart_bounded "$service" "$ready_timeout" || { log "$(svc_failure_hint "$service")"; exit 1; }
  log "$service: restarted"
else
  log "k3s $version already installed and running"
fi
wait_for "$ready_timeout" "service $service to report ready" svc_running "$service" || { log "$(svc_failure_hint "$service")"; exit 1; }
if [ "$role" = server ]; then
  wait_for "$ready_timeout" "K3s to answer /ping on 127.0.0.1:6443" ping_ok 127.0.0.1:6443
  wait_for "$ready_timeout" "the apiserver to report /readyz" kube get --raw=/readyz
  wait_for "$ready_timeout" "etcd to report healthy (/readyz/etcd)" kube get --raw=/readyz/etcd
  wait_for "$ready_timeout" "node $node to be Ready" node_ready "$node"
  wait_for "$ready_timeout" "node $node to run $version (its kubeletVersion)" node_runs "$node" "$version" || {
    log "node $node runs $(node_version "$node") after the restart, not $version: the upgrade did not take"; exit 1; }
  uncordon_if_drained "$node"
  log "k3s server $node ready, running $version"
fi
printf '%s\n' "$want" | state_write "$state"
if [ -n "$proxy_want" ]; then printf '%s\n' "$proxy_want" | state_write "$proxy_state"; else rm -f "$proxy_state"; fi
rm -f "$marker"
