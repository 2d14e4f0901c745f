/** SSH material for the lab: one client key, a host key per host, and each host's sshd_config. */
import * as fs from "fs";
import * as path from "path";
import { E2E_DIR, SUDO_USER } from "./constants";
import { run } from "../lab/sh";

export const KEY_DIR = path.join(E2E_DIR, "keys");
export const CLIENT_KEY = path.join(KEY_DIR, "id_ed25519");
export const AUTHORIZED_KEYS = path.join(KEY_DIR, "authorized_keys");

/** Generates the lab's client key and the authorized_keys file every host's sshd reads. */
export async function generateClientKey(): Promise<void> {
  fs.mkdirSync(KEY_DIR, { recursive: true, mode: 0o755 });
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "k3sha-e2e", "-f", CLIENT_KEY]);
  fs.chmodSync(CLIENT_KEY, 0o600);
  fs.copyFileSync(`${CLIENT_KEY}.pub`, AUTHORIZED_KEYS);
  fs.chmodSync(AUTHORIZED_KEYS, 0o644);
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
