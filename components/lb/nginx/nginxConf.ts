/** Renders nginx.conf for the single Nginx stream proxy in front of the K3s servers. Pure. */
import { K3S_API_PORT } from "../../config/types";
import { LbBackend, backendHost, isIpv6 } from "../backends";
import { MANAGED_HEADER } from "../../host/script";

export interface NginxConfArgs {
  /** The K3s servers, in the order they appear in the file. */
  backends: LbBackend[];
  /** Port the proxy listens on; default K3S_API_PORT. */
  port?: number;
  /** native: Debian's nginx with libnginx-mod-stream; docker: the official image (stream built in). */
  mode: "native" | "docker";
  /** Also listen on `[::]:port`; default: when any backend is IPv6. */
  ipv6Listener?: boolean;
}

/*
 * Choices the file does not explain itself:
 * - native: Debian's libnginx-mod-stream puts its load_module line in modules-enabled, which must
 *   be included before `stream {}`. The official image has the stream module built in, and its
 *   entrypoint runs `nginx -g 'daemon off;'`, so the file must not set `daemon`.
 * - docker logs to stderr (`docker logs`); native logs where Debian's logrotate looks.
 * - No `user` in docker mode: the image's build default is its own `nginx` user.
 * - The IPv6 listener is a separate socket (ipv6only) and only added for IPv6 clusters, so hosts and
 *   containers with IPv6 disabled still start.
 * - worker_rlimit_nofile: each proxied connection holds two descriptors per worker.
 */
export function renderNginxConf(args: NginxConfArgs): string {
  const port = args.port ?? K3S_API_PORT;
  const native = args.mode === "native";
  const ipv6 = args.ipv6Listener ?? args.backends.some((b) => isIpv6(b.address));

  const lines = [
    MANAGED_HEADER,
    "",
    ...(native ? ["include /etc/nginx/modules-enabled/*.conf;", "user www-data;"] : []),
    "worker_processes auto;",
    "worker_rlimit_nofile 10240;",
    "worker_shutdown_timeout 30s;",
    "pid /run/nginx.pid;",
    native ? "error_log /var/log/nginx/error.log;" : "error_log stderr;",
    "",
    "events {",
    "  worker_connections 4096;",
    "}",
    "",
    "stream {",
    "  upstream k3s_servers {",
    "    # Shared memory, so every worker sees the same failed servers.",
    "    zone k3s_servers 64k;",
    "    least_conn;",
    ...args.backends.map(
      (b) =>
        `    server ${backendHost(b.address)}:${K3S_API_PORT} max_fails=2 fail_timeout=10s; # ${b.name}`,
    ),
    "  }",
    "",
    "  server {",
    // reuseport: on a tier switch Nginx binds beside HAProxy, which sets SO_REUSEPORT itself.
    `    listen ${port} so_keepalive=on reuseport;`,
    ...(ipv6 ? [`    listen [::]:${port} so_keepalive=on reuseport;`] : []),
    "    proxy_pass k3s_servers;",
    "    proxy_connect_timeout 3s;",
    "    # Idle exec, logs -f and watches; the 10 min default cuts them.",
    "    proxy_timeout 4h;",
    "    proxy_next_upstream on;",
    "    proxy_next_upstream_tries 3;",
    "    proxy_next_upstream_timeout 10s;",
    "    proxy_socket_keepalive on;",
    "  }",
    "}",
  ];
  return lines.join("\n") + "\n";
}
