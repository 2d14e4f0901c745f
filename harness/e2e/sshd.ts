/**
 * SSH material for the lab: two client keys (a stack can rotate from one to the other), both
 * authorized for root and the sudo user on every host; a host key per host; each sshd_config.
 */
import * as fs from "fs";
import * as path from "path";
import { E2E_DIR, SUDO_USER } from "./constants";
import { run } from "../shared/sh";

export const KEY_DIR = path.join(E2E_DIR, "keys");
export const CLIENT_KEY = path.join(KEY_DIR, "id_ed25519");
/** The second client key, for an SSH key rotation. */
export const SECOND_CLIENT_KEY = path.join(KEY_DIR, "id_ed25519_second");
export const AUTHORIZED_KEYS = path.join(KEY_DIR, "authorized_keys");

/** Generates the lab's client keys and the authorized_keys file every host's sshd reads. */
export async function generateClientKey(): Promise<void> {
  fs.mkdirSync(KEY_DIR, { recursive: true, mode: 0o755 });
  const keys: [string, string][] = [
    [CLIENT_KEY, "k3sha-e2e"],
    [SECOND_CLIENT_KEY, "k3sha-e2e-second"],
  ];
  for (const [file, comment] of keys) {
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.pub`, { force: true });
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
    fs.chmodSync(file, 0o600);
  }
  const authorized = keys.map(([file]) => fs.readFileSync(`${file}.pub`, "utf8").trim());
  fs.writeFileSync(AUTHORIZED_KEYS, `${authorized.join("\n")}\n`, { mode: 0o644 });
  fs.chmodSync(AUTHORIZED_KEYS, 0o644);
}

/**
 * Which client keys every host accepts from now on (sshd reads authorized_keys at each login):
 * e.g. only the second one, after a stack moved to it.
 */
export function setAuthorizedClientKeys(privateKeyPaths: string[]): void {
  const lines = privateKeyPaths.map((file) => fs.readFileSync(`${file}.pub`, "utf8").trim());
  fs.writeFileSync(AUTHORIZED_KEYS, `${lines.join("\n")}\n`, { mode: 0o644 });
}

/** Generates a host key in `dir`; returns the public key as known_hosts holds it ("ssh-ed25519 AAAA"). */
export async function generateHostKey(dir: string, host: string): Promise<string> {
  const file = path.join(dir, "ssh_host_ed25519_key");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", host, "-f", file]);
  const [type, body] = fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/);
  return `${type} ${body}`;
}

export function renderSshdConfig(dir: string, address: string): string {
  return [
    `ListenAddress ${address}`,
    "Port 22",
    `HostKey ${path.join(dir, "ssh_host_ed25519_key")}`,
    "PidFile /run/sshd.pid",
    `AuthorizedKeysFile ${AUTHORIZED_KEYS}`,
    `AllowUsers root ${SUDO_USER}`,
    "PermitRootLogin prohibit-password",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes yes",
    // No AcceptEnv: nothing the client sends reaches a session's environment.
    "PermitUserEnvironment no",
    "X11Forwarding no",
    "AllowTcpForwarding no",
    "PrintMotd no",
    // The program opens one connection per step and runs many steps at once.
    "MaxStartups 100:30:200",
    "LoginGraceTime 30",
    "LogLevel VERBOSE",
    "",
  ].join("\n");
}

/** Where a systemd host sees AUTHORIZED_KEYS (bound read-only, so authorizeOnly reaches it). */
export const HOST_AUTHORIZED_KEYS = "/etc/ssh/k3sha-e2e-authorized_keys";
/** A systemd host's own host key, generated per host into its disk. */
export const HOST_KEY_PATH = "/etc/ssh/ssh_host_ed25519_key";

/**
 * The lab's settings for a systemd host's sshd, as a drop-in over Debian's sshd_config (whose
 * Include comes first, so these win): Debian's defaults otherwise, PAM included.
 */
export function renderSshdDropIn(address: string): string {
  return [
    "# k3s-ha e2e lab",
    `ListenAddress ${address}`,
    `HostKey ${HOST_KEY_PATH}`,
    `AuthorizedKeysFile ${HOST_AUTHORIZED_KEYS}`,
    `AllowUsers root ${SUDO_USER}`,
    "PermitRootLogin prohibit-password",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "StrictModes yes",
    "PermitUserEnvironment no",
    "X11Forwarding no",
    "AllowTcpForwarding no",
    "PrintMotd no",
    // The program opens one connection per step and runs many steps at once.
    "MaxStartups 100:30:200",
    "LoginGraceTime 30",
    "LogLevel VERBOSE",
    "",
  ].join("\n");
}
