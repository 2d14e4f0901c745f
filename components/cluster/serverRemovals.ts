/**
 * Server removals that would lose the cluster are refused before any host changes: by the
 * cluster's state (server-removal-check.sh: an etcd member that stays is not Ready), then by the
 * edit (server-list-record.sh: too many servers removed in one run, a new first server). The
 * record runs after the check, so it accepts only a list the cluster's state allowed; every other
 * host step waits for both.
 */
import * as pulumi from "@pulumi/pulumi";
import { local, remote } from "@pulumi/command";
import { SshHost, SshSettings, connectionFor, needsSudo } from "../host/connection";
import { IGNORED_INPUTS, hostStep } from "../host/hostStep";
import { hostScript } from "../host/script";

/**
 * The stack's server names as the last successful run accepted them (a local command; its stdout
 * is the accepted list, which the next run compares with).
 */
export function serverListRecord(
  name: string,
  servers: string[],
  field: string,
  after: pulumi.Output<unknown>,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const list = servers.map((s) => `${s}\n`).join("");
  return new local.Command(
    name,
    {
      create: hostScript("cluster/server-list-record.sh", { field }),
      stdin: after.apply(() => list),
    },
    { parent, ignoreChanges: IGNORED_INPUTS },
  ).stdout;
}

export interface ServerRemovalCheckArgs {
  /** The first server, which stays in every accepted edit. */
  host: SshHost;
  servers: string[];
  field: string;
  ssh: SshSettings;
  opts: pulumi.CustomResourceOptions;
}

/** Re-runs whenever the server list changes (the list is in its script); reads, changes nothing. */
export function serverRemovalCheck(name: string, args: ServerRemovalCheckArgs): remote.Command {
  return hostStep(
    name,
    {
      connection: connectionFor(args.host, args.ssh),
      sudo: needsSudo(args.ssh),
      create: hostScript("cluster/server-removal-check.sh", {
        servers: args.servers.join(" "),
        field: args.field,
      }),
    },
    args.opts,
  );
}
