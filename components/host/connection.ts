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
  /** Resolves once no host was moved or renamed in place (hostRecords.ts); steps wait for it. */
  hostsChecked?: pulumi.Output<void>;
}

/** A host's address as a step's connection gets it: only once the host records are checked. */
export function checkedAddress(host: HostConfig, ssh: SshSettings): pulumi.Input<string> {
  return ssh.hostsChecked ? ssh.hostsChecked.apply(() => host.address) : host.address;
}

/** SSH dial retries: hosts that are still booting get about a minute before a step fails. */
export const DIAL_ERROR_LIMIT = 6;
export const PER_DIAL_TIMEOUT_SECONDS = 10;

export function connectionFor(
  host: HostConfig,
  ssh: SshSettings,
): types.input.remote.ConnectionArgs {
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
