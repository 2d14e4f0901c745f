/**
 * What `npm run kubeconfig` takes from the stack's `kubeconfig` output: the cluster and the user its
 * current context names (the program's output has one of each, named after the component or
 * kubeconfigContext, see components/cluster/kubeconfig.ts). The text is a secret: no error here
 * quotes it, only names and line numbers.
 */
import { Document, isMap, isSeq, parseAllDocuments, YAMLMap } from "yaml";

export class KubeconfigError extends Error {}

/** A kubeconfig's cluster and user bodies, to be written under one name. */
export interface ClusterEntries {
  cluster: Record<string, unknown>;
  user: Record<string, unknown>;
  /** The output's context namespace, if it sets one. */
  namespace?: string;
}

export const LISTS = ["clusters", "contexts", "users"] as const;
export type ListKey = (typeof LISTS)[number];

/** Pulumi's own rule for a stack name (pkg/backend/diy/backend.go, validateStackName). */
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
/**
 * kubectl accepts any non-empty name (client-go tools/clientcmd/validation.go, validateContext);
 * the name is also typed in the commands this tool prints, so no spaces or shell characters.
 */
const CONTEXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,252}$/;

export function checkStackName(value: string): void {
  if (!STACK_NAME.test(value)) {
    throw new KubeconfigError(
      `--stack ${JSON.stringify(value)}: not a stack name. A stack name is 1 to 100 letters, ` +
        "digits, '-', '_' or '.', as in Pulumi.<stack>.yaml (e.g. --stack dev)",
    );
  }
}

export function checkContextName(value: string): void {
  if (!CONTEXT_NAME.test(value)) {
    throw new KubeconfigError(
      `--context ${JSON.stringify(value)}: not usable as a kubeconfig name here. Use 1 to 253 ` +
        "letters, digits and '-', '_', '.', ':', '@', '/', starting with a letter or digit " +
        "(e.g. --context dev-eu)",
    );
  }
}

/** Where a YAML parse error is, without the excerpt of the source the library adds. */
export function yamlErrorPlace(docs: Document.Parsed[]): string | undefined {
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      return pos ? `line ${pos.line}, column ${pos.col}: ${err.code}` : err.code;
    }
  }
  return undefined;
}

function plainMap(node: unknown): Record<string, unknown> | undefined {
  if (!isMap(node)) return undefined;
  const value: unknown = node.toJSON();
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function named(list: unknown, name: string): YAMLMap<unknown, unknown> | undefined {
  if (!isSeq(list)) return undefined;
  return list.items.find(
    (item): item is YAMLMap<unknown, unknown> => isMap(item) && item.get("name") === name,
  );
}

/** Reads the stack's kubeconfig output (as `pulumi stack output` printed it). */
export function readStackKubeconfig(text: string): ClusterEntries {
  const what = "the stack's kubeconfig output";
  if (text.trim() === "") throw new KubeconfigError(`${what} is empty`);
  if (text.trim() === "[secret]") {
    throw new KubeconfigError(`${what} came back as [secret]: it was read without --show-secrets`);
  }
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length === 0) {
    throw new KubeconfigError(`${what} holds no YAML document`);
  }
  const place = yamlErrorPlace(docs);
  if (place !== undefined) throw new KubeconfigError(`${what} is not valid YAML (${place})`);
  const doc = docs[0];
  if (docs.length !== 1 || !isMap(doc.contents)) {
    throw new KubeconfigError(`${what} is not a kubeconfig (one YAML mapping)`);
  }
  const root = doc.contents as YAMLMap<unknown, unknown>;
  const contexts = root.get("contexts");
  let contextName = root.get("current-context");
  if (typeof contextName !== "string" || contextName === "") {
    const items = isSeq(contexts) ? contexts.items : [];
    const only: unknown = items.length === 1 ? items[0] : undefined;
    contextName = isMap(only) ? only.get("name") : undefined;
  }
  if (typeof contextName !== "string") {
    throw new KubeconfigError(`${what} has no current-context and not exactly one context`);
  }
  const context = plainMap(named(contexts, contextName)?.get("context"));
  if (!context) throw new KubeconfigError(`${what} has no context named ${contextName}`);
  const clusterName = context.cluster;
  const userName = context.user;
  if (typeof clusterName !== "string" || typeof userName !== "string") {
    throw new KubeconfigError(`${what}: context ${contextName} names no cluster or no user`);
  }
  const cluster = plainMap(named(root.get("clusters"), clusterName)?.get("cluster"));
  if (!cluster || typeof cluster.server !== "string") {
    throw new KubeconfigError(`${what} has no cluster named ${clusterName} with a server`);
  }
  const user = plainMap(named(root.get("users"), userName)?.get("user"));
  if (!user) throw new KubeconfigError(`${what} has no user named ${userName}`);
  return {
    cluster,
    user,
    ...(typeof context.namespace === "string" && { namespace: context.namespace }),
  };
}
