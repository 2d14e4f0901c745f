/**
 * A stack file's config made evaluable offline: encrypted values (`secure: v1:...`) cannot be
 * decrypted without the stack's secrets provider, so each becomes a secret placeholder derived
 * from its ciphertext (a changed secret is a changed value, never shown); the deploy key file,
 * which the reviewer's machine need not hold, becomes a placeholder file. No host is contacted,
 * so hosts without a pinned hostKey are previewed as if the stack trusted any key, and named in
 * `unpinned` (a real `pulumi up` refuses them until they are pinned).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackConfig } from "../harness/program/mocks";

export interface OfflineConfig {
  config: StackConfig;
  secretKeys: string[];
  /** Hosts (and the bastion) without a pinned hostKey. */
  unpinned: string[];
  /** Whether the preview set sshTrustAnyHostKey itself (the stack did not). */
  trustAnyAdded: boolean;
  cleanup: () => void;
}

const TRUST_ANY = "k3s-ha:sshTrustAnyHostKey";

function unpinnedHosts(config: StackConfig): string[] {
  const hosts = ["servers", "agents", "lbHosts"].flatMap(
    (list) => (config[`k3s-ha:${list}`] ?? []) as { name?: string; hostKey?: string }[],
  );
  const bastion = config["k3s-ha:sshBastion"] as { host?: string; hostKey?: string } | undefined;
  return [
    ...hosts.filter((h) => !h.hostKey).map((h) => String(h.name)),
    ...(bastion && !bastion.hostKey ? [`bastion ${String(bastion.host)}`] : []),
  ];
}

/** The note a preview starts with when hosts pin no key. */
export function unpinnedNote(stack: string, unpinned: string[]): string[] {
  if (unpinned.length === 0) return [];
  return [
    `note: ${unpinned.length} host(s) pin no hostKey (${unpinned.join(", ")}); previewed offline, but pulumi up refuses them until pinned: npm run hostkeys -- --stack ${stack}`,
    "",
  ];
}

export const MASK = "[secret]";

/** `programKnowsTrustAny`: false for a program older than the host-key requirement. */
export function offlineConfig(raw: StackConfig, programKnowsTrustAny = true): OfflineConfig {
  const config: StackConfig = { ...raw };
  const unpinned = unpinnedHosts(config);
  const trustAnyAdded =
    unpinned.length > 0 && config[TRUST_ANY] === undefined && programKnowsTrustAny;
  if (trustAnyAdded) config[TRUST_ANY] = true;
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
  return {
    config,
    secretKeys,
    unpinned,
    trustAnyAdded,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
