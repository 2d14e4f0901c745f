/**
 * What an edit would do to a deployed stack, without a backend or hosts: the program and stack
 * file of `against` (a git ref, or another stack file) stand for what is deployed; the working
 * tree's program and stack file for the edit. Both are evaluated under mocks, the first as the
 * state a `pulumi up` of it leaves, the second planned against that state by the engine model
 * (harness/engine), and the plan is printed per host: update, replace, create, delete.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { emptyState, outputsOnCreate, stateFromRegistrations } from "../harness/engine/state";
import { mockUp } from "../harness/program/mockDeploy";
import { PROGRAM, StackConfig, fakeStdout, runProgram } from "../harness/program/mocks";
import { REPO_ROOT, stackFile } from "../harness/program/stacks";
import { addWorktree, git, resolveCommit } from "../harness/shared/worktree";
import { OfflineConfig, offlineConfig, unpinnedNote } from "./offline-config";
import { parseStackFile, readStackFile } from "./stack-file";
import { renderPlan } from "./plan-render";

interface Deployed {
  /** The stack file's config, or undefined when the stack did not exist there. */
  config?: StackConfig;
  /** The program that deployed it. */
  program: string;
  /** Whether that program has the sshTrustAnyHostKey key (an older one refuses it as unknown). */
  knowsTrustAny: boolean;
  cleanup: () => void;
}

/** The stack as `against` has it: another stack file (this program), or a git ref. */
function deployedAt(stack: string, against: string): Deployed {
  if (fs.existsSync(against)) {
    return {
      config: readStackFile(against),
      program: PROGRAM,
      knowsTrustAny: true,
      cleanup: () => {},
    };
  }
  const commit = resolveCommit(REPO_ROOT, against, "--against");
  const worktree = addWorktree(REPO_ROOT, commit, "against");
  const file = path.relative(REPO_ROOT, stackFile(stack));
  let text: string | undefined;
  try {
    text = git(REPO_ROOT, ["show", `${commit}:${file}`]);
  } catch {
    text = undefined; // the stack is new in the edit
  }
  const config = text === undefined ? undefined : parseStackFile(text, `${against}:${file}`);
  const project = parse(git(REPO_ROOT, ["show", `${commit}:Pulumi.yaml`])) as { config?: object };
  return {
    config,
    program: worktree.program,
    knowsTrustAny: "sshTrustAnyHostKey" in (project.config ?? {}),
    cleanup: worktree.remove,
  };
}

/** Host address → name, from the stack files on both sides. */
function hostNames(configs: StackConfig[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const config of configs) {
    for (const key of ["servers", "agents", "lbHosts"]) {
      for (const h of (config[`k3s-ha:${key}`] ?? []) as { name: string; address: string }[]) {
        names.set(h.address, h.name);
      }
    }
  }
  return names;
}

export async function renderPlanAgainst(stack: string, against: string): Promise<string> {
  const deployed = deployedAt(stack, against);
  const configs: OfflineConfig[] = [];
  try {
    let state = emptyState(stack);
    if (deployed.config) {
      const old = offlineConfig(deployed.config, deployed.knowsTrustAny);
      configs.push(old);
      const run = await runProgram(old.config, old.secretKeys, stack, deployed.program);
      state = stateFromRegistrations(stack, run.resources, (r) =>
        outputsOnCreate(r, fakeStdout(r.name)),
      );
    }
    const edit = offlineConfig(readStackFile(stackFile(stack)));
    configs.push(edit);
    const { plan } = await mockUp(state, edit.config, {
      stack,
      secretKeys: edit.secretKeys,
      dryRun: true,
    });
    return (
      unpinnedNote(stack, edit.unpinned).join("\n") +
      renderPlan(plan, hostNames([...configs.map((c) => c.config)]))
    );
  } finally {
    for (const c of configs) c.cleanup();
    deployed.cleanup();
  }
}
