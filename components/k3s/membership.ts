/**
 * A node's membership step. It runs on a server that stays (server-1; for server-1 the next
 * server) and depends on the node's install, so when the node leaves the stack Pulumi deletes it
 * first: it drains the node and deletes its node object (a server's etcd member with it, after a
 * quorum check) while the node's own uninstall, which needs its host, comes after.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { K3sConfig, UpgradeConfig } from "../config/types";
import { SshHost, SshSettings, connectionFor, needsSudo } from "../host/connection";
import { mapInput } from "../host/inputs";
import { hostStep } from "../host/hostStep";
import { K3sRole } from "./scripts";
import { membershipCreateScript, membershipDeleteScript } from "./membershipScripts";

export interface MembershipArgs {
  /** The server the step runs on. */
  actingHost: SshHost;
  /** The VIP or Nginx host: the API to use when the acting host's own does not answer. */
  registrationAddress: pulumi.Input<string>;
  /** Steps that must exist first: the acting host's install, the gate, a previous membership. */
  after: pulumi.Resource[];
}

export interface MemberNode {
  role: K3sRole;
  node: SshHost;
  ssh: SshSettings;
  k3s: K3sConfig;
  upgrade: UpgradeConfig;
}

export function membershipStep(
  name: string,
  member: MemberNode,
  args: MembershipArgs,
  opts: pulumi.CustomResourceOptions,
): remote.Command {
  const scriptArgs = (registrationAddress: string) => ({
    role: member.role,
    nodeName: member.node.name,
    registrationAddress,
    drainTimeoutSeconds: member.upgrade.drainTimeoutSeconds,
    // In the script: an upgrade re-runs the step, which proves the node is back at the new
    // version and uncordons it.
    version: member.k3s.version,
  });
  return hostStep(
    name,
    {
      connection: connectionFor(args.actingHost, member.ssh),
      sudo: needsSudo(member.ssh),
      create: mapInput(args.registrationAddress, (a) => membershipCreateScript(scriptArgs(a))),
      delete: mapInput(args.registrationAddress, (a) => membershipDeleteScript(scriptArgs(a))),
    },
    { ...opts, dependsOn: [...toArray(opts.dependsOn), ...args.after] },
  );
}

function toArray(deps: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
  if (deps === undefined) return [];
  return Array.isArray(deps) ? deps : [deps as pulumi.Input<pulumi.Resource>];
}
