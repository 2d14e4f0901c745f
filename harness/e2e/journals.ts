/**
 * Mocha hooks for an e2e suite: when a test fails, or a `before` hook fails so no test runs,
 * every host's journal is saved (E2eLab.saveJournals) before the suite's own `after` tears the
 * lab down. Call it in the suite's `describe`, before the suite's `after`.
 *
 *   describe("e2e: ...", function () { const lab = new E2eLab(); keepJournalsOfFailures(lab); ... });
 */
import { E2eLab } from "./lab";

export function keepJournalsOfFailures(lab: E2eLab): void {
  afterEach(async function () {
    const test = this.currentTest;
    if (test?.state === "failed") await lab.saveJournals(test.fullTitle());
  });
  after(async function () {
    const tests = this.test?.parent?.tests ?? [];
    const noneRan = tests.length > 0 && tests.every((t) => t.state === undefined && !t.pending);
    if (noneRan && lab.hosts.size > 0) await lab.saveJournals("before hook failed");
  });
}
