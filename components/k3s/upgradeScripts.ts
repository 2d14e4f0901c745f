/** The scripts that run before an upgrade touches a node: the etcd snapshot and an agent's drain. Pure. */
import { hostScript } from "../host/script";

/** The snapshot name for an upgrade to `version` (K3s appends the node name and a timestamp). */
export function preUpgradeSnapshotName(version: string): string {
  return `k3s-ha-pre-${version.replace(/[^A-Za-z0-9.-]/g, "-")}`;
}

/** On the first server, before any server is upgraded: pre-upgrade-snapshot.sh. */
export function preUpgradeSnapshotScript(version: string, nodeName: string): string {
  return hostScript("k3s/pre-upgrade-snapshot.sh", {
    version,
    node: nodeName,
    snapshot: preUpgradeSnapshotName(version),
  });
}

/** On a server, before an agent is upgraded: drain-agent.sh. */
export function drainAgentForUpgradeScript(
  version: string,
  nodeName: string,
  timeoutSeconds: number,
): string {
  return hostScript("k3s/drain-agent.sh", {
    version,
    node: nodeName,
    timeout_seconds: timeoutSeconds,
  });
}
