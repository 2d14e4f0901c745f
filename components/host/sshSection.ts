/** The SSH settings: sshUser, sshPort, sshPrivateKeyPath, sshBastion. */
import type { BastionConfig, SshConfig } from "../config/types";
import type { RawClusterConfig } from "../config/keys";
import { show } from "../config/display";
import { readInt, readObject, readRequiredString, readString } from "../config/fields";
import { Problems } from "../config/problems";
import { KeyFor, hostProblem, readHostKeyText, userNameProblem } from "./sshValues";

export interface SshDefaults {
  user: string;
  port: number;
}

const BASTION_KEYS = ["host", "user", "port", "hostKey"] as const;

export function readUser(p: Problems, path: string, value: unknown): string | undefined {
  const user = readString(p, path, value, "a user name");
  const problem = user === undefined ? undefined : userNameProblem(user);
  if (problem) p.error(path, `${show(user, path)} is not a valid user name: ${problem}`);
  return problem ? undefined : user;
}

/** A pinned host key; a known_hosts line is taken when its host part names `to`. */
export function readHostKey(
  p: Problems,
  path: string,
  value: unknown,
  to?: KeyFor,
): string | undefined {
  const hostKey = readString(p, path, value, "a public host key as in known_hosts");
  if (hostKey === undefined) return undefined;
  const read = readHostKeyText(hostKey, to);
  if ("problem" in read) {
    p.error(path, read.problem);
    return undefined;
  }
  return read.key;
}

function readPrivateKeyPath(p: Problems, value: unknown): string | undefined {
  const path = "sshPrivateKeyPath";
  const keyPath = readString(p, path, value, "a file path");
  if (keyPath === undefined) return undefined;
  if (/PRIVATE KEY|[\r\n\0]/.test(keyPath)) {
    p.error(path, "holds key material, not a file path; set the sshPrivateKey secret instead");
    return undefined;
  }
  return keyPath;
}

function readBastion(
  p: Problems,
  value: unknown,
  defaults: SshDefaults,
): BastionConfig | undefined {
  const path = "sshBastion";
  const raw = readObject(p, path, value, "an object {host, user?, port?, hostKey?}", BASTION_KEYS);
  if (!raw) return undefined;
  const host = readRequiredString(p, `${path}.host`, raw.host, "an IP address or DNS host name");
  const hostIssue = host === undefined ? undefined : hostProblem(host);
  if (hostIssue) p.error(`${path}.host`, `${show(host, `${path}.host`)} ${hostIssue}`);
  const user = readUser(p, `${path}.user`, raw.user) ?? defaults.user;
  const port = readInt(p, `${path}.port`, raw.port, 1, 65535) ?? defaults.port;
  const to = host === undefined || hostIssue ? undefined : { host, port };
  const hostKey = readHostKey(p, `${path}.hostKey`, raw.hostKey, to);
  if (host === undefined || hostIssue) return undefined;
  return hostKey === undefined ? { host, user, port } : { host, user, port, hostKey };
}

/** Reads the SSH settings; the bastion's user defaults to sshUser, its port to the SSH default. */
export function readSshSection(
  p: Problems,
  raw: RawClusterConfig,
  defaults: SshDefaults,
): Omit<SshConfig, "trustAnyHostKey"> {
  const user = readUser(p, "sshUser", raw.sshUser) ?? defaults.user;
  const port = readInt(p, "sshPort", raw.sshPort, 1, 65535) ?? defaults.port;
  const privateKeyPath = readPrivateKeyPath(p, raw.sshPrivateKeyPath);
  const bastion = readBastion(p, raw.sshBastion, { user, port: defaults.port });
  return {
    user,
    port,
    ...(privateKeyPath !== undefined && { privateKeyPath }),
    ...(bastion !== undefined && { bastion }),
  };
}
