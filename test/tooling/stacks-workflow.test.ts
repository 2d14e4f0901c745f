import { expect } from "chai";
import { spawnSync, SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

// Runs the script of the reusable `stacks` workflow (the preview and deploy matrix) against
// throw-away git repositories, the way the runner does: bash -eo pipefail, outputs in a file.

interface Step {
  id?: string;
  run?: string;
}
interface Workflow {
  jobs: Record<string, { steps: Step[] }>;
}

const WORKFLOW = path.join(__dirname, "..", "..", ".github", "workflows", "stacks.yml");
const ZERO_SHA = "0".repeat(40);

function stacksScript(): string {
  const workflow = parse(readFileSync(WORKFLOW, "utf8")) as Workflow;
  const step = workflow.jobs.stacks.steps.find((s) => s.id === "stacks");
  if (!step?.run) throw new Error(`${WORKFLOW}: no step with id "stacks" and a run script`);
  return step.run;
}

class Repo {
  readonly dir = mkdtempSync(path.join(tmpdir(), "stacks-workflow-"));

  constructor() {
    this.git("init", "--quiet");
  }

  git(...args: string[]): string {
    const result = spawnSync("git", args, {
      cwd: this.dir,
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_AUTHOR_NAME: "test",
        GIT_AUTHOR_EMAIL: "test@example.invalid",
        GIT_COMMITTER_NAME: "test",
        GIT_COMMITTER_EMAIL: "test@example.invalid",
      },
    });
    if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trim();
  }

  /** Writes (string) or deletes (null) files and commits; returns the commit's sha. */
  commit(files: Record<string, string | null>): string {
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(this.dir, name);
      if (content === null) {
        unlinkSync(file);
      } else {
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
    }
    this.git("add", "--all");
    this.git("commit", "--quiet", "--allow-empty", "-m", "change");
    return this.git("rev-parse", "HEAD");
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Run {
  result: SpawnSyncReturns<string>;
  stacks?: string[];
}

function runScript(repo: Repo, inputs: { base?: string; head: string; stack?: string }): Run {
  const scriptFile = path.join(repo.dir, "..", `${path.basename(repo.dir)}.sh`);
  const outputFile = path.join(repo.dir, "..", `${path.basename(repo.dir)}.out`);
  writeFileSync(scriptFile, stacksScript());
  writeFileSync(outputFile, "");
  try {
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", scriptFile], {
      cwd: repo.dir,
      encoding: "utf8",
      timeout: 20_000,
      env: {
        PATH: process.env.PATH,
        BASE: inputs.base ?? "",
        HEAD: inputs.head,
        STACK: inputs.stack ?? "",
        GITHUB_OUTPUT: outputFile,
      },
    });
    const line = readFileSync(outputFile, "utf8")
      .split("\n")
      .find((l) => l.startsWith("stacks="));
    return {
      result,
      stacks: line ? (JSON.parse(line.slice("stacks=".length)) as string[]) : undefined,
    };
  } finally {
    rmSync(scriptFile, { force: true });
    rmSync(outputFile, { force: true });
  }
}

function stacksFor(repo: Repo, inputs: { base?: string; head: string; stack?: string }): string[] {
  const { result, stacks } = runScript(repo, inputs);
  expect(result.status, result.stderr + result.stdout).to.equal(0);
  expect(stacks, result.stdout).to.be.an("array");
  return stacks as string[];
}

describe("stacks workflow (preview and deploy matrix)", () => {
  let repo: Repo;
  let base: string;

  beforeEach(() => {
    repo = new Repo();
    base = repo.commit({
      "Pulumi.yaml": "name: k3s-ha\nruntime: nodejs\n",
      "Pulumi.dev.yaml": "config: {}\n",
      "Pulumi.prod.yaml": "config: {}\n",
      "index.ts": "export {};\n",
      "components/cluster/cluster.ts": "export {};\n",
      "package.json": "{}\n",
      "README.md": "# k3s-ha\n",
    });
  });

  afterEach(() => repo.remove());

  it("previews only the stack whose file changed", () => {
    const head = repo.commit({ "Pulumi.dev.yaml": "config: {a: 1}\n" });
    expect(stacksFor(repo, { base, head })).to.deep.equal(["dev"]);
  });

  for (const file of [
    "components/cluster/cluster.ts",
    "index.ts",
    "Pulumi.yaml",
    "package-lock.json",
  ]) {
    it(`previews every stack when ${file} changes`, () => {
      const head = repo.commit({ [file]: "// changed\n" });
      expect(stacksFor(repo, { base, head })).to.deep.equal(["dev", "prod"]);
    });
  }

  it("previews nothing for a change outside the program and the stack files", () => {
    const head = repo.commit({ "README.md": "changed\n", "docs/Pulumi.nested.yaml": "x: 1\n" });
    expect(stacksFor(repo, { base, head })).to.deep.equal([]);
  });

  it("includes an added stack and leaves out a deleted one", () => {
    const head = repo.commit({ "Pulumi.staging.yaml": "config: {}\n", "Pulumi.prod.yaml": null });
    expect(stacksFor(repo, { base, head })).to.deep.equal(["staging"]);
  });

  it("compares with the merge base, not with a base branch that moved on", () => {
    const head = repo.commit({ "Pulumi.dev.yaml": "config: {a: 1}\n" });
    repo.git("checkout", "--quiet", "--detach", base);
    const movedBase = repo.commit({ "Pulumi.prod.yaml": "config: {b: 2}\n" });
    expect(stacksFor(repo, { base: movedBase, head })).to.deep.equal(["dev"]);
  });

  it("uses every stack when the base commit is empty, all zeros or unknown", () => {
    const head = repo.commit({ "README.md": "changed\n" });
    for (const unknown of ["", ZERO_SHA, "1234567890abcdef1234567890abcdef12345678"]) {
      expect(stacksFor(repo, { base: unknown, head }), unknown).to.deep.equal(["dev", "prod"]);
    }
  });

  it("uses a named stack alone when its file exists", () => {
    expect(stacksFor(repo, { head: base, stack: "prod" })).to.deep.equal(["prod"]);
  });

  for (const stack of ["nope", "../Pulumi", "dev prod", "Pulumi.dev.yaml"]) {
    it(`fails for the named stack ${JSON.stringify(stack)}`, () => {
      const { result, stacks } = runScript(repo, { head: base, stack });
      expect(result.status).to.not.equal(0);
      expect(result.stdout).to.include(`::error::no stack file Pulumi.${stack}.yaml`);
      expect(stacks).to.equal(undefined);
    });
  }
});
