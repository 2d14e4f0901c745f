/** Generated stack configs of any size, for the benchmark. */
import { StackConfig } from "../test/support/mocks";
import { testStackConfig, withPinnedHostKeys } from "../test/support/stacks";

/** The dev stack with `agents` agents in 10.20.0.0/16 (addresses only ever rendered, never dialled). */
export function devStackWithAgents(agents: number): StackConfig {
  return withPinnedHostKeys({
    ...testStackConfig("dev"),
    "k3s-ha:agents": Array.from({ length: agents }, (_, i) => ({
      name: `agent-${i + 1}`,
      address: `10.20.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}`,
    })),
  });
}
