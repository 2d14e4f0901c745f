/**
 * The install step's script for a node: install.sh with the cluster's K3s settings. With a proxy
 * its NO_PROXY holds node addresses, so the script is derived from the resolved configuration.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterView } from "../cluster/view";
import { proxyEnvironment } from "./proxy";
import { InstallOptions, K3sRole, installK3sScript } from "./scripts";

export function installScriptFor(
  cluster: ClusterView,
  role: K3sRole,
  options: Omit<InstallOptions, "proxy" | "registries">,
): pulumi.Input<string> {
  const k3s = cluster.shape.k3s;
  const extraArgs = role === "server" ? k3s.extraServerArgs : k3s.extraAgentArgs;
  const base = { ...options, registries: k3s.registries !== undefined };
  if (!k3s.proxy) return installK3sScript(role, k3s, extraArgs, base);
  return cluster.derive((c) => {
    const proxy = proxyEnvironment(c);
    return installK3sScript(role, k3s, extraArgs, { ...base, ...(proxy && { proxy }) });
  });
}
