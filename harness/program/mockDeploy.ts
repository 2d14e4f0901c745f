/**
 * `pulumi up` (or `pulumi preview`) of the real program against a stack state, with no host: the
 * program runs under mocks, every registration goes through the engine model
 * (harness/engine), and a provider that runs nothing answers for every resource (the
 * steps whose stdout the program reads answer as in harness/program/mocks.ts). What the engine
 * would do to each step, and what the state is afterwards, come out exactly as with hosts.
 */
import { createHash } from "crypto";
import { evaluateProgram, ProgramEvaluation } from "../e2e/engine-runner";
import { Deployment, ProviderOps, RunResult } from "../engine/deployment";
import { Plan, planOf } from "../engine/plan";
import { PropertyMap } from "../engine/values";
import { StackState, emptyState, newId, outputsOnCreate } from "../engine/state";
import { StackConfig, fakeStdout, reveal } from "./mocks";
import { LOCAL_COMMAND_TYPE } from "../engine/providers";
import { runLocalCommand } from "../engine/localCommand";

/** The docker provider's RemoteImage reports the image it pulled; the container names it. */
function providerOutputs(type: string, inputs: PropertyMap, name: string): PropertyMap {
  const outputs = outputsOnCreate({ type, custom: true, inputs }, fakeStdout(name));
  if (type === "docker:index/remoteImage:RemoteImage") {
    const digest = createHash("sha256").update(String(inputs.name)).digest("hex");
    return { ...outputs, imageId: `sha256:${digest}` };
  }
  return outputs;
}

/**
 * A local command the program runs on the machine running Pulumi (the address book) runs here
 * for real, as pulumi-command runs it (harness/engine/localCommand.ts); nothing else runs.
 */
function localRun(
  type: string,
  inputs: PropertyMap,
  command: unknown,
  previous?: PropertyMap,
): PropertyMap | undefined {
  if (type !== LOCAL_COMMAND_TYPE || typeof command !== "string") return undefined;
  const plain = reveal(inputs) as PropertyMap;
  return { ...inputs, ...runLocalCommand(command, plain, reveal(previous ?? {}) as PropertyMap) };
}

const NO_HOST_PROVIDER: ProviderOps = {
  create: (req) =>
    Promise.resolve({
      id: newId(req.name),
      outputs:
        localRun(req.type, req.inputs, reveal(req.inputs.create)) ??
        providerOutputs(req.type, req.inputs, req.name),
    }),
  update: (req) => {
    const command = reveal(req.newInputs.update) ?? reveal(req.newInputs.create);
    return Promise.resolve({
      outputs:
        localRun(req.type, req.newInputs, command, req.oldOutputs) ??
        providerOutputs(req.type, req.newInputs, req.name),
    });
  },
  delete: () => Promise.resolve(),
};

export interface MockUp {
  plan: Plan;
  result: RunResult;
  evaluation: ProgramEvaluation;
}

export interface MockUpOptions {
  stack?: string;
  secretKeys?: string[];
  /** A preview: nothing is applied and the state is left as it was. */
  dryRun?: boolean;
  /** The program (default: this checkout's index.ts). */
  program?: string;
}

/** One run of the program against `state` (not mutated); `result.state` is the state after. */
export async function mockUp(
  state: StackState | undefined,
  config: StackConfig,
  opts: MockUpOptions = {},
): Promise<MockUp> {
  const stack = opts.stack ?? state?.stack ?? "mock";
  const deployment = new Deployment(structuredClone(state ?? emptyState(stack)), {
    provider: NO_HOST_PROVIDER,
    dryRun: opts.dryRun ?? false,
  });
  const evaluation = await evaluateProgram(config, deployment, {
    stack,
    secretKeys: opts.secretKeys ?? [],
    preview: opts.dryRun ?? false,
    ...(opts.program !== undefined && { program: opts.program }),
  });
  const result = await deployment.finish(evaluation.programErrors[0]);
  return { plan: planOf(deployment, result), result, evaluation };
}
