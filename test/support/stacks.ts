/** Reads the example stack files the repository ships. */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { StackConfig } from "./mocks";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export function stackFile(stack: string): string {
  return path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
}

export function loadStackConfig(stack: string): StackConfig {
  const doc = parse(fs.readFileSync(stackFile(stack), "utf8")) as { config?: StackConfig };
  return { ...(doc.config ?? {}) };
}
