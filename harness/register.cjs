// ts-node for the tests, tools and benchmarks: transpile only, with SWC (a tenth of the time
// TypeScript's own transpiler takes). The Pulumi CLI loads index.ts with its own ts-node.
require("ts-node").register({ swc: true });
