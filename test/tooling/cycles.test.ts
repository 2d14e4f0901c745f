/** `npm run lint:cycles`: madge finds no import cycle in the product code, and finds one where there is. */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../../harness/program/stacks";

const MADGE = path.join(REPO_ROOT, "node_modules", ".bin", "madge");

function madge(cwd: string, ...targets: string[]) {
  const r = spawnSync(MADGE, ["--circular", "--extensions", "ts", ...targets], {
    cwd,
    encoding: "utf8",
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("the import-cycle lint", function () {
  this.timeout(60_000);

  it("finds no cycle in components/ and index.ts", () => {
    const r = madge(REPO_ROOT, "components", "index.ts");
    expect(r.status, r.output).to.equal(0);
    expect(r.output).to.contain("No circular dependency found");
  });

  it("fails on a cycle, naming it (the check can fail)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-cycle-"));
    try {
      fs.writeFileSync(
        path.join(dir, "a.ts"),
        'import { b } from "./b";\nexport const a = () => b;\n',
      );
      fs.writeFileSync(
        path.join(dir, "b.ts"),
        'import { a } from "./a";\nexport const b = () => a;\n',
      );
      const r = madge(dir, ".");
      expect(r.status).to.not.equal(0);
      expect(r.output).to.match(/a\.ts > b\.ts/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
