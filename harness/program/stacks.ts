/** Reads the example stack files the repository ships. */
import { createHash } from "crypto";
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
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, FAKE_PRIVATE_KEY, { mode: 0o600 });
    process.once("exit", () => fs.rmSync(file, { force: true }));
  }
  return file;
}

/**
 * A well-formed ed25519 public key for a host name (not a real key: 32 bytes of its hash), as a
 * stack pins it after `npm run hostkeys`.
 */
export function fakeHostKey(name: string): string {
  const type = Buffer.from("ssh-ed25519");
  const key = createHash("sha256").update(`fake host key of ${name}`).digest();
  const field = (b: Buffer) => Buffer.concat([Buffer.alloc(4, 0), b]).fill(0, 0, 4);
  const blob = Buffer.concat([field(type), field(key)]);
  blob.writeUInt32BE(type.length, 0);
  blob.writeUInt32BE(key.length, 4 + type.length);
  return `ssh-ed25519 ${blob.toString("base64")}`;
}

/**
 * The config with a pinned (fake) host key on every host and the bastion that have none, as after
 * `npm run hostkeys`.
 */
export function withPinnedHostKeys(config: StackConfig): StackConfig {
  const out = { ...config };
  for (const key of ["k3s-ha:servers", "k3s-ha:agents", "k3s-ha:lbHosts"]) {
    const hosts = out[key] as { name: string; hostKey?: string }[] | undefined;
    if (!Array.isArray(hosts)) continue;
    out[key] = hosts.map((h) => ({ ...h, hostKey: h.hostKey ?? fakeHostKey(h.name) }));
  }
  const bastion = out["k3s-ha:sshBastion"] as { host: string; hostKey?: string } | undefined;
  if (bastion && typeof bastion === "object")
    out["k3s-ha:sshBastion"] = {
      ...bastion,
      hostKey: bastion.hostKey ?? fakeHostKey(bastion.host),
    };
  return out;
}

/** An example stack's config with pinned host keys and its key path at a throwaway key file. */
export function testStackConfig(stack: string): StackConfig {
  return {
    ...withPinnedHostKeys(loadStackConfig(stack)),
    "k3s-ha:sshPrivateKeyPath": fakeKeyFile(),
  };
}
