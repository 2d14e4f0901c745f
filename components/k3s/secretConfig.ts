/**
 * The secret config fragments: YAML mappings of K3s settings that carry secrets (for example
 * `vpn-auth` or `etcd-s3-secret-key`), delivered on stdin into a 0600 drop-in under
 * /etc/rancher/k3s/config.yaml.d/, which K3s merges with config.yaml (K3s docs: Configuration File,
 * "Multiple Config Files"). Never echoed: a problem names the key and the setting, never a value.
 */
import { isMap, isScalar, isSeq, parseDocument } from "yaml";
import { Problems } from "../config/problems";
import { refusedFragmentKey } from "./flags";

export interface SecretConfigs {
  serverSecretConfig?: string;
  agentSecretConfig?: string;
}

const FRAGMENT_KEYS = ["serverSecretConfig", "agentSecretConfig"] as const;

function fragmentProblems(text: string): string[] {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const line = doc.errors[0].linePos?.[0].line;
    return [`is not valid YAML${line ? ` (line ${line})` : ""} (value not shown: it is a secret)`];
  }
  if (!isMap(doc.contents)) {
    return ["expected a YAML mapping of K3s settings such as `vpn-auth: ...` (value not shown)"];
  }
  const problems: string[] = [];
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined || !/^[a-z0-9][a-z0-9-]*\+?$/.test(key)) {
      problems.push("has a key that is not a K3s setting name (lower case, digits and '-')");
      continue;
    }
    const refused = refusedFragmentKey(key.replace(/\+$/, ""));
    if (refused) problems.push(refused);
    const value = pair.value;
    const scalarList = isSeq(value) && value.items.every((item) => isScalar(item));
    if (!isScalar(value) && !scalarList) {
      problems.push(`${key}: expected a value or a list of values (value not shown)`);
    }
  }
  return problems;
}

/** Adds a problem for each fragment that is not a mapping of settings the stack may set. */
export function checkSecretConfigs(p: Problems, secrets: SecretConfigs): void {
  for (const key of FRAGMENT_KEYS) {
    const text = secrets[key];
    if (text === undefined || text === "") continue;
    for (const problem of fragmentProblems(text)) p.error(key, problem);
  }
}
