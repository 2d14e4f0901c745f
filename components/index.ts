/**
 * k3s-ha: a highly available K3s cluster behind an external load balancer (an HAProxy + KeepAlived
 * pair holding a virtual IP, or one Nginx stream proxy), configured over SSH.
 *
 *     import { K3sHaCluster } from "k3s-ha";
 *     const cluster = new K3sHaCluster("prod", { k3s: { version: "v1.27.3+k3s1" }, servers, agents, loadBalancer });
 *     export const kubeconfig = cluster.kubeconfig;
 */
export { K3sHaCluster, K3S_HA_CLUSTER_TYPE } from "./cluster/K3sHaCluster";
export type { ClusterHost } from "./cluster/K3sHaCluster";
export type {
  HaproxyPairArgs,
  HostArgs,
  K3sArgs,
  K3sHaClusterArgs,
  NginxArgs,
  NodeArgs,
  SecretArgs,
  SshArgs,
  UpgradeArgs,
} from "./cluster/args";
export { ConfigError } from "./config/errors";
