/**
 * The non-root SSH user. It must exist in this machine's /etc/passwd (the hosts share it); the lab
 * creates it with a fixed uid when missing and removes it on teardown only if the lab created it.
 * Its sudo rule lives in the hosts' private /etc/sudoers.d, never in this machine's.
 */
import * as fs from "fs";
import * as path from "path";
import { E2E_DIR, SUDO_USER, SUDO_USER_UID } from "./constants";
import { run } from "../shared/sh";

const MARKER = path.join(E2E_DIR, "created-user");

async function userExists(): Promise<boolean> {
  return (await run("getent", ["passwd", SUDO_USER], { allowFailure: true })).trim() !== "";
}

export async function ensureSudoUser(): Promise<void> {
  if (await userExists()) return;
  await run("useradd", [
    "-u",
    String(SUDO_USER_UID),
    "-M",
    "-d",
    "/nonexistent",
    "-s",
    "/bin/sh",
    SUDO_USER,
  ]);
  fs.writeFileSync(MARKER, `${SUDO_USER}\n`);
  // "*": no password login, but not locked ("!"), which sshd refuses even for key logins without PAM.
  await run("usermod", ["-p", "*", SUDO_USER]);
}

export async function removeSudoUserIfCreated(): Promise<void> {
  if (!fs.existsSync(MARKER)) return;
  if (await userExists()) await run("userdel", [SUDO_USER], { allowFailure: true });
  fs.rmSync(MARKER, { force: true });
}
