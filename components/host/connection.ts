/** SSH connection settings for the command provider, per host. */
import * as pulumi from "@pulumi/pulumi";
import { types } from "@pulumi/command";
import { BastionConfig, HostConfig } from "../config/types";

/** How the program reaches every host. */
export interface SshSettings {
  user: string;
  port: number;
  /** Secret private key; when absent the provider uses ssh-agent (SSH_AUTH_SOCK). */
  privateKey?: pulumi.Input<string>;
  /** The key file `privateKey` was read from, for tools that run the system's ssh (Docker). */
  privateKeyPath?: string;
  bastion?: BastionConfig;
  /**
   * Resolves once no host was moved or renamed in place (hostRecords.ts) and the values known only
   * at deploy time passed their checks; every step's connection waits for it.
   */
  hostsChecked?: pulumi.Output<unknown>;
}

/** A host as the components know it: its address and host key may be another resource's output. */
export type SshHost = HostConfig<pulumi.Input<string>>;

/**
 * A host's address as a step's connection gets it: only once the hosts are checked (records,
 * and the deploy-time checks of values that were outputs).
 */
export function checkedAddress(host: SshHost, ssh: SshSettings): pulumi.Input<string> {
  const checked = ssh.hostsChecked;
  if (!checked) return host.address;
  const address = host.address;
  return typeof address === "string"
    ? checked.apply(() => address)
    : pulumi.all([checked, address]).apply(([, resolved]) => resolved);
}

/** SSH dial retries: hosts that are still booting get about a minute before a step fails. */
export const DIAL_ERROR_LIMIT = 6;
export const PER_DIAL_TIMEOUT_SECONDS = 10;

const connections = new WeakMap<SshSettings, WeakMap<SshHost, types.input.remote.ConnectionArgs>>();

/** The connection of every step on `host`: one object per host, shared by its steps. */
export function connectionFor(host: SshHost, ssh: SshSettings): types.input.remote.ConnectionArgs {
  let byHost = connections.get(ssh);
  if (!byHost) connections.set(ssh, (byHost = new WeakMap()));
  let connection = byHost.get(host);
  if (!connection) byHost.set(host, (connection = newConnection(host, ssh)));
  return connection;
}

function newConnection(host: SshHost, ssh: SshSettings): types.input.remote.ConnectionArgs {
  const bastion = ssh.bastion;
  return {
    host: checkedAddress(host, ssh),
    port: ssh.port,
    user: ssh.user,
    ...(ssh.privateKey !== undefined ? { privateKey: ssh.privateKey } : {}),
    ...(host.hostKey ? { hostKey: host.hostKey } : {}),
    dialErrorLimit: DIAL_ERROR_LIMIT,
    perDialTimeout: PER_DIAL_TIMEOUT_SECONDS,
    ...(bastion
      ? {
          proxy: {
            host: bastion.host,
            port: bastion.port,
            user: bastion.user,
            ...(ssh.privateKey !== undefined ? { privateKey: ssh.privateKey } : {}),
            ...(bastion.hostKey ? { hostKey: bastion.hostKey } : {}),
            dialErrorLimit: DIAL_ERROR_LIMIT,
            perDialTimeout: PER_DIAL_TIMEOUT_SECONDS,
          },
        }
      : {}),
  };
}

/** Any user but root runs host scripts through sudo. */
export function needsSudo(ssh: SshSettings): boolean {
  return ssh.user !== "root";
}

/**
 * Options for the system's ssh client, which the Docker provider runs for `ssh://` hosts: the key
 * file, the jump host, and the pinned host key's type (the key itself must be in known_hosts).
 */
export function systemSshOptions(ssh: SshSettings): string[] {
  const bastion = ssh.bastion;
  return [
    ...(ssh.privateKeyPath ? ["-i", ssh.privateKeyPath] : []),
    ...(bastion ? ["-J", `${bastion.user}@${bastion.host}:${bastion.port}`] : []),
    "-o",
    "BatchMode=yes",
  ];
}
