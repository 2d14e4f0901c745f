/**
 * bench:program's command line: what it measures and how often. No side effects (the results test
 * imports the defaults).
 */

/** The previous release, measured beside this tree unless `--baseline <git ref>` names another. */
export const DEFAULT_BASELINE = "2fd9c21";
/** Agent counts (with 3 servers): four sizes, so growth can be judged. */
export const DEFAULT_SIZES = [3, 30, 100, 300];
/** Child processes per (tree, size). */
export const DEFAULT_REPEATS = 3;

export const USAGE = `Usage: npm run bench:program [-- --baseline <git ref>] [--repeats N] [--sizes 3,30,300]
       (child mode) node -r ts-node/register/transpile-only bench/program.ts --agents N [--program <index.ts>] [--stack-file <Pulumi.dev.yaml>]`;

export interface RunOptions {
  mode: "run";
  baseline: string;
  repeats: number;
  sizes: number[];
}

export interface ChildOptions {
  mode: "child";
  agents: number;
  /** The program to evaluate; this tree's index.ts when absent. */
  program?: string;
  /** The stack file whose config (plus generated agents) the program gets; this tree's dev stack when absent. */
  stackFile?: string;
}

function count(flag: string, v: string | undefined, min: number): number {
  if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) {
    throw new Error(`${flag} wants a whole number >= ${min}, got ${v ?? "nothing"}\n${USAGE}`);
  }
  return Number(v);
}

export function parseArgs(argv: string[]): RunOptions | ChildOptions {
  const values = new Map<string, string | undefined>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    if (
      !["--agents", "--program", "--stack-file", "--baseline", "--repeats", "--sizes"].includes(
        flag,
      )
    )
      throw new Error(`unknown argument ${flag}\n${USAGE}`);
    if (values.has(flag)) throw new Error(`${flag} given twice\n${USAGE}`);
    values.set(flag, argv[i + 1]);
  }
  const value = (flag: string): string | undefined => {
    if (!values.has(flag)) return undefined;
    const v = values.get(flag);
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} wants a value\n${USAGE}`);
    return v;
  };
  if (values.has("--agents")) {
    for (const flag of ["--baseline", "--repeats", "--sizes"]) {
      if (values.has(flag))
        throw new Error(`${flag} does not go with --agents (child mode)\n${USAGE}`);
    }
    return {
      mode: "child",
      agents: count("--agents", value("--agents"), 0),
      program: value("--program"),
      stackFile: value("--stack-file"),
    };
  }
  for (const flag of ["--program", "--stack-file"]) {
    if (values.has(flag)) throw new Error(`${flag} goes with --agents (child mode) only\n${USAGE}`);
  }
  const sizesArg = value("--sizes");
  const sizes = sizesArg
    ? [...new Set(sizesArg.split(",").map((s) => count("--sizes", s.trim(), 0)))].sort(
        (a, b) => a - b,
      )
    : DEFAULT_SIZES;
  return {
    mode: "run",
    baseline: value("--baseline") ?? DEFAULT_BASELINE,
    repeats: values.has("--repeats") ? count("--repeats", value("--repeats"), 1) : DEFAULT_REPEATS,
    sizes,
  };
}
