/**
 * Everything K3sHaCluster checks before it creates a child: the arguments validated (by the same
 * rules and with the same messages as a stack file's keys), the air-gap files and the SSH key read
 * from disk. Values that are other resources' outputs are checked with the same rules once they
 * are known, before any host step runs.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { checkAirgapFiles } from "../airgap/localFiles";
import { ConfigError } from "../config/errors";
import { Problems } from "../config/problems";
import { RAW_KEYS, RawClusterConfig, STACK_KEYS } from "../config/keys";
import type { ClusterConfig, StackSecrets } from "../config/types";
import { SshSettings } from "../host/connection";
import { isDeferred } from "../host/inputs";
import { checkTokens } from "../k3s/joinTokens";
import { checkRegistryCredentials } from "../k3s/registries";
import { checkSecretConfigs } from "../k3s/secretConfig";
import type { K3sHaClusterArgs, SecretArgs } from "./args";
import { ValidateOptions, argPath, validateClusterConfig } from "./validate";
import { ClusterView } from "./view";

export interface PreparedCluster {
  view: ClusterView;
  /** SSH settings with the private key (given, or read from privateKeyPath). */
  ssh: SshSettings;
  secrets: SecretArgs;
  /** Resolves once the values that were outputs passed their checks (undefined: there were none). */
  deployTimeChecks?: pulumi.Output<unknown>;
  warnings: string[];
}

/** The value at a dotted path of the arguments (`loadBalancer.vip`). */
function at(args: object, dotted: string): unknown {
  let value: unknown = args;
  for (const key of dotted.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The arguments as stack keys, for the one validator; secrets and outputs are left out. */
export function rawFromArgs(args: K3sHaClusterArgs): RawClusterConfig {
  const raw: Record<string, unknown> = {};
  for (const key of RAW_KEYS) {
    const value = at(args, STACK_KEYS[key].arg);
    if (value !== undefined) raw[key] = value;
  }
  return raw;
}

/** Every host's address and host key that is an output, with where it goes in the raw config. */
function deferredHostValues(raw: RawClusterConfig) {
  const found: {
    list: "servers" | "agents" | "lbHosts";
    index: number;
    field: string;
    value: unknown;
  }[] = [];
  for (const list of ["servers", "agents", "lbHosts"] as const) {
    const hosts = raw[list];
    if (!Array.isArray(hosts)) continue;
    hosts.forEach((host: unknown, index) => {
      if (host === null || typeof host !== "object") return;
      for (const field of ["address", "hostKey"]) {
        const value = (host as Record<string, unknown>)[field];
        if (isDeferred(value)) found.push({ list, index, field, value });
      }
    });
  }
  return found;
}

function withValues(
  raw: RawClusterConfig,
  deferred: ReturnType<typeof deferredHostValues>,
  values: unknown[],
): RawClusterConfig {
  const copy: Record<string, unknown> = { ...raw };
  for (const list of new Set(deferred.map((d) => d.list))) {
    copy[list] = (raw[list] as object[]).map((h) => ({ ...h }));
  }
  deferred.forEach((d, i) => {
    (copy[d.list] as Record<string, unknown>[])[d.index][d.field] = values[i];
  });
  return copy;
}

/** The secrets' own checks (never echoing a value), for values known only at deploy time. */
function checkSecrets(secrets: StackSecrets, options: ValidateOptions): void {
  const p = new Problems(options.paths === "args" ? argPath : undefined);
  checkTokens(p, secrets);
  checkSecretConfigs(p, secrets);
  checkRegistryCredentials(p, secrets.registryCredentials);
  if (p.errors.length > 0) throw new ConfigError(p.errors);
}

function readPrivateKey(keyPath: string, field: string): pulumi.Output<string> {
  const resolved = keyPath.startsWith("~/") ? path.join(os.homedir(), keyPath.slice(2)) : keyPath;
  try {
    return pulumi.secret(fs.readFileSync(resolved, "utf8"));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError([`${field}: cannot read ${resolved} (${reason})`]);
  }
}

export function prepareCluster(args: K3sHaClusterArgs): PreparedCluster {
  const options: ValidateOptions = {
    paths: args.fromStackProgram ? "stack" : "args",
    isDeferred,
  };
  const raw = rawFromArgs(args);
  const secrets = args.secrets ?? {};
  const secretKeys = [
    "token",
    "agentToken",
    "serverSecretConfig",
    "agentSecretConfig",
    "registryCredentials",
  ] as const;
  const plainSecrets: StackSecrets = {};
  const laterSecrets: (typeof secretKeys)[number][] = [];
  for (const key of secretKeys) {
    const value = secrets[key];
    if (typeof value === "string") plainSecrets[key] = value;
    else if (value !== undefined) laterSecrets.push(key);
  }
  const early = validateClusterConfig<pulumi.Input<string>>(raw, plainSecrets, options);
  const airgap = early.k3s.airgap && checkAirgapFiles(early.k3s.airgap);
  const shape: ClusterConfig<pulumi.Input<string>> = {
    ...early,
    k3s: { ...early.k3s, ...(airgap && { airgap }) },
  };

  const deferred = deferredHostValues(raw);
  const resolved =
    deferred.length === 0
      ? (shape as ClusterConfig)
      : pulumi.all(deferred.map((d) => d.value)).apply((values) => {
          const config = validateClusterConfig(
            withValues(raw, deferred, values),
            plainSecrets,
            options,
          );
          return { ...config, k3s: { ...config.k3s, ...(airgap && { airgap }) } };
        });
  const checks: pulumi.Output<unknown>[] = [];
  if (pulumi.Output.isInstance(resolved)) checks.push(resolved);
  if (laterSecrets.length > 0) {
    const values = pulumi.all(
      laterSecrets.map((k) => pulumi.output(secrets[k] as pulumi.Input<string>)),
    );
    checks.push(
      pulumi.unsecret(
        values.apply((v) => {
          checkSecrets(Object.fromEntries(laterSecrets.map((k, i) => [k, v[i]])), options);
          return true;
        }),
      ),
    );
  }

  const sshField = options.paths === "args" ? "ssh.privateKeyPath" : "sshPrivateKeyPath";
  const privateKey =
    args.ssh?.privateKey ??
    (shape.ssh.privateKeyPath ? readPrivateKey(shape.ssh.privateKeyPath, sshField) : undefined);
  return {
    view: new ClusterView(shape, resolved),
    ssh: {
      user: shape.ssh.user,
      port: shape.ssh.port,
      ...(privateKey !== undefined && { privateKey }),
      ...(shape.ssh.privateKeyPath !== undefined && { privateKeyPath: shape.ssh.privateKeyPath }),
      ...(shape.ssh.bastion && { bastion: shape.ssh.bastion }),
    },
    secrets,
    ...(checks.length > 0 && { deployTimeChecks: pulumi.all(checks) }),
    warnings: early.warnings,
  };
}
