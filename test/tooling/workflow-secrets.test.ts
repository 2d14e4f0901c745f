import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

// Where the workflows read secrets. A pull request runs its own code, this repository's
// workflows as the branch has them included, so a secret is safe only where GitHub itself gates
// it: in a job that names an environment (required reviewers, deployment branch rules), with no
// secret at repository or organization level (docs/delivery.md). These tests check the first
// half on the workflow files; the second half is the repository's settings.

const WORKFLOWS_DIR = path.join(__dirname, "..", "..", ".github", "workflows");

/** The preview job's environment: reviewed before each run, never a deploy environment. */
const PREVIEW_ENVIRONMENT = "preview-${{ matrix.stack }}";
/** The deploy job's environment: the stack's own, which only main may deploy to. */
const DEPLOY_ENVIRONMENT = "${{ matrix.stack }}";

type Yaml = unknown;
interface Job {
  uses?: string;
  environment?: string | { name?: string };
  permissions?: string | Record<string, string>;
  secrets?: Yaml;
  steps?: { uses?: string; with?: Record<string, Yaml> }[];
  [key: string]: Yaml;
}
interface Workflow {
  on: string | string[] | Record<string, Yaml>;
  permissions?: string | Record<string, string>;
  jobs: Record<string, Job>;
  [key: string]: Yaml;
}

/** A place a workflow reads a secret: `<job or "workflow">: <key path>`. */
interface SecretRead {
  job?: string;
  where: string;
}

// `secrets` as a context name in an expression: secrets.X, secrets['X'], toJSON(secrets).
const SECRETS_CONTEXT = /(?<![\w.-])secrets\b/;

function expressions(key: string | undefined, text: string): string[] {
  const wrapped = [...text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1]);
  // `if:` takes a bare expression as well as a ${{ }} one.
  return key === "if" && wrapped.length === 0 ? [text] : wrapped;
}

function walk(value: Yaml, at: string[], found: (where: string) => void): void {
  if (typeof value === "string") {
    if (expressions(at[at.length - 1], value).some((e) => SECRETS_CONTEXT.test(e))) {
      found(at.join("."));
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => walk(item, [...at, String(index)], found));
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) walk(item, [...at, key], found);
  }
}

function secretReads(workflow: Workflow): SecretRead[] {
  const reads: SecretRead[] = [];
  for (const [key, value] of Object.entries(workflow)) {
    if (key !== "jobs") walk(value, [key], (where) => reads.push({ where }));
  }
  for (const [job, body] of Object.entries(workflow.jobs)) {
    walk(body, [], (where) => reads.push({ job, where }));
    // Passing secrets to a reusable workflow (a job with `uses:` cannot name an environment).
    if (body.secrets !== undefined) reads.push({ job, where: "secrets" });
  }
  return reads;
}

function environmentOf(job: Job): string | undefined {
  const env = job.environment;
  return typeof env === "string" ? env : env?.name;
}

function triggers(workflow: Workflow): string[] {
  const on = workflow.on;
  if (typeof on === "string") return [on];
  return Array.isArray(on) ? on : Object.keys(on);
}

function load(file: string): Workflow {
  return parse(readFileSync(path.join(WORKFLOWS_DIR, file), "utf8")) as Workflow;
}

const FILES = readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f));

describe("workflow secrets", () => {
  describe("the detector", () => {
    it("finds every way a broken workflow reads secrets", () => {
      const broken = parse(
        [
          "on: pull_request",
          "env:",
          "  TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}",
          "jobs:",
          "  leaky:",
          "    runs-on: ubuntu-latest",
          "    env:",
          "      ALL: ${{ toJSON(secrets) }}",
          "    steps:",
          "      - if: secrets.PULUMI_CONFIG_PASSPHRASE != ''",
          "        run: echo hi",
          "      - uses: some/action@v1",
          "        with:",
          "          key: \"${{ secrets['SSH_KEY'] }}\"",
          "  reusable:",
          "    uses: ./.github/workflows/stacks.yml",
          "    secrets: inherit",
          "  clean:",
          "    runs-on: ubuntu-latest",
          "    steps:",
          "      - run: echo ${{ github.sha }} mysecrets.txt",
          "        env:",
          "          SHA: ${{ github.event.pull_request.head.sha }}",
          "",
        ].join("\n"),
      ) as Workflow;
      expect(secretReads(broken)).to.deep.equal([
        { where: "env.TOKEN" },
        { job: "leaky", where: "env.ALL" },
        { job: "leaky", where: "steps.0.if" },
        { job: "leaky", where: "steps.1.with.key" },
        { job: "reusable", where: "secrets" },
      ]);
    });
  });

  it("no workflow runs on pull_request_target or workflow_run", () => {
    // Both run with the base repository's secrets on behalf of a pull request's code.
    for (const file of FILES) {
      expect(triggers(load(file)), file).to.not.include.members(["pull_request_target"]);
      expect(triggers(load(file)), file).to.not.include.members(["workflow_run"]);
    }
  });

  for (const file of FILES) {
    it(`${file}: every secret is read in a job that names an environment`, () => {
      const workflow = load(file);
      const ungated = secretReads(workflow).filter(
        (r) => r.job === undefined || environmentOf(workflow.jobs[r.job]) === undefined,
      );
      expect(ungated).to.deep.equal([]);
    });
  }

  it("preview.yml runs on pull_request only, its secrets behind the reviewed preview environment", () => {
    const workflow = load("preview.yml");
    expect(triggers(workflow)).to.deep.equal(["pull_request"]);
    const reads = secretReads(workflow);
    expect(reads.map((r) => r.where)).to.include.members([
      "steps.3.env.PULUMI_ACCESS_TOKEN",
      "steps.3.env.PULUMI_CONFIG_PASSPHRASE",
    ]);
    expect(reads.filter((r) => r.job !== "preview")).to.deep.equal([]);
    expect(environmentOf(workflow.jobs.preview)).to.equal(PREVIEW_ENVIRONMENT);
  });

  it("deploy.yml keeps its own environment, named after the stack, and no pull-request trigger", () => {
    const workflow = load("deploy.yml");
    expect(triggers(workflow).sort()).to.deep.equal(["push", "workflow_dispatch"]);
    expect(workflow.on).to.have.nested.property("push.branches").that.deep.equals(["main"]);
    const reads = secretReads(workflow);
    expect(reads).to.not.deep.equal([]);
    expect(reads.filter((r) => r.job !== "up")).to.deep.equal([]);
    expect(environmentOf(workflow.jobs.up)).to.equal(DEPLOY_ENVIRONMENT);
    // A preview can never land in a deploy environment: those are the bare stack names.
    expect(PREVIEW_ENVIRONMENT).to.not.equal(DEPLOY_ENVIRONMENT);
    expect(PREVIEW_ENVIRONMENT.startsWith("preview-")).to.equal(true);
  });

  for (const file of FILES) {
    it(`${file}: every checkout leaves no credentials behind`, () => {
      const workflow = load(file);
      for (const [jobId, job] of Object.entries(workflow.jobs)) {
        for (const step of job.steps ?? []) {
          if (step.uses?.startsWith("actions/checkout@")) {
            expect(step.with?.["persist-credentials"], `${file} ${jobId}`).to.equal(false);
          }
        }
      }
    });
  }

  it("grants write access only for the preview comment", () => {
    const writes: string[] = [];
    for (const file of FILES) {
      const workflow = load(file);
      expect(workflow.permissions, `${file}: permissions`).to.be.an("object");
      const scopes: [string, Workflow["permissions"]][] = [
        ["workflow", workflow.permissions],
        ...Object.entries(workflow.jobs).map(
          ([id, job]) => [id, job.permissions] as [string, Job["permissions"]],
        ),
      ];
      for (const [where, permissions] of scopes) {
        // read-all and write-all are the only string forms; both grant more than needed.
        expect(typeof permissions, `${file} ${where}`).to.not.equal("string");
        for (const [scope, level] of Object.entries(permissions ?? {})) {
          if (level === "write") writes.push(`${file} ${where} ${scope}`);
        }
      }
    }
    expect(writes).to.deep.equal(["preview.yml preview pull-requests"]);
  });
});
