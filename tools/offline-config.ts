/**
 * A stack file's config made evaluable offline: encrypted values (`secure: v1:...`) cannot be
 * decrypted without the stack's secrets provider, so each becomes a secret placeholder derived
 * from its ciphertext (a changed secret is a changed value, never shown); the deploy key file,
 * which the reviewer's machine need not hold, becomes a placeholder file.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackConfig } from "../test/support/mocks";

export interface OfflineConfig {
  config: StackConfig;
  secretKeys: string[];
  cleanup: () => void;
}

export const MASK = "[secret]";

export function offlineConfig(raw: StackConfig): OfflineConfig {
  const config: StackConfig = { ...raw };
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === "object" && value !== null && "secure" in value) {
      const digest = createHash("sha256").update(String(value.secure)).digest("hex");
      config[key] = `offline-secret-${digest.slice(0, 16)}`;
      secretKeys.push(key);
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-preview-"));
  const keyFile = path.join(dir, "key");
  fs.writeFileSync(keyFile, MASK, { mode: 0o600 });
  if (config["k3s-ha:sshPrivateKeyPath"] !== undefined)
    config["k3s-ha:sshPrivateKeyPath"] = keyFile;
  return { config, secretKeys, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
