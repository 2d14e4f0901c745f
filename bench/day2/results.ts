/**
 * The day-2 figures: per edit, what the run did to the hosts' steps, its wall time and the client
 * load's failed new connections. Written by test/e2e/day2.test.ts when DAY2_RESULTS names a file
 * (npm run bench:day2): that JSON, and a markdown table beside it.
 */
import * as fs from "fs";

export interface Day2Load {
  target: string;
  failed: number;
  attempted: number;
  /** Failed connections by cause (timeout, ECONNREFUSED, a TLS error, ...). */
  causes: Record<string, number>;
  /** The longest stretch in which every new connection failed, ms. */
  longestOutageMs: number;
  watchesCut: number;
  watchesOpened: number;
}

export interface Day2Result {
  scenario: string;
  updated: number;
  replaced: number;
  created: number;
  deleted: number;
  wallSeconds: number;
  load: Day2Load[];
}

export function day2Table(results: Day2Result[]): string {
  const rows = results.map((r) => {
    const load = r.load
      .map((l) => {
        const outage =
          l.failed > 0 ? `, longest outage ${(l.longestOutageMs / 1000).toFixed(1)} s` : "";
        return `${l.failed}/${l.attempted} via ${l.target}${outage}`;
      })
      .join("; ");
    const cut = r.load.map((l) => `${l.watchesCut}/${l.watchesOpened}`).join("; ");
    return `| ${r.scenario} | ${r.updated} | ${r.replaced} | ${r.created} | ${r.deleted} | ${r.wallSeconds} | ${load} | ${cut} |`;
  });
  return [
    "| day-2 edit | steps updated | replaced | created | deleted | wall s | failed new connections | watches cut |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ...rows,
  ].join("\n");
}

export function writeDay2Results(file: string, results: Day2Result[]): void {
  fs.writeFileSync(
    file,
    `${JSON.stringify({ measuredAt: new Date().toISOString(), results }, null, 1)}\n`,
  );
  fs.writeFileSync(file.replace(/\.json$/, ".md"), `${day2Table(results)}\n`);
}
