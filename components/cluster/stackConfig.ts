/** The stack's config values (strings, as the engine hands them over) as raw config and as arguments. */
import * as pulumi from "@pulumi/pulumi";
import {
  RawClusterConfig,
  SECRET_KEYS,
  STACK_KEYS,
  STRING_KEYS,
  SecretStackKey,
  StackKey,
} from "../config/keys";
import { closestKey } from "../config/display";
import { ConfigError } from "../config/errors";
import type { StackSecrets } from "../config/types";
import type { K3sHaClusterArgs } from "./args";
import { validateClusterConfig } from "./validate";

export const PROJECT_NAMESPACE = "k3s-ha";

const isSecretKey = (key: string) => (SECRET_KEYS as string[]).includes(key);
const isStringKey = (key: string) => (STRING_KEYS as string[]).includes(key);

/**
 * The config with every key namespaced as the Pulumi CLI does when it loads a stack file: a key
 * without a namespace is the project's (pulumi/pulumi sdk/go/common/workspace/loaders.go,
 * stackConfigNamespacedWithProject). The CLI hands the program namespaced keys only; a caller that
 * passes a stack file's keys as written (a test, an offline tool) gets the same reading.
 */
export function projectKeys(values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    out[key.includes(":") ? key : `${PROJECT_NAMESPACE}:${key}`] = value;
  }
  return out;
}

/**
 * Keys the program would otherwise pass over in silence: one of its keys written twice (with and
 * without the namespace), or under a misspelt namespace (`k3sha:sshUser`). Other namespaces
 * (`aws:region`) are other packages' config, as for Pulumi.
 */
export function stackKeyProblems(values: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(values)) {
    if (!key.includes(":") && `${PROJECT_NAMESPACE}:${key}` in values) {
      problems.push(
        `${key}: set twice, as ${key} and ${PROJECT_NAMESPACE}:${key} (a key without a namespace is the project's); keep one`,
      );
      continue;
    }
    const at = key.indexOf(":");
    const [namespace, name] = [key.slice(0, at), key.slice(at + 1)];
    if (at > 0 && namespace !== PROJECT_NAMESPACE && closestKey(namespace, [PROJECT_NAMESPACE])) {
      problems.push(
        `${key}: the namespace ${namespace} is not this project's (${PROJECT_NAMESPACE}), so the program would never read the key; write ${PROJECT_NAMESPACE}:${name} (or ${name})`,
      );
    }
  }
  return problems;
}

/**
 * Every `k3s-ha:` key but the secrets. Strings stay strings ("" counts as unset: Pulumi.yaml
 * declares it as the default of optional strings); any other value is YAML structure, a number or
 * a boolean, which the engine hands over as JSON. Unknown keys are kept so validation names them.
 */
export function rawConfigFrom(values: Record<string, string>): RawClusterConfig {
  const raw: Record<string, unknown> = {};
  for (const [fullKey, text] of Object.entries(projectKeys(values))) {
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
export function secretsFrom(written: Record<string, string>): StackSecrets {
  const values = projectKeys(written);
  const secrets: StackSecrets = {};
  const checked: (keyof StackSecrets & StackKey)[] = [
    "token",
    "agentToken",
    "serverSecretConfig",
    "agentSecretConfig",
    "registryCredentials",
  ];
  for (const key of checked) {
    const value = values[`${PROJECT_NAMESPACE}:${key}`];
    if (value !== undefined) secrets[key] = value;
  }
  return secrets;
}

/** Sets `value` at a dotted path of `target`, creating the objects on the way. */
function setAt(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

/**
 * The stack's config as K3sHaCluster's arguments. Validates it first, with the decrypted secrets
 * (never echoed), so every problem is named by its stack key in one error before anything else
 * runs; the arguments then carry the secrets as the secret outputs `secretOf` gives. `stack` names
 * the stack in the commands problems suggest (pulumi.getStack() by default).
 */
export function argsFromStack(
  values: Record<string, string>,
  secretOf: (key: SecretStackKey) => pulumi.Output<string> | undefined,
  stack: string = pulumi.getStack(),
): K3sHaClusterArgs {
  const raw = rawConfigFrom(values);
  const keyProblems = stackKeyProblems(values);
  try {
    validateClusterConfig(raw, secretsFrom(values), { stack });
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError([...keyProblems, ...err.problems]);
    throw err;
  }
  if (keyProblems.length > 0) throw new ConfigError(keyProblems);
  const args: Record<string, unknown> = { fromStackProgram: true };
  for (const [key, value] of Object.entries(raw))
    setAt(args, STACK_KEYS[key as StackKey].arg, value);
  for (const key of SECRET_KEYS) {
    const secret = secretOf(key);
    if (secret !== undefined) setAt(args, STACK_KEYS[key].arg, secret);
  }
  return args as unknown as K3sHaClusterArgs;
}
