/**
 * The merge as an edit of the file's text, so that every byte outside our own entries stays as it
 * was (the yaml library's printer would also respace comments and flow lists elsewhere): an entry
 * of our name is replaced where it is, a new one goes after the last item of its list, and
 * current-context's value is replaced. Only for files whose three lists are non-empty block lists
 * and that have a current-context value when it must change; otherwise undefined, and the caller
 * uses the library's printer. Pure.
 */
import { isMap, isScalar, isSeq, parseDocument, stringify, YAMLMap } from "yaml";
import { LISTS, ListKey } from "./kubeconfig-entries";

interface Edit {
  start: number;
  end: number;
  text: string;
}

function column(text: string, offset: number): number {
  return offset - text.lastIndexOf("\n", offset - 1) - 1;
}

/** A list item's text for a "- " at column `at - 2`: lines after the first indented by `at`. */
function itemText(value: unknown, at: number, indentSeq: boolean): string {
  const lines = stringify(value, { lineWidth: 0, indentSeq }).split("\n");
  return lines.map((line, i) => (i === 0 || line === "" ? line : " ".repeat(at) + line)).join("\n");
}

export function spliceEntries(
  text: string,
  name: string,
  values: Record<ListKey, unknown>,
  setCurrent: boolean,
  indentSeq: boolean,
): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  const root = doc.contents as YAMLMap<unknown, unknown>;
  const edits: Edit[] = [];
  for (const key of LISTS) {
    const list = root.get(key, true);
    if (!isSeq(list) || list.flow || list.items.length === 0 || !list.range) return undefined;
    const items = list.items;
    const index = items.findIndex((item) => isMap(item) && item.get("name") === name);
    if (index >= 0) {
      const range = (items[index] as YAMLMap).range;
      if (!range) return undefined;
      const [start, end] = range;
      let replacement = itemText(values[key], column(text, start), indentSeq);
      if (!text.slice(start, end).endsWith("\n")) replacement = replacement.replace(/\n$/, "");
      edits.push({ start, end, text: replacement });
    } else {
      const last = items[items.length - 1] as YAMLMap;
      if (!isMap(last) || !last.range) return undefined;
      const end = last.range[1];
      const dash = column(text, list.range[0]);
      const newline = text[end - 1] === "\n" ? "" : "\n";
      const item = itemText(values[key], dash + 2, indentSeq);
      edits.push({ start: end, end, text: `${newline}${" ".repeat(dash)}- ${item}` });
    }
  }
  if (setCurrent) {
    const pair = root.items.find((p) => isScalar(p.key) && p.key.value === "current-context");
    const value = pair?.value;
    if (!isScalar(value) || !value.range) return undefined;
    if (value.value !== name) {
      edits.push({ start: value.range[0], end: value.range[1], text: stringify(name).trimEnd() });
    }
  }
  // A file with Windows line ends gets them in our lines too.
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  let out = text;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    const lines = edit.text.replace(/\r?\n/g, eol);
    out = out.slice(0, edit.start) + lines + out.slice(edit.end);
  }
  return out;
}
