/** Scripts that put the load-balancer tier's files on a host and apply them. Pure. */
import { script, shQuote } from "./shell";

export const HAPROXY_CFG_PATH = "/etc/haproxy/haproxy.cfg";
export const KEEPALIVED_CONF_PATH = "/etc/keepalived/keepalived.conf";
export const NGINX_CONF_PATH = "/etc/nginx/nginx.conf";

/** Package probes: a command or file each package provides, for ensure_packages. */
const HAPROXY_PACKAGES = ["haproxy=haproxy", "curl=curl"];
const KEEPALIVED_PACKAGES = ["keepalived=keepalived", "curl=curl"];
// Debian and Ubuntu ship the stream module as a dynamic module in its own package.
const NGINX_PACKAGES = [
  "nginx=nginx",
  "/usr/lib/nginx/modules/ngx_stream_module.so=libnginx-mod-stream",
];

/** Writes haproxy.cfg (checked by `haproxy -c` first) and reloads HAProxy, never restarts it. */
export function applyHaproxyCfgScript(): string {
  return script(`
ensure_packages ${HAPROXY_PACKAGES.join(" ")}
mkdir -p /run/haproxy
keep_original ${HAPROXY_CFG_PATH}
changed=$(write_file ${HAPROXY_CFG_PATH} 0644 "haproxy -c -q -f")
svc_apply haproxy "$changed"`);
}

export function removeHaproxyCfgScript(): string {
  return script(`
if have haproxy; then svc stop haproxy || true; svc_disable haproxy; fi
restore_file ${HAPROXY_CFG_PATH}`);
}

/** Installs KeepAlived's check script root-owned and not writable by others (enable_script_security). */
export function installCheckScriptScript(path: string): string {
  return script(`
ensure_packages ${KEEPALIVED_PACKAGES.join(" ")}
write_file ${shQuote(path)} 0755 >/dev/null
chown root:root ${shQuote(path)}`);
}

export function removeCheckScriptScript(path: string): string {
  return script(`rm -f ${shQuote(path)}`);
}

/** Writes keepalived.conf (checked by `keepalived -t` first) and reloads KeepAlived. */
export function applyKeepalivedConfScript(): string {
  return script(`
ensure_packages ${KEEPALIVED_PACKAGES.join(" ")}
keep_original ${KEEPALIVED_CONF_PATH}
changed=$(write_file ${KEEPALIVED_CONF_PATH} 0644 "keepalived -t -f")
svc_apply keepalived "$changed"`);
}

/** Stopping KeepAlived releases the VIP. */
export function removeKeepalivedConfScript(): string {
  return script(`
if have keepalived; then svc stop keepalived || true; svc_disable keepalived; fi
restore_file ${KEEPALIVED_CONF_PATH}`);
}

/** Writes nginx.conf (checked by `nginx -t` first) and reloads Nginx. */
export function applyNginxConfScript(): string {
  return script(`
ensure_packages ${NGINX_PACKAGES.join(" ")}
keep_original ${NGINX_CONF_PATH}
changed=$(write_file ${NGINX_CONF_PATH} 0644 "nginx -t -q -c")
svc_apply nginx "$changed"`);
}

export function removeNginxConfScript(): string {
  return script(`
if have nginx; then svc stop nginx || true; svc_disable nginx; fi
restore_file ${NGINX_CONF_PATH}`);
}
