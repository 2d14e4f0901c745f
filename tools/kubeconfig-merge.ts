/**
 * Puts one cluster, user and context, all under one name, into a kubeconfig's text: replaces the
 * entries of that name where they are, appends them otherwise, and leaves every other entry, key
 * and comment as it was: byte for byte when the edit can be made on the text
 * (kubeconfig-splice.ts), else as the yaml library's Document keeps them (comments and order
 * kept, spacing normalised). Pure; errors never quote the file.
 */
import { isDeepStrictEqual } from "util";
import {
  Document,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  parseDocument,
  YAMLMap,
  YAMLSeq,
} from "yaml";
import {
  ClusterEntries,
  KubeconfigError,
  LISTS,
  ListKey,
  yamlErrorPlace,
} from "./kubeconfig-entries";
import { spliceEntries } from "./kubeconfig-splice";

export interface MergeOptions {
  /** Set current-context to the name: always, or only when the file names none. */
  currentContext: "set" | "if-unset";
}

export interface MergeResult {
  text: string;
  /** Whether entries of that name were there before (and are replaced). */
  replaced: boolean;
  /** The server the cluster of that name had before, when it had one. */
  previousServer?: string;
  /** current-context after the merge. */
  currentContext: string | undefined;
}

const KUBECONFIG_KEYS = ["apiVersion", "kind", "current-context", "preferences", ...LISTS];

function describe(value: unknown): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : "not a name";
}

/** A key's value as JavaScript (a scalar's value, a collection's node). */
function get(map: YAMLMap, key: string): unknown {
  return map.get(key);
}

/**
 * The file's parsed document, or undefined when it holds no document (empty, or comments only).
 * kubectl reads both, and a null document, as a kubeconfig without entries.
 */
function parseKubeconfig(text: string, shown: string): Document.Parsed | undefined {
  const refuse = (why: string) =>
    new KubeconfigError(`${shown} ${why}: refused, nothing was written`);
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length === 0) return undefined;
  const place = yamlErrorPlace(docs);
  if (place !== undefined) throw refuse(`is not valid YAML (${place})`);
  if (docs.length > 1) throw refuse("holds more than one YAML document: not a kubeconfig");
  const doc = docs[0];
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return doc;
  if (!isMap(doc.contents)) throw refuse("is not a kubeconfig (its top level is not a mapping)");
  const root = doc.contents as YAMLMap<unknown, unknown>;
  const keys = root.items.map((pair) => (isScalar(pair.key) ? pair.key.value : undefined));
  if (!keys.some((k) => typeof k === "string" && KUBECONFIG_KEYS.includes(k))) {
    throw refuse("is not a kubeconfig (none of apiVersion, kind, clusters, contexts, users)");
  }
  const kind = get(root, "kind");
  if (kind !== undefined && kind !== null && kind !== "Config") {
    throw refuse(`is not a kubeconfig (kind ${describe(kind)}, not Config)`);
  }
  const version = get(root, "apiVersion");
  if (version !== undefined && version !== null && version !== "v1") {
    throw refuse(`is not a kubeconfig kubectl reads (apiVersion ${describe(version)}, not v1)`);
  }
  const current = get(root, "current-context");
  if (current !== undefined && current !== null && typeof current !== "string") {
    throw refuse("is not a kubeconfig (current-context is not a name)");
  }
  for (const key of LISTS) {
    const list = root.get(key);
    if (list === undefined || list === null) continue;
    if (!isSeq(list)) throw refuse(`is not a kubeconfig (${key} is not a list)`);
    const seen = new Set<string>();
    list.items.forEach((item, i) => {
      const name = isMap(item) ? get(item, "name") : undefined;
      if (typeof name !== "string") {
        throw refuse(`is not a kubeconfig (${key} item ${i + 1} has no name)`);
      }
      if (seen.has(name)) {
        throw refuse(`has two ${key} named ${name}, which kubectl refuses: remove one`);
      }
      seen.add(name);
    });
  }
  return doc;
}

/** Whether the file's lists put "- " under the key's column (kubectl's style) or indent it. */
function indentsSequences(doc: Document.Parsed | undefined, text: string): boolean {
  if (!doc || !isMap(doc.contents)) return false;
  for (const pair of doc.contents.items) {
    const value = pair.value;
    if (isSeq(value) && !value.flow && isScalar(pair.key) && value.range && pair.key.range) {
      const column = (offset: number) => offset - text.lastIndexOf("\n", offset - 1) - 1;
      return column(value.range[0]) > column(pair.key.range[0]);
    }
  }
  return false;
}

function entryValues(name: string, entries: ClusterEntries, namespace: string | undefined) {
  const ns = namespace ?? entries.namespace;
  return {
    clusters: { cluster: entries.cluster, name },
    contexts: {
      // kubectl's key order.
      context: { cluster: name, ...(ns !== undefined && { namespace: ns }), user: name },
      name,
    },
    users: { name, user: entries.user },
  } satisfies Record<ListKey, unknown>;
}

/**
 * Merges the entries into `existing` (undefined: no file). A context of that name keeps the
 * namespace it was given (kubectl config set-context --current --namespace=...).
 */
export function mergeKubeconfig(
  existing: string | undefined,
  shown: string,
  name: string,
  entries: ClusterEntries,
  options: MergeOptions,
): MergeResult {
  const parsed = existing === undefined ? undefined : parseKubeconfig(existing, shown);
  const root =
    parsed && isMap(parsed.contents) ? (parsed.contents as YAMLMap<unknown, unknown>) : undefined;
  const namedItem = (key: ListKey): { list: YAMLSeq; index: number } | undefined => {
    const list = root?.get(key);
    if (!isSeq(list)) return undefined;
    const index = list.items.findIndex((item) => isMap(item) && get(item, "name") === name);
    return index < 0 ? undefined : { list, index };
  };
  const oldContext = namedItem("contexts");
  const oldBody = oldContext && (oldContext.list.items[oldContext.index] as YAMLMap).get("context");
  const oldNamespace = isMap(oldBody) ? oldBody.get("namespace") : undefined;
  const values = entryValues(
    name,
    entries,
    typeof oldNamespace === "string" ? oldNamespace : undefined,
  );
  const replaced = LISTS.some((key) => namedItem(key) !== undefined);
  const oldCluster = namedItem("clusters");
  const oldClusterBody =
    oldCluster && (oldCluster.list.items[oldCluster.index] as YAMLMap).get("cluster");
  const previousServer: unknown = isMap(oldClusterBody) ? oldClusterBody.get("server") : undefined;

  const indentSeq = indentsSequences(parsed, existing ?? "");
  const current = root?.get("current-context");
  const setCurrent =
    options.currentContext === "set" || typeof current !== "string" || current === "";
  const spliced =
    root && existing !== undefined
      ? spliceEntries(existing, name, values, setCurrent, indentSeq)
      : undefined;

  let doc: Document;
  if (!root) {
    // kubectl's own layout for a new file: keys in this order, lists not indented.
    doc = parsed ?? new Document();
    doc.contents = doc.createNode({
      apiVersion: "v1",
      clusters: [values.clusters],
      contexts: [values.contexts],
      "current-context": name,
      kind: "Config",
      preferences: {},
      users: [values.users],
    });
  } else {
    doc = parsed!;
    for (const key of LISTS) {
      const node = doc.createNode(values[key]);
      const found = namedItem(key);
      if (found) {
        const old = found.list.items[found.index] as YAMLMap;
        node.commentBefore = old.commentBefore;
        node.spaceBefore = old.spaceBefore;
        node.comment = old.comment;
        found.list.items[found.index] = node;
      } else if (isSeq(root.get(key))) {
        (root.get(key) as YAMLSeq).items.push(node);
      } else {
        root.set(key, doc.createNode([values[key]]));
      }
    }
    if (setCurrent) root.set("current-context", name);
  }
  let text = doc.toString({ lineWidth: 0, indentSeq });
  // The text edit keeps the rest of the file byte for byte; it is used when it reads back as
  // the same kubeconfig as the printer's whole-file output.
  if (spliced !== undefined) {
    const back = parseDocument(spliced);
    if (back.errors.length === 0 && isDeepStrictEqual(back.toJS(), doc.toJS())) text = spliced;
  }
  // A file of comments only parses to no document: keep them above the new one.
  if (!parsed && existing !== undefined && existing.trim() !== "") {
    text = `${existing.replace(/\n*$/, "\n")}${text}`;
  }
  const after: unknown = isMap(doc.contents) ? doc.contents.get("current-context") : undefined;
  return {
    text,
    replaced,
    ...(typeof previousServer === "string" && { previousServer }),
    currentContext: typeof after === "string" ? after : undefined,
  };
}
