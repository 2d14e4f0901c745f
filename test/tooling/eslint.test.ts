import { expect } from "chai";
import { ESLint, Linter } from "eslint";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const PULUMI_RULE = "@pulumi/no-output-in-template-literal";

// Snippets are linted as if they were this file: it is in tsconfig.json, so the type-aware
// Pulumi rule sees real types (an `Output` from @pulumi/pulumi) without a fixture on disk.
async function lint(code: string): Promise<Linter.LintMessage[]> {
  const eslint = new ESLint({
    cwd: ROOT,
    overrideConfigFile: path.join(ROOT, "eslint.config.mjs"),
  });
  const [result] = await eslint.lintText(code, { filePath: __filename });
  return result.messages;
}

describe("ESLint configuration", () => {
  it("rejects an Output in a template literal with the Pulumi rule", async () => {
    const code = [
      'import * as pulumi from "@pulumi/pulumi";',
      'const address = pulumi.output("10.10.10.100");',
      "export const server = `https://${address}:6443`;",
      "",
    ].join("\n");
    const messages = await lint(code);
    const pulumi = messages.filter((m) => m.ruleId === PULUMI_RULE);
    expect(pulumi, JSON.stringify(messages)).to.have.length(1);
    expect(pulumi[0]).to.include({
      line: 3,
      severity: 2,
      message: "pulumi.Output<T> not permitted in template literals.",
    });
  });

  it("accepts the same string built with pulumi.interpolate", async () => {
    const code = [
      'import * as pulumi from "@pulumi/pulumi";',
      'const address = pulumi.output("10.10.10.100");',
      "export const server = pulumi.interpolate`https://${address}:6443`;",
      "",
    ].join("\n");
    expect(await lint(code)).to.deep.equal([]);
  });

  it("lets pulumi.log calls go unawaited but no other promise", async () => {
    const code = [
      'import * as pulumi from "@pulumi/pulumi";',
      'pulumi.log.warn("an even number of servers");',
      "Promise.resolve(1);",
      "",
    ].join("\n");
    const messages = await lint(code);
    expect(messages.map((m) => [m.ruleId, m.line])).to.deep.equal([
      ["@typescript-eslint/no-floating-promises", 3],
    ]);
  });

  it("applies the typescript-eslint recommended rules", async () => {
    const messages = await lint("export const anything: any = 1;\n");
    expect(messages.map((m) => m.ruleId)).to.deep.equal(["@typescript-eslint/no-explicit-any"]);
  });
});
