/**
 * The subset of kubectl's `-o jsonpath=` templates the program's scripts use, for the stand-in
 * kubectl: fields (`\.` escapes a dot in a key), `[*]`, `[n]`, `[?(@.key=="value")]`,
 * `{range ...}...{end}` and quoted literals. Anything else throws, so a script that starts using
 * more of the syntax fails loudly instead of passing against a stand-in that misread it.
 */

type Segment =
  | { kind: "field"; name: string }
  | { kind: "all" }
  | { kind: "index"; index: number }
  | { kind: "filter"; key: string[]; value: string };

function splitFields(text: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\" && text[i + 1] === ".") {
      current += ".";
      i++;
    } else if (text[i] === ".") {
      out.push(current);
      current = "";
    } else current += text[i];
  }
  out.push(current);
  return out;
}

function parsePath(path: string): Segment[] {
  if (!path.startsWith(".")) throw new Error(`unsupported jsonpath expression: ${path}`);
  const segments: Segment[] = [];
  let rest = path;
  while (rest.length > 0) {
    let m: RegExpExecArray | null;
    if ((m = /^\[\*\]/.exec(rest))) segments.push({ kind: "all" });
    else if ((m = /^\[(\d+)\]/.exec(rest))) segments.push({ kind: "index", index: Number(m[1]) });
    else if ((m = /^\[\?\(@\.([A-Za-z0-9_.\\/-]+)=="([^"]*)"\)\]/.exec(rest))) {
      segments.push({ kind: "filter", key: splitFields(m[1]), value: m[2] });
    } else if ((m = /^\.((?:\\\.|[A-Za-z0-9_/-])+)/.exec(rest))) {
      for (const name of splitFields(m[1])) segments.push({ kind: "field", name });
    } else throw new Error(`unsupported jsonpath expression: ${path}`);
    rest = rest.slice(m[0].length);
  }
  return segments;
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

function evaluatePath(root: unknown, path: string): unknown[] {
  let values: unknown[] = [root];
  for (const seg of parsePath(path)) {
    const next: unknown[] = [];
    for (const v of values) {
      if (seg.kind === "field") next.push(field(v, seg.name));
      else if (!Array.isArray(v)) continue;
      else if (seg.kind === "all") next.push(...(v as unknown[]));
      else if (seg.kind === "index") next.push((v as unknown[])[seg.index]);
      else
        next.push(
          ...(v as unknown[]).filter((item) => show(seg.key.reduce(field, item)) === seg.value),
        );
    }
    values = next.filter((x) => x !== undefined);
  }
  return values;
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

type Node = { text: string } | { path: string } | { range: string; body: Node[] };

function parseTemplate(template: string): Node[] {
  const stack: Node[][] = [[]];
  const ranges: string[] = [];
  const re = /\{([^{}]*)\}|([^{}]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(template))) {
    const top = stack[stack.length - 1];
    if (m[2] !== undefined) {
      top.push({ text: m[2] });
      continue;
    }
    const expr = m[1].trim();
    if (expr.startsWith("range ")) {
      ranges.push(expr.slice(6).trim());
      stack.push([]);
    } else if (expr === "end") {
      const body = stack.pop();
      const range = ranges.pop();
      if (!body || range === undefined) throw new Error(`unbalanced {end} in ${template}`);
      stack[stack.length - 1].push({ range, body });
    } else if (/^"(.*)"$/s.test(expr)) {
      top.push({ text: JSON.parse(expr) as string });
    } else top.push({ path: expr });
  }
  if (stack.length !== 1) throw new Error(`unclosed {range} in ${template}`);
  return stack[0];
}

function render(nodes: Node[], root: unknown): string {
  return nodes
    .map((n) => {
      if ("text" in n) return n.text;
      if ("path" in n) return evaluatePath(root, n.path).map(show).join(" ");
      return evaluatePath(root, n.range)
        .map((item) => render(n.body, item))
        .join("");
    })
    .join("");
}

export function jsonpath(template: string, root: unknown): string {
  return render(parseTemplate(template), root);
}
