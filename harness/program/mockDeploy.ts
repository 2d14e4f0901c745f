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
import { StackConfig, fakeStdout } from "./mocks";

/** The docker provider's RemoteImage reports the image it pulled; the container names it. */
function providerOutputs(type: string, inputs: PropertyMap, name: string): PropertyMap {
  const outputs = outputsOnCreate({ type, custom: true, inputs }, fakeStdout(name));
  if (type === "docker:index/remoteImage:RemoteImage") {
    const digest = createHash("sha256").update(String(inputs.name)).digest("hex");
    return { ...outputs, imageId: `sha256:${digest}` };
  }
  return outputs;
}

const NO_HOST_PROVIDER: ProviderOps = {
  create: (req) =>
    Promise.resolve({
      id: newId(req.name),
      outputs: providerOutputs(req.type, req.inputs, req.name),
    }),
  update: (req) => Promise.resolve({ outputs: providerOutputs(req.type, req.newInputs, req.name) }),
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
  });
  const result = await deployment.finish(evaluation.programErrors[0]);
  return { plan: planOf(deployment, result), result, evaluation };
}
