/** Generated stack configs of any size, for the benchmark. */
import * as fs from "fs";
import { parse } from "yaml";
import { StackConfig } from "../harness/program/mocks";
import { testStackConfig, withPinnedHostKeys } from "../harness/program/stacks";

/** The stack file the benchmark grows: a tree's own, so an older release gets the config it knows. */
export const DEV_STACK_FILE = "Pulumi.dev.yaml";
/** Servers in the dev stack (the benchmark varies agents only). */
export const SERVERS = 3;

/**
 * The dev stack with `agents` agents in 10.20.0.0/16 (addresses only ever rendered, never dialled),
 * pinned host keys and a throwaway key file. `stackFile`: another tree's Pulumi.dev.yaml (the
 * previous release's), this checkout's when absent.
 */
export function devStackWithAgents(agents: number, stackFile?: string): StackConfig {
  const ours = testStackConfig("dev");
  const base = stackFile
    ? {
        ...withPinnedHostKeys(
          (parse(fs.readFileSync(stackFile, "utf8")) as { config?: StackConfig }).config ?? {},
        ),
        "k3s-ha:sshPrivateKeyPath": ours["k3s-ha:sshPrivateKeyPath"],
      }
    : ours;
  return withPinnedHostKeys({
    ...base,
    "k3s-ha:agents": Array.from({ length: agents }, (_, i) => ({
      name: `agent-${i + 1}`,
      address: `10.20.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}`,
    })),
  });
}
