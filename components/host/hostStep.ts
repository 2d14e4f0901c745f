/** The one way the program runs something on a host: a remote.Command built from a rendered script. */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { mapAll, mapInput } from "./inputs";
import { shQuote } from "./script";

/** Something whose change must re-run a step (a file another step wrote, a version). */
export interface RerunReason {
  /** What it is, as shown in the script's reason line ("config.yaml", "cluster-token"). */
  label: string;
  value: pulumi.Input<string>;
  /** Derived from a secret: its hash goes on stdin, which stays secret, not into the script. */
  secret?: boolean;
}

export interface HostStepArgs {
  connection: types.input.remote.ConnectionArgs;
  /** Run the scripts through `sudo -n` (any SSH user but root). */
  sudo: boolean;
  /** Script run on create and whenever an input changes; must be idempotent. */
  create: pulumi.Input<string>;
  /** Script that undoes the step when the resource is deleted. */
  delete?: pulumi.Input<string>;
  /** File content or secret for the script, sent on stdin (never on the command line). */
  stdin?: pulumi.Input<string>;
  /** The step handles a secret: nothing is logged and stdout/stderr are secret. */
  secret?: boolean;
  /** What else re-runs the step when it changes, besides its script and stdin. */
  rerunOn?: RerunReason[];
}

/**
 * Every input the provider or the SDK treats as replace-on-change. In @pulumi/command 1.2.1 that is
 * `triggers` alone (the provider's schema tags it, common/inputs.go in pulumi/pulumi-command, and
 * the SDK adds `replaceOnChanges: ["triggers[*]"]` to every Command), and a replacement runs the
 * old step's `delete` after the new `create`. The program never sets it. Stacks deployed by 0.1.0
 * hold hashes there: ignoring changes keeps those stored values, so they neither replace nor matter.
 */
export const IGNORED_INPUTS = ["triggers"];

/** The command line that runs a script as root: `sh -c` for root, `sudo -n sh -c` otherwise. */
export function commandLine(scriptText: string, sudo: boolean): string {
  return `${sudo ? "sudo -n " : ""}sh -c ${shQuote(scriptText)}`;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A value as the reason line shows it: short plain values as they are, others as a digest. */
function shown(value: string): string {
  return /^[A-Za-z0-9.+_:-]{1,40}$/.test(value) ? value : `sha256:${sha256(value).slice(0, 16)}`;
}

/** The first line of a script that re-runs on other things' changes: a change of it is an update. */
export function reasonLine(reasons: { label: string; value: string; secret?: boolean }[]): string {
  return `# k3s-ha re-runs this step when these change: ${reasons
    .map(
      (r) => `${r.label} ${r.secret ? `sha256:${sha256(r.value).slice(0, 16)}` : shown(r.value)}`,
    )
    .join(", ")}`;
}

/**
 * The script and stdin the step is registered with. Public reasons become the script's first line;
 * secret reasons are the stdin of a step that reads none, so the script closes its stdin first.
 */
function withReasons(args: HostStepArgs): {
  script: pulumi.Input<string>;
  stdin?: pulumi.Input<string>;
} {
  const reasons = args.rerunOn ?? [];
  const visible = reasons.filter((r) => !r.secret);
  const hidden = reasons.filter((r) => r.secret);
  if (hidden.length > 0 && args.stdin !== undefined) {
    throw new Error("hostStep: a step with stdin content cannot also carry secret re-run reasons");
  }
  const body = mapInput(args.create, (text) =>
    hidden.length > 0 ? `exec </dev/null\n${text}` : text,
  );
  const script =
    visible.length === 0
      ? body
      : mapAll([body, ...visible.map((r) => r.value)], ([text, ...values]) =>
          [reasonLine(visible.map((r, i) => ({ label: r.label, value: values[i] }))), text].join(
            "\n",
          ),
        );
  if (hidden.length === 0)
    return { script, ...(args.stdin !== undefined && { stdin: args.stdin }) };
  const stdin = pulumi.secret(
    pulumi
      .all(hidden.map((r) => r.value))
      .apply(
        (values) =>
          `${reasonLine(hidden.map((r, i) => ({ label: r.label, value: values[i], secret: true })))}\n`,
      ),
  );
  return { script, stdin };
}

export function hostStep(
  name: string,
  args: HostStepArgs,
  opts: pulumi.CustomResourceOptions,
): remote.Command {
  const { script, stdin } = withReasons(args);
  const create = mapInput(script, (text) => commandLine(text, args.sudo));
  const remove = args.delete && mapInput(args.delete, (text) => commandLine(text, args.sudo));
  return new remote.Command(
    name,
    {
      connection: args.connection,
      // No `update`: the provider runs `create` again when any input changes (pulumi-command
      // remote/commandController.go Update), an update in place. A changed script, stdin or
      // connection is an update in @pulumi/command 1.2.1, never a replacement.
      create,
      ...(remove ? { delete: remove } : {}),
      ...(stdin !== undefined ? { stdin } : {}),
      addPreviousOutputInEnv: false,
      ...(args.secret ? { logging: "none" } : {}),
    },
    {
      ...opts,
      ignoreChanges: [...(opts.ignoreChanges ?? []), ...IGNORED_INPUTS],
      ...(args.secret ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
    },
  );
}
