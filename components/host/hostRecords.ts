/**
 * Which host each name was deployed to, kept in the stack's state. Pulumi knows a host step by its
 * name: with a host's address changed under the same name it would update the steps in place on
 * the new host and never clean the old one; with a new name on an old host (or a node turned from
 * agent into server) it would install the new steps there and then run the old name's `delete`
 * (K3s's uninstall) on that same host. Such edits are refused before any host step runs.
 *
 * The records are local Commands with no command: nothing runs for them, here or on a host
 * (local/commandController.go in pulumi-command: Create, Update and Delete run nothing without a
 * command), and `ignoreChanges` keeps what they first stored, so their output is what the state
 * holds. A record is named after the host's name, and one after its address; an address that is
 * another resource's output (known at deploy time only) cannot name a resource, so those hosts
 * are kept in one address book instead (address-book.sh), a local command that refuses the same
 * edits when the run reaches it, before any host step.
 */
import * as pulumi from "@pulumi/pulumi";
import { local } from "@pulumi/command";
import { ConfigError } from "../config/errors";
import { IGNORED_INPUTS } from "./hostStep";
import { mapInput } from "./inputs";
import { scriptFile } from "./script";
import type { Naming } from "./naming";

export type HostRole = "server" | "agent" | "load balancer";

export interface RecordedHost {
  /** Where the host is in the configuration, e.g. `agents[2]`. */
  field: string;
  role: HostRole;
  name: string;
  /** A string, or another resource's output (known at deploy time). */
  address: pulumi.Input<string>;
}

/** An address as part of a resource name (IPv6 colons would read as URN separators). */
function addressKey(address: string): string {
  return address.replace(/:/g, "-");
}

function split(value: string | undefined): [string, string] {
  const text = value ?? "";
  const i = text.indexOf(" ");
  return [text.slice(0, i), text.slice(i + 1)];
}

function nameProblem(
  host: RecordedHost,
  address: string,
  recorded: string | undefined,
): string | undefined {
  const [role, recordedAddress] = split(recorded);
  const roleName = role.replace("-", " ");
  if (roleName !== host.role) {
    return `${host.field} (${host.name}): this stack deployed ${host.name} as ${article(roleName)}, and the stack file now lists it as ${article(host.role)}. Remove it, run pulumi up (it is drained and uninstalled), then add it back in its new role.`;
  }
  if (recordedAddress !== address) {
    return `${host.field} (${host.name}): this stack deployed ${host.name} to ${recordedAddress}, and the stack file now says ${address}. Pulumi would configure the new host and leave the old one as it is. To move a host, give the new one a new name (the old name's steps then remove it from ${recordedAddress} at the end of the run), or remove the entry in one run and add it back with the new address in the next.`;
  }
  return undefined;
}

function addressProblem(
  host: RecordedHost,
  address: string,
  recorded: string | undefined,
): string | undefined {
  const [, name] = split(recorded);
  if (name === host.name) return undefined;
  return `${host.field} (${host.name}): ${address} is ${name}'s host in this stack's state. A new name on the same host would install ${host.name} there and then run ${name}'s delete (its uninstall) on it. Remove ${name} and run pulumi up first, then add ${host.name}.`;
}

function article(role: string): string {
  return /^[aeiou]/.test(role) ? `an ${role}` : `a ${role}`;
}

/**
 * Records every host and resolves once none was moved, renamed in place or given another role;
 * rejects with a ConfigError naming each such host otherwise. Host steps wait for it. The verdict
 * is one more record, so each step depends on that one resource rather than on every record
 * (a dependency list per step as long as the host list would grow the state quadratically).
 */
export function checkHostRecords(
  hosts: RecordedHost[],
  naming: Naming,
  parent: pulumi.Resource,
): pulumi.Output<void> {
  const record = (recordName: string, value: pulumi.Input<string>) =>
    new local.Command(
      naming.name(recordName),
      { stdin: value },
      {
        parent,
        ignoreChanges: ["stdin", ...IGNORED_INPUTS],
        ...naming.formerlyAtRoot(recordName),
      },
    ).stdin;
  const checks = hosts.map((host) => {
    const role = host.role.replace(" ", "-");
    const byName = record(
      `${host.name}-host-record`,
      mapInput(host.address, (address) => `${role} ${address}`),
    );
    const byAddress =
      typeof host.address === "string"
        ? record(`address-${addressKey(host.address)}-host-record`, `${role} ${host.name}`)
        : undefined;
    return pulumi
      .all([byName, byAddress, host.address])
      .apply(
        ([n, a, address]) =>
          nameProblem(host, address, n) ??
          (byAddress ? addressProblem(host, address, a) : undefined),
      );
  });
  const deferred = hosts.filter((h) => typeof h.address !== "string");
  const book = deferred.length === 0 ? undefined : addressBook(deferred, naming, parent);
  const verdict = pulumi.all([pulumi.all(checks), book]).apply(([problems]) => {
    const found = problems.filter((p): p is string => p !== undefined);
    if (found.length > 0) throw new ConfigError(found);
    return "every host is where this stack deployed it";
  });
  return new local.Command(
    naming.name("host-records-checked"),
    { stdin: verdict },
    { parent, ...naming.formerlyAtRoot("host-records-checked") },
  ).stdin.apply(() => undefined);
}

/**
 * The hosts whose address is an output, checked by address-book.sh when the run reaches it; its
 * output is the book it accepted (the next run's PULUMI_COMMAND_STDOUT).
 */
function addressBook(
  hosts: RecordedHost[],
  naming: Naming,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const lines = pulumi
    .all(hosts.map((h) => h.address))
    .apply((addresses) =>
      addresses.map((address, i) => `${address} ${hosts[i].name} ${hosts[i].field}`).join("\n"),
    );
  return new local.Command(
    naming.name("address-book"),
    { create: scriptFile("host/address-book.sh"), stdin: lines },
    { parent, ignoreChanges: IGNORED_INPUTS },
  ).stdout;
}
