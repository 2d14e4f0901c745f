/**
 * Writes the registration snapshot of a release: evaluates a checkout's `index.ts` under mocks for
 * every snapshot stack and saves what it registers (test/fixtures/registrations/<release>.json).
 * Usage: npx ts-node tools/snapshot-registrations.ts [--program <checkout dir>] [--commit <sha>]
 *   [--release <name>] (default: the checkout's package.json version)
 * Every stack pins a (fake) host key on every host, as a release that requires pinned keys needs.
 * An older checkout must resolve `@pulumi/pulumi` to this checkout's node_modules (symlink it), so
 * the mocks apply to the program it loads.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { runProgram } from "../harness/program/mocks";
import { REPO_ROOT, withPinnedHostKeys } from "../harness/program/stacks";
import {
  RegistrationSnapshot,
  packSnapshot,
  snapshotFile,
  snapshotStacks,
} from "../harness/program/snapshots";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const dir = path.resolve(arg("--program") ?? REPO_ROOT);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
    version: string;
  };
  const commit =
    arg("--commit") ??
    execFileSync("git", ["-C", dir, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  const release = arg("--release") ?? pkg.version;
  const snapshot: RegistrationSnapshot = { release, commit, stacks: {} };
  for (const [name, stack] of Object.entries(snapshotStacks())) {
    const config = withPinnedHostKeys(stack.config);
    const run = await runProgram(config, stack.secretKeys, name, path.join(dir, "index.ts"));
    snapshot.stacks[name] = { ...stack, config, resources: run.resources };
  }
  const out = snapshotFile(release);
  fs.writeFileSync(out, packSnapshot(snapshot));
  console.log(`wrote ${path.relative(REPO_ROOT, out)}: ${Object.keys(snapshot.stacks).join(", ")}`);
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
