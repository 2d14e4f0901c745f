/** Queries over a recorded program run: steps per host, dependencies, rendered files. */
import { expect } from "chai";
import { ProgramRun, RecordedResource, reveal } from "./mocks";

export const COMMAND_TYPE = "command:remote:Command";

export function commands(run: ProgramRun): RecordedResource[] {
  return run.resources.filter((r) => r.type === COMMAND_TYPE);
}

export function step(run: ProgramRun, name: string): RecordedResource {
  const found = run.resources.filter((r) => r.name === name);
  expect(found, `exactly one resource named ${name}`).to.have.length(1);
  return found[0];
}

export function hostOf(r: RecordedResource): string {
  return (reveal(r.inputs.connection) as { host: string }).host;
}

/** Step names per host address, in registration order. */
export function stepsByHost(run: ProgramRun): Record<string, string[]> {
  const byHost: Record<string, string[]> = {};
  for (const c of commands(run)) (byHost[hostOf(c)] ??= []).push(c.name);
  return byHost;
}

/** The content a step sends on stdin (the file it writes), secrets revealed. */
export function stdinOf(run: ProgramRun, name: string): string {
  return reveal(step(run, name).inputs.stdin) as string;
}
