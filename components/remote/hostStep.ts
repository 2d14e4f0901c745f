/** The one way the program runs something on a host: a remote.Command built from a rendered script. */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { shQuote } from "../render/shell";

export interface HostStepArgs {
  connection: types.input.remote.ConnectionArgs;
  /** Run the scripts through `sudo -n` (any SSH user but root). */
  sudo: boolean;
  /** Script run on create and whenever an input changes; must be idempotent. */
  create: string;
  /** Script that undoes the step when the resource is deleted. */
  delete?: string;
  /** File content or secret for the script, sent on stdin (never on the command line). */
  stdin?: pulumi.Input<string>;
  /** The step handles a secret: nothing is logged and stdout/stderr are secret. */
  secret?: boolean;
  /** Extra values whose change re-runs the step (e.g. what it depends on on another host). */
  triggers?: pulumi.Input<string>[];
}

/** The command line that runs a script as root: `sh -c` for root, `sudo -n sh -c` otherwise. */
export function commandLine(scriptText: string, sudo: boolean): string {
  return `${sudo ? "sudo -n " : ""}sh -c ${shQuote(scriptText)}`;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function hostStep(
  name: string,
  args: HostStepArgs,
  opts: pulumi.CustomResourceOptions,
): remote.Command {
  const create = commandLine(args.create, args.sudo);
  // A change of the stdin content re-runs the step; hashing it keeps the preview readable.
  // A secret's hash stays secret too.
  const contentHash =
    args.stdin === undefined
      ? undefined
      : pulumi.output(args.stdin).apply((content) => sha256(content));
  const triggers = [
    sha256(args.create),
    ...(contentHash ? [args.secret ? pulumi.secret(contentHash) : contentHash] : []),
    ...(args.triggers ?? []),
  ];
  return new remote.Command(
    name,
    {
      connection: args.connection,
      create,
      // With `update` set, a changed input re-runs the idempotent script in place instead of
      // replacing the resource (a replacement would run the old step's `delete` afterwards).
      update: create,
      ...(args.delete ? { delete: commandLine(args.delete, args.sudo) } : {}),
      ...(args.stdin !== undefined ? { stdin: args.stdin } : {}),
      triggers,
      addPreviousOutputInEnv: false,
      ...(args.secret ? { logging: "none" } : {}),
    },
    {
      ...opts,
      ...(args.secret ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
    },
  );
}
