/** Reads the example stack files the repository ships. */
import * as fs from "fs";
import * as os from "os";
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

/** A throwaway private key file: what a test stack points `sshPrivateKeyPath` at. */
export const FAKE_PRIVATE_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-key-material-for-tests-only\n-----END OPENSSH PRIVATE KEY-----\n";

function fakeKeyFile(): string {
  const file = path.join(os.tmpdir(), `k3sha-test-key-${process.pid}`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, FAKE_PRIVATE_KEY, { mode: 0o600 });
  return file;
}

/** An example stack's config with its key path pointed at a throwaway key file. */
export function testStackConfig(stack: string): StackConfig {
  return { ...loadStackConfig(stack), "k3s-ha:sshPrivateKeyPath": fakeKeyFile() };
}
