/** Turns the lab's self-contained TypeScript programs into plain JS in the lab dir (fast start-up). */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

export const LAB_PROGRAMS = {
  standIn: path.join(__dirname, "stand-in", "server.ts"),
  loadClient: path.join(__dirname, "load", "client.ts"),
};
export type LabProgram = keyof typeof LAB_PROGRAMS;

export function transpilePrograms(outDir: string): Record<LabProgram, string> {
  fs.mkdirSync(outDir, { recursive: true });
  const out = {} as Record<LabProgram, string>;
  for (const [name, src] of Object.entries(LAB_PROGRAMS) as [LabProgram, string][]) {
    const js = ts.transpileModule(fs.readFileSync(src, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    out[name] = path.join(outDir, `${name}.js`);
    fs.writeFileSync(out[name], js);
  }
  return out;
}
