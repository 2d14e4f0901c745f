/**
 * Private registries: the `registries` stack key (mirrors and TLS, in the stack file) and the
 * `registryCredentials` secret (auth per registry), rendered to /etc/rancher/k3s/registries.yaml,
 * which K3s reads when it starts (docs.k3s.io, Private Registry Configuration; k3s-io/k3s
 * pkg/agent/templates and pkg/agent/containerd write containerd's hosts.toml from it). Never echoes
 * a credential: a problem names the registry and the field.
 */
import { isMap, parseDocument, stringify } from "yaml";
import type { RawClusterConfig } from "../config/keys";
import { childPath, indexPath, show } from "../config/display";
import { readArray, readBool, readObject, readString } from "../config/fields";
import { Problems } from "../config/problems";
import { readHttpUrl } from "../config/url";
import type { RegistriesConfig } from "../config/types";
import { MANAGED_HEADER } from "../host/script";

export const K3S_REGISTRIES_PATH = "/etc/rancher/k3s/registries.yaml";

type RegistryMirror = RegistriesConfig["mirrors"][string];
type RegistryTls = NonNullable<RegistriesConfig["configs"][string]["tls"]>;

/** What registryCredentials holds per registry: K3s's `configs.<registry>.auth` fields. */
type RegistryAuth =
  { username: string; password: string } | { auth: string } | { identity_token: string };

const AUTH_SHAPES = ["username and password", "auth", "identity_token"];

/**
 * A registry as containerd names it: host or IP with an optional port, or "*" (every registry,
 * K3s v1.26.7 and later).
 */
const REGISTRY_NAME =
  /^(\*|(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?)$/;

function registryNameProblem(name: string): string | undefined {
  return REGISTRY_NAME.test(name)
    ? undefined
    : 'is not a registry name (a host or IP address with an optional :port, e.g. registry.example.com:5000, or "*" for every registry)';
}

function readEndpoint(p: Problems, path: string, value: unknown): string | undefined {
  return readHttpUrl(p, path, value, {
    example: "https://registry.example.com:5000",
    noCredentials: "the stack file is not secret; put them in the registryCredentials secret",
    shellSafe: false,
  });
}

function readMirror(p: Problems, path: string, value: unknown): RegistryMirror | undefined {
  const object = readObject(p, path, value, "an object {endpoint, rewrite}", [
    "endpoint",
    "rewrite",
  ]);
  if (!object) return undefined;
  const list = readArray(p, `${path}.endpoint`, object.endpoint, "an array of http(s) URLs") ?? [];
  const endpoint = list.flatMap((item, i) => {
    const url = readEndpoint(p, indexPath(`${path}.endpoint`, i), item);
    return url === undefined ? [] : [url];
  });
  const rewriteRaw = readObject(
    p,
    `${path}.rewrite`,
    object.rewrite,
    'an object of regular expression to replacement, e.g. {"^library/(.*)": "mirror/$1"}',
  );
  let rewrite: Record<string, string> | undefined;
  if (rewriteRaw) {
    rewrite = {};
    for (const [pattern, replacement] of Object.entries(rewriteRaw)) {
      const itemPath = childPath(`${path}.rewrite`, pattern);
      if (typeof replacement !== "string") {
        p.error(itemPath, `expected a replacement string, got ${show(replacement, itemPath)}`);
        continue;
      }
      try {
        new RegExp(pattern);
      } catch {
        p.error(itemPath, "the key is not a valid regular expression");
        continue;
      }
      rewrite[pattern] = replacement;
    }
  }
  return { endpoint, ...(rewrite && { rewrite }) };
}

function readAbsolutePath(p: Problems, path: string, value: unknown): string | undefined {
  const text = readString(p, path, value, "an absolute path on the node");
  if (text === undefined) return undefined;
  if (!text.startsWith("/") || /[\r\n]/.test(text)) {
    p.error(
      path,
      `${show(text, path)} is not an absolute path on the node (e.g. /etc/ssl/registry-ca.pem)`,
    );
    return undefined;
  }
  return text;
}

function readRegistryConfig(
  p: Problems,
  path: string,
  value: unknown,
): { tls?: RegistryTls } | undefined {
  const object = readObject(p, path, value, "an object {tls}", ["tls", "auth"]);
  if (!object) return undefined;
  if (object.auth !== undefined) {
    p.error(
      `${path}.auth`,
      "credentials do not belong in the stack file (it is not secret): set them with `pulumi config set --secret registryCredentials` (docs/configuration.md, Private registries)",
    );
  }
  const tlsRaw = readObject(
    p,
    `${path}.tls`,
    object.tls,
    "an object {cert_file, key_file, ca_file, insecure_skip_verify}",
    ["cert_file", "key_file", "ca_file", "insecure_skip_verify"],
  );
  if (!tlsRaw) return {};
  const tls: RegistryTls = {};
  for (const key of ["cert_file", "key_file", "ca_file"] as const) {
    const file = readAbsolutePath(p, `${path}.tls.${key}`, tlsRaw[key]);
    if (file !== undefined) tls[key] = file;
  }
  if ("cert_file" in tlsRaw !== "key_file" in tlsRaw) {
    p.error(`${path}.tls`, "cert_file and key_file go together (a client certificate and its key)");
  }
  const insecure = readBool(p, `${path}.tls.insecure_skip_verify`, tlsRaw.insecure_skip_verify);
  if (insecure !== undefined) tls.insecure_skip_verify = insecure;
  if (insecure === true) {
    p.warn(
      `${path}.tls.insecure_skip_verify`,
      "true: the nodes accept any certificate from this registry, so anyone on the path can serve them images",
    );
  }
  return { tls };
}

function readNamed<T>(
  p: Problems,
  path: string,
  value: unknown,
  expected: string,
  read: (p: Problems, path: string, value: unknown) => T | undefined,
): Record<string, T> {
  const object = readObject(p, path, value, expected);
  const out: Record<string, T> = {};
  for (const [name, item] of Object.entries(object ?? {})) {
    const itemPath = childPath(path, name);
    const problem = registryNameProblem(name);
    if (problem) {
      p.error(itemPath, problem);
      continue;
    }
    const entry = read(p, itemPath, item);
    if (entry !== undefined) out[name] = entry;
  }
  return out;
}

/** The `registries` stack key: undefined when the stack has none. */
export function readRegistries(p: Problems, raw: RawClusterConfig): RegistriesConfig | undefined {
  const path = "registries";
  const object = readObject(p, path, raw.registries, "an object {mirrors, configs}", [
    "mirrors",
    "configs",
  ]);
  if (!object) return undefined;
  const mirrors = readNamed(
    p,
    `${path}.mirrors`,
    object.mirrors,
    "an object of registry name to {endpoint, rewrite}",
    readMirror,
  );
  const configs = readNamed(
    p,
    `${path}.configs`,
    object.configs,
    "an object of registry name to {tls}",
    readRegistryConfig,
  );
  if (Object.keys(mirrors).length === 0 && Object.keys(configs).length === 0) {
    p.error(path, "has neither mirrors nor configs (remove the key, or add a mirror)");
  }
  return { mirrors, configs };
}

/** The problems of a registryCredentials secret (YAML or JSON); never shows a value. */
function credentialProblems(text: string): string[] {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const line = doc.errors[0].linePos?.[0].line;
    return [`is not valid YAML${line ? ` (line ${line})` : ""} (value not shown: it is a secret)`];
  }
  const value: unknown = doc.toJS();
  if (value === null || typeof value !== "object" || Array.isArray(value) || !isMap(doc.contents)) {
    return [
      "expected a mapping of registry name to {username, password}, {auth} or {identity_token} (value not shown)",
    ];
  }
  const problems: string[] = [];
  for (const [name, auth] of Object.entries(value as Record<string, unknown>)) {
    const where = REGISTRY_NAME.test(name) ? name : "a key";
    const problem = registryNameProblem(name);
    if (problem) {
      problems.push(`a key ${problem}`);
      continue;
    }
    if (auth === null || typeof auth !== "object" || Array.isArray(auth)) {
      problems.push(
        `${where}: expected {username, password}, {auth} or {identity_token} (value not shown)`,
      );
      continue;
    }
    const fields = Object.keys(auth).sort().join(",");
    const valid = ["password,username", "auth", "identity_token"].includes(fields);
    const allStrings = Object.values(auth).every((v) => typeof v === "string" && v !== "");
    if (!valid) {
      problems.push(
        `${where}: expected exactly one of ${AUTH_SHAPES.join(", ")} (has ${fields || "no field"})`,
      );
    } else if (!allStrings) {
      problems.push(`${where}: every field must be a non-empty string (value not shown)`);
    }
  }
  return problems;
}

export function checkRegistryCredentials(p: Problems, text: string | undefined): void {
  if (text === undefined || text === "") return;
  for (const problem of credentialProblems(text)) p.error("registryCredentials", problem);
}

function parseCredentials(text: string | undefined): Record<string, RegistryAuth> {
  if (text === undefined || text === "") return {};
  const doc = parseDocument(text);
  return isMap(doc.contents) ? (doc.toJS() as Record<string, RegistryAuth>) : {};
}

/**
 * registries.yaml: the mirrors as given, each registry's TLS settings and, from the secret, its
 * auth. Holds secrets whenever `credentials` is set.
 */
export function renderRegistries(config: RegistriesConfig, credentials?: string): string {
  const auths = parseCredentials(credentials);
  const configs: Record<string, Record<string, unknown>> = {};
  for (const [name, c] of Object.entries(config.configs)) {
    if (c.tls && Object.keys(c.tls).length > 0) configs[name] = { tls: c.tls };
  }
  for (const [name, auth] of Object.entries(auths)) {
    configs[name] = { ...configs[name], auth };
  }
  const doc: Record<string, unknown> = {};
  if (Object.keys(config.mirrors).length > 0) doc.mirrors = config.mirrors;
  if (Object.keys(configs).length > 0) doc.configs = configs;
  return `${MANAGED_HEADER}\n${stringify(doc)}`;
}
