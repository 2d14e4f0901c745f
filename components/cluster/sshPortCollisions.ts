/**
 * sshPort against the TCP ports the program's services listen on, host role by role: an sshd
 * already listening on one of them keeps that service from starting (a loopback listener too:
 * sshd holds the wildcard address).
 */
import { Problems } from "../config/problems";
import { K3S_API_PORT } from "../config/types";
import { HAPROXY_HEALTH_PORT, HAPROXY_STATS_PORT } from "../lb/haproxy-pair/haproxyCfg";

type Listeners = ReadonlyMap<number, string>;

/** K3s's documented inbound ports (docs.k3s.io, Networking) and upstream Kubernetes defaults. */
const K3S_NODE: Listeners = new Map([
  [6444, "K3s's client load balancer (--lb-server-port)"],
  [10248, "the kubelet's healthz"],
  [10249, "kube-proxy's metrics"],
  [10250, "the kubelet"],
  [10256, "kube-proxy's healthz"],
]);
const K3S_SERVER: Listeners = new Map([
  [K3S_API_PORT, "K3s's supervisor and apiserver"],
  [2379, "etcd's client port"],
  [2380, "etcd's peer port"],
  [10257, "kube-controller-manager"],
  [10259, "kube-scheduler"],
  ...K3S_NODE,
]);
const HAPROXY: Listeners = new Map([
  [K3S_API_PORT, "HAProxy's K3s API frontend"],
  [HAPROXY_STATS_PORT, "HAProxy's stats page"],
  [HAPROXY_HEALTH_PORT, "HAProxy's health page for KeepAlived"],
]);
const NGINX: Listeners = new Map([[K3S_API_PORT, "Nginx's K3s API listener"]]);

export interface HostRoles {
  servers: boolean;
  agents: boolean;
  lbKind?: "haproxy" | "nginx";
}

export function checkSshPort(p: Problems, port: number, roles: HostRoles): void {
  const roleListeners: [string, Listeners | undefined][] = [
    ["servers", roles.servers ? K3S_SERVER : undefined],
    ["agents", roles.agents ? K3S_NODE : undefined],
    [
      "lbHosts",
      roles.lbKind === "haproxy" ? HAPROXY : roles.lbKind === "nginx" ? NGINX : undefined,
    ],
  ];
  const taken = roleListeners.flatMap(([role, listeners]) => {
    const what = listeners?.get(port);
    return what ? [`${what} on the ${role}`] : [];
  });
  if (taken.length === 0) return;
  p.error(
    "sshPort",
    `${port} is the port of ${taken.join(" and of ")}: an sshd listening there keeps it from starting; give SSH another port on every host (the default is 22)`,
  );
}
