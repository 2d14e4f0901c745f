/** Renders haproxy.cfg for the HAProxy + KeepAlived pair: TCP passthrough to the K3s servers. Pure: takes validated values. */
import { K3S_API_PORT } from "../../config/types";
import { LbBackend, backendHost, isIpv6 } from "../backends";
import { MANAGED_HEADER } from "../../host/script";

/** 127.0.0.1 only: HTTP monitor-uri the KeepAlived check probes. */
export const HAPROXY_HEALTH_PORT = 8405;
/** 127.0.0.1 only: stats page. */
export const HAPROXY_STATS_PORT = 8404;
/** Debian's packaged path; /run/haproxy comes from the package's tmpfiles.d entry. */
export const HAPROXY_ADMIN_SOCKET = "/run/haproxy/admin.sock";
export const HAPROXY_HEALTH_URI = "/healthz";

export interface HaproxyCfgArgs {
  /** The K3s servers, in the order they appear in the file. */
  backends: LbBackend[];
  /** Port the API frontend listens on; default K3S_API_PORT. */
  port?: number;
  /** Also listen on IPv6 (`:::port v6only`); default: when any backend is IPv6. */
  ipv6Listener?: boolean;
  /** Admin socket path; default HAPROXY_ADMIN_SOCKET. Set it when two instances share one filesystem. */
  adminSocketPath?: string;
}

/*
 * Choices the file does not explain itself:
 * - No `daemon`: Debian's unit runs `haproxy -Ws` (master-worker, systemd notify) and a lab runs
 *   `haproxy -db`. Reloads keep listeners in master-worker mode without `expose-fd listeners`.
 * - The frontend binds the wildcard, so the VIP works once KeepAlived adds it and
 *   net.ipv4.ip_nonlocal_bind is not needed. The IPv6 socket is separate (v6only) so a host with
 *   IPv6 disabled still starts an IPv4 cluster's load balancer.
 * - `slowstart` with `leastconn`: a server that comes back has zero connections, so leastconn alone
 *   would send it every new watch at once; slowstart ramps its weight over 30 s.
 * - The health frontend answers while the process serves, whatever the backends' state: KeepAlived
 *   must judge the local HAProxy only, or both hosts fail together and the VIP drops.
 */
export function renderHaproxyCfg(args: HaproxyCfgArgs): string {
  const port = args.port ?? K3S_API_PORT;
  const adminSocket = args.adminSocketPath ?? HAPROXY_ADMIN_SOCKET;
  const ipv6 = args.ipv6Listener ?? args.backends.some((b) => isIpv6(b.address));

  const lines = [
    MANAGED_HEADER,
    "",
    "global",
    "  log /dev/log local0",
    // Debian's unit bind-mounts /dev/log into the chroot; outside systemd logs are dropped.
    "  chroot /var/lib/haproxy",
    "  user haproxy",
    "  group haproxy",
    // HAProxy refuses to start when it cannot raise RLIMIT_NOFILE to about 2 x maxconn: 4000
    // stays within the hard limits of systemd, Docker and small containers alike.
    "  maxconn 4000",
    "  hard-stop-after 30s",
    "  # The socket's directory must exist: Debian's tmpfiles.d creates /run/haproxy at boot.",
    // Read-only (show stat, show info): nothing the program or an operator needs changes state.
    `  stats socket ${adminSocket} mode 660 level user`,
    "  stats timeout 30s",
    "",
    "defaults",
    "  log global",
    "  mode tcp",
    "  option tcplog",
    "  option log-health-checks",
    "  option dontlognull",
    "  option clitcpka",
    "  option srvtcpka",
    "  option redispatch 1",
    "  retries 3",
    "  timeout connect 3s",
    "  timeout client 1h",
    "  timeout server 1h",
    "  # Once connected, TCP mode uses the tunnel timeout: kubelet's streaming idle timeout.",
    "  timeout tunnel 4h",
    "  timeout client-fin 30s",
    "  timeout server-fin 30s",
    "  timeout check 2s",
    "",
    "frontend k3s-api",
    `  bind *:${port}`,
    ...(ipv6 ? [`  bind :::${port} v6only`] : []),
    "  default_backend k3s-servers",
    "",
    "backend k3s-servers",
    "  balance leastconn",
    "  # K3s answers /ping unauthenticated with pong; /healthz and /readyz answer 401 to anonymous checks.",
    "  option httpchk",
    "  http-check connect ssl",
    "  http-check send meth GET uri /ping",
    "  http-check expect string pong",
    "  default-server inter 2s fastinter 1s downinter 2s fall 2 rise 2 slowstart 30s on-marked-down shutdown-sessions check verify none",
    ...args.backends.map(
      (b) => `  server ${b.name} ${backendHost(b.address)}:${K3S_API_PORT} check`,
    ),
    "",
    "# KeepAlived's check: an HTTP answer proves the process serves (a TCP connect succeeds against a stopped one).",
    "frontend health",
    "  mode http",
    `  bind 127.0.0.1:${HAPROXY_HEALTH_PORT}`,
    "  option dontlog-normal",
    "  timeout client 5s",
    "  timeout http-request 2s",
    `  monitor-uri ${HAPROXY_HEALTH_URI}`,
    "",
    "listen stats",
    "  mode http",
    `  bind 127.0.0.1:${HAPROXY_STATS_PORT}`,
    "  option dontlog-normal",
    "  timeout client 30s",
    "  timeout http-request 5s",
    "  stats enable",
    "  stats uri /",
    "  stats refresh 10s",
  ];
  return lines.join("\n") + "\n";
}
