/** Scripts that put the load-balancer tier's files on a host and apply them. Pure. */
import { K3S_API_PORT } from "../config/types";
import { VRRP_NICE } from "./haproxy-pair/keepalivedConf";
import { hostPort } from "../k3s/configYaml";
import { K3S_HA_STATE_DIR, MANAGED_HEADER, script, shQuote } from "../host/script";

export const HAPROXY_CFG_PATH = "/etc/haproxy/haproxy.cfg";
export const KEEPALIVED_CONF_PATH = "/etc/keepalived/keepalived.conf";
export const NGINX_CONF_PATH = "/etc/nginx/nginx.conf";
/** The Nginx container in Docker mode, and where its config is kept on the host. */
export const NGINX_CONTAINER_NAME = "lb-nginx";
export const NGINX_DOCKER_CONF_PATH = "/etc/k3s-ha/nginx.conf";

export type LbTier = "haproxy" | "nginx" | "nginx-docker";

/**
 * Stops the other load-balancer kinds the program set up on this host. On a switch (haproxy ↔
 * nginx, native ↔ docker) Pulumi creates the new tier's steps first and deletes the old tier's at
 * the end of the run; both listen on :6443, so the new one stops the old daemons before it binds.
 * Stopping KeepAlived first hands the VIP to the peer at once. The old steps' deletes then restore
 * the distribution's files.
 */
function retireOtherTiers(tier: LbTier): string {
  const portFree = `port_free() { [ -z "$(ss -Hltn "sport = :$1")" ]; }`;
  const managed = (file: string) => `[ -f ${file} ] && grep -qF '${MANAGED_HEADER}' ${file}`;
  const retire = (service: string, file: string) =>
    `if ${managed(file)} && have ${service} && svc_running ${service}; then
  svc stop ${service}; svc_disable ${service}; log "${service}: stopped: this host's load balancer is now ${tier}"
fi`;
  const parts: string[] = [portFree];
  if (tier !== "haproxy") {
    parts.push(retire("keepalived", KEEPALIVED_CONF_PATH), retire("haproxy", HAPROXY_CFG_PATH));
  }
  if (tier !== "nginx") {
    // A graceful quit closes Nginx's listeners at once and lets open tunnels drain in the
    // background (worker_shutdown_timeout), where `stop` waits for them (Debian: 5 s) with the
    // port closed.
    parts.push(`if ${managed(NGINX_CONF_PATH)} && have nginx && svc_running nginx; then
  nginx -s quit; svc_disable nginx; log "nginx: quit gracefully: this host's load balancer is now ${tier}"
  # Nginx closes its listener within moments of the signal; the new proxy binds once it has.
  if have ss; then
    tries=0
    until port_free ${K3S_API_PORT} || [ "$tries" -ge 50 ]; do sleep 0.2; tries=$((tries + 1)); done
  else sleep 2; fi
fi`);
  }
  if (tier !== "nginx-docker") {
    parts.push(`if have docker && [ "$(docker container inspect -f '{{.State.Running}}' ${NGINX_CONTAINER_NAME} 2>/dev/null)" = true ]; then
  docker stop ${NGINX_CONTAINER_NAME} >/dev/null; log "${NGINX_CONTAINER_NAME}: stopped: this host's load balancer is now ${tier}"
fi`);
  }
  return parts.join("\n");
}

/** Package probes: a command or file each package provides, for ensure_packages. */
const HAPROXY_PACKAGES = ["haproxy=haproxy", "curl=curl"];
const KEEPALIVED_PACKAGES = ["keepalived=keepalived", "curl=curl"];
// Debian and Ubuntu ship the stream module as a dynamic module in its own package.
const NGINX_PACKAGES = [
  "nginx=nginx",
  "/usr/lib/nginx/modules/ngx_stream_module.so=libnginx-mod-stream",
];

/**
 * The LB host that changes before this one (lb-1, for lb-2). This host's steps run after all of
 * its steps, and first check that it serves on its own address (never the VIP, which may be on
 * this host): a new config that lb-1 refused or does not serve with stops the run before a second
 * host takes it, so the VIP keeps a working holder.
 */
export interface LbPeerFirst {
  /** Its name, as the error shows it. */
  name: string;
  /** Its own address (IPv4 or IPv6), where its proxy listens on K3S_API_PORT. */
  address: string;
  /**
   * The K3s servers' addresses, for the step that changes the backends (haproxy.cfg): once one
   * answers /ping directly, /ping through the peer must answer too. Omitted in the other steps,
   * so that a changed server list re-runs only the step whose file it changes.
   */
  servers?: string[];
}

/**
 * Bounded: 5 s to connect, up to 3 s per server, then about 10 s of retries (each up to 3 s) for
 * /ping through the peer. A TCP connect proves the peer's proxy listens (with no server up yet, as
 * on a fresh cluster, that is all there is to see); with `servers`, once one of them answers /ping
 * from here, /ping through the peer must answer too, else its new backend list does not serve.
 */
export function peerServesFirst(peer: LbPeerFirst | undefined): string {
  if (!peer) return "";
  const at = hostPort(peer.address, K3S_API_PORT);
  const servers = (peer.servers ?? []).map((s) => shQuote(hostPort(s, K3S_API_PORT)));
  return `
# ${peer.name} changes first: this host changes only once ${peer.name} serves on its own address.
peer_serves_first() {
  peer=$1; at=$2; shift 2
  ensure_packages curl=curl
  # A TLS error after the connect (no server behind the proxy yet) still counts: the proxy listens.
  probe=$(curl --noproxy '*' -ksS -o /dev/null --connect-timeout 3 --max-time 5 -w '\nconnects=%{num_connects}\n' "https://$at/" 2>&1) || true
  case \${probe##*connects=} in
    0|'')
      why=$(printf '%s\n' "$probe" | grep -v '^connects=' | tr -s '\n' ' ')
      log "$peer ($at) does not answer on its own address: \${why% }; this host is left unchanged until $peer serves (fix $peer, then run again)"
      return 1 ;;
  esac
  for server in "$@"; do
    ping_ok "$server" || continue
    if wait_for 10 "/ping through $peer ($at)" ping_ok "$at"; then
      log "$peer ($at) serves: /ping through it answers"; return 0
    fi
    log "$peer ($at) accepts connections but passes no /ping to a K3s server, while $server answers it directly: $peer's new configuration does not serve; this host is left unchanged"
    return 1
  done
  if [ $# -gt 0 ]; then log "$peer ($at) accepts connections (no K3s server answers /ping yet)"
  else log "$peer ($at) accepts connections"; fi
}
peer_serves_first ${[shQuote(peer.name), shQuote(at), ...servers].join(" ")}
`;
}

/** Writes haproxy.cfg (checked by `haproxy -c` first) and reloads HAProxy, never restarts it. */
export function applyHaproxyCfgScript(after?: LbPeerFirst): string {
  return script(`${peerServesFirst(after)}
ensure_packages ${HAPROXY_PACKAGES.join(" ")}
mkdir -p /run/haproxy
keep_original ${HAPROXY_CFG_PATH}
changed=$(write_file ${HAPROXY_CFG_PATH} 0644 "haproxy -c -q -f" "mark_reload haproxy")
${retireOtherTiers("haproxy")}
svc_apply haproxy "$changed"`);
}

export function removeHaproxyCfgScript(): string {
  return script(`
if have haproxy; then svc stop haproxy || true; svc_disable haproxy; fi
rm -f "$(reload_pending haproxy)"
restore_file ${HAPROXY_CFG_PATH}`);
}

/** Marks a user the program created, so that its delete removes that user and no other. */
function createdUserMarker(user: string): string {
  return `${K3S_HA_STATE_DIR}/created-user-${user}`;
}

/**
 * Installs KeepAlived's check script root-owned and not writable by others
 * (enable_script_security), and the unprivileged system user it runs as (script_user), created
 * once; keepalived -t in the config step then checks that this user can execute the script.
 */
export function installCheckScriptScript(path: string, user: string, after?: LbPeerFirst): string {
  const u = shQuote(user);
  return script(`${peerServesFirst(after)}
ensure_packages ${KEEPALIVED_PACKAGES.join(" ")}
if ! id -u ${u} >/dev/null 2>&1; then
  have useradd || { log "useradd is missing: it creates the user ${user} KeepAlived's check runs as"; exit 1; }
  useradd --system --user-group --no-create-home --no-log-init --home-dir /nonexistent --shell /usr/sbin/nologin ${u}
  mkdir -p '${K3S_HA_STATE_DIR}'
  (umask 077 && : >'${createdUserMarker(user)}')
  log "created the system user ${user}: KeepAlived's check runs as it"
fi
write_file ${shQuote(path)} 0755 >/dev/null
chown root:root ${shQuote(path)}`);
}

/** Removes the script, and the user only if this program created it (an admin's stays). */
export function removeCheckScriptScript(path: string, user: string): string {
  const marker = createdUserMarker(user);
  return script(`
rm -f ${shQuote(path)}
if [ -e '${marker}' ]; then
  if id -u ${shQuote(user)} >/dev/null 2>&1; then userdel ${shQuote(user)} || log "${user}: not removed (userdel failed)"; fi
  rm -f '${marker}'
fi`);
}

/** `keepalived -t -f <file>`, run again in a PID namespace when 2.2.5-2.2.7 kill it (below). */
export const KEEPALIVED_TEST_FUNCTION = `keepalived_test() {
  # Output and status captured together, so that the shell's "Terminated" is not reported.
  kt_out=$( { keepalived -t -f "$1" && echo kt_status=0 || echo "kt_status=$?"; } 2>&1 )
  kt_status=\${kt_out##*kt_status=}
  kt_out=\${kt_out%kt_status=*}
  if [ "$kt_status" -eq 143 ] && have unshare; then
    unshare --pid --fork --kill-child keepalived -t -f "$1"; return
  fi
  printf '%s' "$kt_out" >&2
  return "$kt_status"
}`;

/** Marks a KeepAlived the roll below stopped; only the resume step starts it again. */
export const KEEPALIVED_HELD_MARKER = `${K3S_HA_STATE_DIR}/keepalived-held-for-peer`;

/**
 * Hosts of one pair must speak the same VRRP version, and under VRRPv2 the same interval: a host
 * drops the other's adverts ("wrong version", "advertisement interval mismatch"), hears no master
 * and takes the VIP too. Reloading one host after the other would leave two holders for as long
 * as the second host's turn takes. So when such a change meets a running KeepAlived, the host that
 * changes first hands the VIP over (a graceful stop sends a priority-0 advert in the old
 * settings), stays stopped while its peer changes, and starts again after it (resume step): the
 * pair never runs two settings at once.
 */
export interface KeepalivedRoll {
  /**
   * The VIP, to check that the peer took it over before this host stays stopped. The peer's name
   * stays out of the script: renaming lb-2 must not re-run lb-1's steps.
   */
  vip: string;
}

const VRRP_ROLL_FUNCTIONS = `# "v3", or "v2/<advert_int>": what two hosts of a pair must agree on.
vrrp_signature() {
  v=$(sed -n 's/^[[:space:]]*vrrp_version[[:space:]][[:space:]]*\\([23]\\).*/\\1/p' "$1" | head -n 1)
  if [ -z "$v" ]; then
    # KeepAlived runs IPv6 instances as VRRPv3 whatever the default.
    if grep -Eq '^[[:space:]]*[0-9A-Fa-f]*:[0-9A-Fa-f:]*/[0-9]+ dev ' "$1"; then v=3; else v=2; fi
  fi
  if [ "$v" = 3 ]; then echo v3; return; fi
  i=$(sed -n 's/^[[:space:]]*advert_int[[:space:]][[:space:]]*\\([0-9.]*\\).*/\\1/p' "$1" | head -n 1)
  echo "v2/\${i:-1}"
}
vip_serves() {
  # A TLS or HTTP error after the connect still means a proxy holds the VIP.
  n=$(curl --noproxy '*' -ksS -o /dev/null --connect-timeout 1 --max-time 2 -w '%{num_connects}' "https://$1/" 2>/dev/null) || true
  [ "\${n:-0}" != 0 ]
}`;

/**
 * vrrp_priority asks for nice -20, which a container without CAP_SYS_NICE refuses; KeepAlived then
 * runs at the default priority. Says so, without failing: the pair still works, but a busy host
 * may delay its adverts.
 */
const WARN_UNLESS_PRIORITISED = `prioritised_vrrp() {
    for proc in /proc/[0-9]*; do
      [ "$(cat "$proc/comm" 2>/dev/null)" = keepalived ] || continue
      # Field 19 of /proc/<pid>/stat is the nice value.
      [ "$(awk '{print $19}' "$proc/stat" 2>/dev/null)" = ${VRRP_NICE} ] && return 0
    done
    return 1
  }
  tries=0
  until prioritised_vrrp || [ "$tries" -ge 10 ]; do sleep 0.3; tries=$((tries + 1)); done
  prioritised_vrrp || log "warning: KeepAlived's VRRP process does not run at nice ${VRRP_NICE} (vrrp_priority refused, e.g. no CAP_SYS_NICE in a container): a busy host may delay its adverts and let the peer take the VIP"`;

/**
 * Writes keepalived.conf (checked by `keepalived -t` first) and reloads KeepAlived; with `roll`,
 * holds it stopped across a VRRP change the peer cannot hear (KeepalivedRoll).
 *
 * KeepAlived 2.2.5 to 2.2.7 (Debian 12's) kill their own `-t` with SIGTERM (status 143) when a
 * script runs as a non-root user: the test takes itself for an orphan (fixed in 2.2.8, keepalived
 * commit aae8e910). In a PID namespace of its own its parent pid reads 0, as the test expects, and
 * the same file gets the full check.
 */
export function applyKeepalivedConfScript(after?: LbPeerFirst, roll?: KeepalivedRoll): string {
  const conf = KEEPALIVED_CONF_PATH;
  const hold = roll
    ? `${VRRP_ROLL_FUNCTIONS}
# Before the new file moves into place (it passed keepalived -t).
hold_for_peer() {
  mark_reload keepalived
  [ -f ${conf} ] && svc_running keepalived || return 0
  old_sig=$(vrrp_signature ${conf}); new_sig=$(vrrp_signature "$new_conf")
  [ "$old_sig" = "$new_sig" ] && return 0
  state_touch '${KEEPALIVED_HELD_MARKER}'
  svc stop keepalived
  log "keepalived: stopped for the VRRP change $old_sig -> $new_sig (the pair's hosts cannot hear each other across it); the other LB host changes next, then this host starts again"
  vip=${shQuote(hostPort(roll.vip, K3S_API_PORT))}
  if wait_for 10 "the other LB host to take over the VIP ($vip)" vip_serves "$vip"; then return 0; fi
  # Nobody serves the VIP: the peer is down, so this host takes it with the new settings now.
  rm -f '${KEEPALIVED_HELD_MARKER}'
  log "keepalived: the other LB host did not take the VIP over; starting here with the new settings"
}`
    : "";
  return script(`${peerServesFirst(after)}
ensure_packages ${KEEPALIVED_PACKAGES.join(" ")}
${KEEPALIVED_TEST_FUNCTION}
${hold}
keep_original ${conf}
new_conf=$(mktemp)
trap 'rm -f "$new_conf"' EXIT
cat >"$new_conf"
changed=$(write_file ${conf} 0644 keepalived_test "${roll ? "hold_for_peer" : "mark_reload keepalived"}" <"$new_conf")
if [ -e '${KEEPALIVED_HELD_MARKER}' ]; then
  svc_enable keepalived
  rm -f "$(reload_pending keepalived)"
  log "keepalived: held stopped until the other LB host runs the new VRRP settings (the resume step starts it)"
else
  svc_apply keepalived "$changed"
  ${WARN_UNLESS_PRIORITISED}
fi`);
}

/** Starts a KeepAlived the roll held, once the peer runs the new settings (runs after the peer's steps). */
export function resumeKeepalivedScript(): string {
  return script(`
if [ -e '${KEEPALIVED_HELD_MARKER}' ]; then
  rm -f "$(reload_pending keepalived)"
  svc start keepalived
  rm -f '${KEEPALIVED_HELD_MARKER}'
  log "keepalived: started: the other LB host runs the new VRRP settings"
else
  log "keepalived: not held, nothing to start"
fi`);
}

export function removeResumeKeepalivedScript(): string {
  return script(`rm -f '${KEEPALIVED_HELD_MARKER}'`);
}

/** Stopping KeepAlived releases the VIP. */
export function removeKeepalivedConfScript(): string {
  return script(`
if have keepalived; then svc stop keepalived || true; svc_disable keepalived; fi
rm -f "$(reload_pending keepalived)" '${KEEPALIVED_HELD_MARKER}'

restore_file ${KEEPALIVED_CONF_PATH}`);
}

/** Writes nginx.conf (checked by `nginx -t` first) and reloads Nginx. */
export function applyNginxConfScript(): string {
  return script(`
ensure_packages ${NGINX_PACKAGES.join(" ")}
keep_original ${NGINX_CONF_PATH}
changed=$(write_file ${NGINX_CONF_PATH} 0644 "nginx -t -q -c" "mark_reload nginx")
${retireOtherTiers("nginx")}
svc_apply nginx "$changed"`);
}

/** Docker mode, before the container is created: nothing else may hold :6443. */
export function prepareNginxDockerHostScript(): string {
  return script(`
have docker || { log "nginxMode docker needs Docker on this host"; exit 1; }
${retireOtherTiers("nginx-docker")}`);
}

/**
 * Docker mode: keeps the config on the host and makes the running container serve it. The
 * container is created once with the config of its day; later configs are checked with the
 * container's own nginx, copied in and loaded with SIGHUP (a graceful reload). The comparison is
 * with what the container holds, so a run cut between the copy and the reload is finished later.
 */
export function applyNginxDockerConfScript(): string {
  const c = NGINX_CONTAINER_NAME;
  return script(`
check_in_container() {
  docker cp "$1" ${c}:/tmp/k3s-ha-nginx.conf && docker exec ${c} nginx -t -q -c /tmp/k3s-ha-nginx.conf
}
write_file ${NGINX_DOCKER_CONF_PATH} 0644 check_in_container >/dev/null
if docker exec ${c} cat ${NGINX_CONF_PATH} 2>/dev/null | cmp -s - ${NGINX_DOCKER_CONF_PATH}; then
  log "${c}: unchanged"
else
  docker cp ${NGINX_DOCKER_CONF_PATH} ${c}:${NGINX_CONF_PATH}
  docker kill --signal HUP ${c} >/dev/null
  log "${c}: reloaded"
fi`);
}

export function removeNginxDockerConfScript(): string {
  return script(`rm -f ${NGINX_DOCKER_CONF_PATH}`);
}

export function removeNginxConfScript(): string {
  return script(`
if have nginx; then svc stop nginx || true; svc_disable nginx; fi
rm -f "$(reload_pending nginx)"
restore_file ${NGINX_CONF_PATH}`);
}
