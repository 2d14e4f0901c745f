/** Turns the stack's config values (strings, as the engine hands them over) into raw config. Pure. */
import { RawClusterConfig, SECRET_KEYS, STRING_KEYS, StackKey } from "../config/keys";
import type { StackSecrets } from "../config/types";

export const PROJECT_NAMESPACE = "k3s-ha";

const isSecretKey = (key: string) => (SECRET_KEYS as string[]).includes(key);
const isStringKey = (key: string) => (STRING_KEYS as string[]).includes(key);

/**
 * Every `k3s-ha:` key but the secrets. Strings stay strings ("" counts as unset: Pulumi.yaml
 * declares it as the default of optional strings); any other value is YAML structure, a number or
 * a boolean, which the engine hands over as JSON. Unknown keys are kept so validation names them.
 */
export function rawConfigFrom(values: Record<string, string>): RawClusterConfig {
  const raw: Record<string, unknown> = {};
  for (const [fullKey, text] of Object.entries(values)) {
    const [namespace, key] = fullKey.split(":", 2);
    if (namespace !== PROJECT_NAMESPACE || key === undefined || isSecretKey(key)) continue;
    if (isStringKey(key)) {
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
  const checked: (keyof StackSecrets & StackKey)[] = [
    "token",
    "agentToken",
    "serverSecretConfig",
    "agentSecretConfig",
  ];
  for (const key of checked) {
    const value = values[`${PROJECT_NAMESPACE}:${key}`];
    if (value !== undefined) secrets[key] = value;
  }
  return secrets;
}
