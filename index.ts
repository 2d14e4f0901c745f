/**
 * k3s-ha's stack program: reads the stack's config, validates it (problems named by stack key),
 * and builds one K3sHaCluster. Pulumi.<stack>.yaml holds the hosts; `pulumi up` applies it.
 */
import * as pulumi from "@pulumi/pulumi";
import { K3sHaCluster } from "./components";
import { argsFromStack } from "./components/cluster/stackConfig";

const config = new pulumi.Config();
const args = argsFromStack(pulumi.runtime.allConfig(), (key) => config.getSecret(key));
const cluster = new K3sHaCluster("k3s-ha", args);

export const apiEndpoint = cluster.apiEndpoint;
export const registrationAddress = cluster.registrationAddress;
export const kubeconfig = cluster.kubeconfig;
export const servers = cluster.servers;
export const agents = cluster.agents;
export const loadBalancers = cluster.loadBalancers;
export const loadBalancerKind = cluster.loadBalancerKind;
export const preUpgradeSnapshot = cluster.preUpgradeSnapshot;
