/**
 * The baseline: the K3s "Cluster Load Balancer" page's configuration, verbatim
 * (/work/shared/seed/cluster-load-balancer.zh.md, steps 2 and 3 and the Nginx tab), plus the
 * distribution defaults it relies on. The page's addresses (10.10.10.0/24) are the lab's own, so
 * nothing in the snippets is edited except the <STATE>/<PRIORITY> placeholders the page asks for.
 */
import * as fs from "fs";
import { LbHostName } from "../constants";

/** Page, step 2: "add to /etc/haproxy/haproxy.cfg on lb-1 and lb-2". */
export const PAGE_HAPROXY_SNIPPET = `frontend k3s-frontend
    bind *:6443
    mode tcp
    option tcplog
    default_backend k3s-backend

backend k3s-backend
    mode tcp
    option tcp-check
    balance roundrobin
    default-server inter 10s downinter 5s
    server server-1 10.10.10.50:6443 check
    server server-2 10.10.10.51:6443 check
    server server-3 10.10.10.52:6443 check
`;

/** Page, step 3: /etc/keepalived/keepalived.conf on lb-1 and lb-2. */
export const PAGE_KEEPALIVED_SNIPPET = `vrrp_script chk_haproxy {
    script 'killall -0 haproxy' # faster than pidof
    interval 2
}

vrrp_instance haproxy-vip {
   interface eth1
    state <STATE> # MASTER on lb-1, BACKUP on lb-2
    priority <PRIORITY> # 200 on lb-1, 100 on lb-2

    virtual_router_id 51

    virtual_ipaddress {
        10.10.10.100/24
    }

    track_script {
        chk_haproxy
    }
}
`;

/** Page, Nginx tab step 1: nginx.conf on lb-1. */
export const PAGE_NGINX_CONF = `events {}

stream {
  upstream k3s_servers {
    server 10.10.10.50:6443;
    server 10.10.10.51:6443;
    server 10.10.10.52:6443;
  }

  server {
    listen 6443;
    proxy_pass k3s_servers;
  }
}
`;

/** Debian's stock /etc/haproxy/haproxy.cfg (global + defaults), read from the installed package. */
export const DEBIAN_HAPROXY_CFG = "/etc/haproxy/haproxy.cfg";
/** What Debian's /etc/nginx/modules-enabled/50-mod-stream.conf adds; the page's file lacks it. */
export const DEBIAN_STREAM_MODULE = "load_module modules/ngx_stream_module.so;\n";

export function baselineHaproxyCfg(): string {
  const stock = fs.readFileSync(DEBIAN_HAPROXY_CFG, "utf8");
  if (!/^defaults/m.test(stock) || /^(frontend|backend|listen)/m.test(stock)) {
    throw new Error(`${DEBIAN_HAPROXY_CFG} is not Debian's stock global+defaults file`);
  }
  return `${stock}\n${PAGE_HAPROXY_SNIPPET}`;
}

export function baselineKeepalivedConf(host: LbHostName): string {
  const [state, priority] = host === "lb-1" ? ["MASTER", "200"] : ["BACKUP", "100"];
  return PAGE_KEEPALIVED_SNIPPET.replace("<STATE>", state).replace("<PRIORITY>", priority);
}

export function baselineNginxConf(): string {
  return DEBIAN_STREAM_MODULE + PAGE_NGINX_CONF;
}
