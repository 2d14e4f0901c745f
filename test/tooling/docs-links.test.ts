/**
 * Every relative link in README.md and docs/ leads somewhere: the file exists and, for `#anchor`,
 * the target Markdown file has a heading with that anchor as GitHub makes it. Moving a section
 * between pages breaks the links to it; this test names each one.
 *
 * Links inside code (fenced blocks and inline spans) are not links and are skipped. Anchors follow
 * GitHub's rule (the one github-slugger implements): the heading's text, lower-cased, with every
 * character that is not a letter, mark, number, connector (`_`), hyphen or space removed, spaces
 * turned into hyphens, and `-1`, `-2`, ... appended to repeats.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../../harness/program/stacks";

/** The lines of a Markdown file outside fenced code blocks. */
function outsideFences(text: string): string[] {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of text.split("\n")) {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence !== undefined) {
      if (open && open[1][0] === fence[0] && open[1].length >= fence.length) fence = undefined;
      continue;
    }
    if (open) {
      fence = open[1];
      continue;
    }
    out.push(line);
  }
  return out;
}

/** The lines of a Markdown file outside fenced code blocks, with inline code spans blanked. */
function proseLines(text: string): string[] {
  return outsideFences(text).map((line) =>
    line.replace(/(`+)[\s\S]*?\1/g, (m) => " ".repeat(m.length)),
  );
}

/** A heading's text as GitHub renders it (links by their text, code and emphasis marks gone). */
function headingText(raw: string): string {
  return raw
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`/g, "")
    .replace(/\*+/g, "")
    .trim();
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors GitHub gives a Markdown file's headings, repeats numbered. */
export function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of outsideFences(text)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = slug(headingText(heading[1]));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Every relative link target in a Markdown file: inline `[text](target)` and reference definitions. */
function linkTargets(text: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(text)) {
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]);
    const def = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (def) targets.push(def[1]);
  }
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

/** What is wrong with each relative link of `file` (a path under `root`), one line per broken link. */
export function brokenLinks(root: string, file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), "utf8");
  const problems: string[] = [];
  for (const target of linkTargets(text)) {
    const hash = target.indexOf("#");
    const filePart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved =
      filePart === ""
        ? path.join(root, file)
        : path.resolve(path.dirname(path.join(root, file)), filePart);
    if (!resolved.startsWith(root + path.sep) && resolved !== root) {
      problems.push(`${file}: ${target} leaves the repository`);
      continue;
    }
    if (!fs.existsSync(resolved)) {
      problems.push(`${file}: ${target}: no such file ${path.relative(root, resolved)}`);
      continue;
    }
    if (anchor === undefined || anchor === "") continue;
    if (!resolved.endsWith(".md")) {
      problems.push(`${file}: ${target}: an anchor into a file that is not Markdown`);
      continue;
    }
    const anchors = anchorsOf(fs.readFileSync(resolved, "utf8"));
    if (!anchors.has(anchor)) {
      problems.push(
        `${file}: ${target}: ${path.relative(root, resolved)} has no heading with the anchor #${anchor}`,
      );
    }
  }
  return problems;
}

function markdownFiles(root: string): string[] {
  const docs = fs
    .readdirSync(path.join(root, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => path.join("docs", f))
    .sort();
  return ["README.md", ...docs];
}

describe("links in README.md and docs/", () => {
  for (const file of markdownFiles(REPO_ROOT)) {
    it(`${file}: every relative link and anchor resolves`, () => {
      const problems = brokenLinks(REPO_ROOT, file);
      expect(problems, problems.join("\n")).to.deep.equal([]);
    });
  }

  describe("the check itself (it can fail)", () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-docs-links-"));
      fs.mkdirSync(path.join(dir, "docs"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function write(file: string, text: string) {
      fs.writeFileSync(path.join(dir, file), text);
    }

    it("names a missing file, a missing anchor and a link out of the repository", () => {
      write("docs/a.md", "# A\n\n## What it builds, in order\n");
      write(
        "README.md",
        [
          "# Top",
          "[ok](docs/a.md#what-it-builds-in-order) [ok too](#top) [web](https://example.com/x.md)",
          "[gone](docs/b.md) [bad anchor](docs/a.md#what-it-builds) [out](../../etc/passwd)",
          "",
        ].join("\n"),
      );
      expect(brokenLinks(dir, "README.md")).to.deep.equal([
        "README.md: docs/b.md: no such file docs/b.md",
        "README.md: docs/a.md#what-it-builds: docs/a.md has no heading with the anchor #what-it-builds",
        "README.md: ../../etc/passwd leaves the repository",
      ]);
    });

    it("skips links in code, and numbers repeated headings as GitHub does", () => {
      write(
        "docs/a.md",
        "# A\n\n## Día 2: `agentBatchSize`\n\n## Notes\n\n## Notes\n\n```md\n## Not a heading\n```\n",
      );
      write(
        "README.md",
        [
          "`[code](docs/none.md)`",
          "```",
          "[fenced](docs/none.md)",
          "```",
          "[a](docs/a.md#día-2-agentbatchsize) [b](docs/a.md#notes-1) [c](docs/a.md#not-a-heading)",
          "",
        ].join("\n"),
      );
      expect(brokenLinks(dir, "README.md")).to.deep.equal([
        "README.md: docs/a.md#not-a-heading: docs/a.md has no heading with the anchor #not-a-heading",
      ]);
    });

    it("gives the anchors GitHub gives", () => {
      expect([
        ...anchorsOf("# How this differs from the page, and why\n## 中文说明\n### A & B / C\n"),
      ]).to.deep.equal(["how-this-differs-from-the-page-and-why", "中文说明", "a--b--c"]);
    });
  });
});
