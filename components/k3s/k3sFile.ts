/** A file under /etc/rancher/k3s, written from stdin (mode 0600) and removed with the step. */
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { RerunReason, hostStep } from "../host/hostStep";
import { K3sRole, removeFileScript, writeK3sFileScript } from "./scripts";

export interface K3sFileArgs {
  connection: types.input.remote.ConnectionArgs;
  sudo: boolean;
  role: K3sRole;
  path: string;
  content: pulumi.Input<string>;
  /** A token: sent as a secret with a trailing newline; nothing is logged. */
  secret: boolean;
}

export function k3sFileStep(
  name: string,
  args: K3sFileArgs,
  opts: pulumi.CustomResourceOptions,
): remote.Command {
  return hostStep(
    name,
    {
      connection: args.connection,
      sudo: args.sudo,
      create: writeK3sFileScript(args.role, args.path),
      delete: removeFileScript(args.path),
      stdin: args.secret
        ? pulumi.secret(pulumi.output(args.content).apply((v) => `${v}\n`))
        : args.content,
      ...(args.secret ? { secret: true } : {}),
    },
    opts,
  );
}

/** A file's content as a re-run reason of the install step, which restarts K3s when it changes. */
export function fileReason(
  label: string,
  content: pulumi.Input<string>,
  secret: boolean,
): RerunReason {
  return { label, value: content, ...(secret && { secret }) };
}
