/** Points the kubeconfig K3s writes (https://127.0.0.1:6443) at the load balancer. Pure. */
import { parseDocument } from "yaml";

export function rewriteKubeconfigServer(
  kubeconfig: string,
  serverUrl: string,
  name: string,
): string {
  const doc = parseDocument(kubeconfig);
  const rename = (list: unknown, key: string) => {
    for (const item of (list as { items?: unknown[] })?.items ?? []) {
      const node = item as { get(k: string): unknown; set(k: string, v: unknown): void };
      if (node.get("name") === "default") node.set("name", name);
      const inner = node.get(key) as { get(k: string): unknown; set(k: string, v: unknown): void };
      if (key === "cluster") inner?.set("server", serverUrl);
      if (key === "context") {
        if (inner?.get("cluster") === "default") inner.set("cluster", name);
        if (inner?.get("user") === "default") inner.set("user", name);
      }
    }
  };
  rename(doc.get("clusters"), "cluster");
  rename(doc.get("contexts"), "context");
  rename(doc.get("users"), "user");
  if (doc.get("current-context") === "default") doc.set("current-context", name);
  return doc.toString();
}
