/** Turns the stack's config values (strings, as the engine hands them over) into raw config. Pure. */
import { RawClusterConfig, StackSecrets } from "./validate";

export const PROJECT_NAMESPACE = "k3s-ha";

/** Secret keys: read by index.ts as secrets, never part of the raw config. */
export const SECRET_KEYS = [
  "token",
  "agentToken",
  "sshPrivateKey",
  "serverSecretConfig",
  "agentSecretConfig",
];

/** Keys whose values are strings as written. */
const STRING_KEYS = new Set<string>([
  "sshUser",
  "sshPrivateKeyPath",
  "k3sVersion",
  "installScriptUrl",
  "installScriptSha256",
  "installMirror",
  "lbKind",
  "vip",
  "vrrpInterface",
  "nginxMode",
  "nginxImage",
]);

/**
 * Every `k3s-ha:` key but the secrets. Strings stay strings ("" counts as unset: Pulumi.yaml
 * declares it as the default of optional strings); any other value is YAML structure, a number or
 * a boolean, which the engine hands over as JSON. Unknown keys are kept so validation names them.
 */
export function rawConfigFrom(values: Record<string, string>): RawClusterConfig {
  const raw: Record<string, unknown> = {};
  for (const [fullKey, text] of Object.entries(values)) {
    const [namespace, key] = fullKey.split(":", 2);
    if (namespace !== PROJECT_NAMESPACE || key === undefined || SECRET_KEYS.includes(key)) continue;
    if (STRING_KEYS.has(key)) {
      if (text !== "") raw[key] = text;
      continue;
    }
    try {
      raw[key] = JSON.parse(text);
    } catch {
      raw[key] = text; // validation names the key and the type it expected
    }
  }
  return raw;
}

/** The secrets validation reads (decrypted), for validation only; never echoed. */
export function secretsFrom(values: Record<string, string>): StackSecrets {
  const secrets: StackSecrets = {};
  for (const key of ["token", "agentToken", "serverSecretConfig", "agentSecretConfig"] as const) {
    const value = values[`${PROJECT_NAMESPACE}:${key}`];
    if (value !== undefined) secrets[key] = value;
  }
  return secrets;
}
