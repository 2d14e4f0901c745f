/** How day-2 changes roll: drainBeforeUpgrade, drainTimeoutSeconds, agentBatchSize. */
import type { RawClusterConfig } from "../config/keys";
import type { UpgradeConfig } from "../config/types";
import { readBool, readInt } from "../config/fields";
import { Problems } from "../config/problems";

/** A drain bound below this cannot evict much; above an hour `pulumi up` looks hung. */
const MIN_DRAIN_SECONDS = 10;
const MAX_DRAIN_SECONDS = 3600;
const MAX_AGENT_BATCH_SIZE = 10_000;

export function readUpgradeSection(
  p: Problems,
  raw: RawClusterConfig,
  defaults: UpgradeConfig,
): UpgradeConfig {
  return {
    drainBeforeUpgrade:
      readBool(p, "drainBeforeUpgrade", raw.drainBeforeUpgrade) ?? defaults.drainBeforeUpgrade,
    drainTimeoutSeconds:
      readInt(
        p,
        "drainTimeoutSeconds",
        raw.drainTimeoutSeconds,
        MIN_DRAIN_SECONDS,
        MAX_DRAIN_SECONDS,
      ) ?? defaults.drainTimeoutSeconds,
    agentBatchSize:
      readInt(p, "agentBatchSize", raw.agentBatchSize, 0, MAX_AGENT_BATCH_SIZE) ??
      defaults.agentBatchSize,
  };
}
