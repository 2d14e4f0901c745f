/**
 * KeepAlived runs the program's check script as an unprivileged system user (script_user
 * keepalived_script), which the program creates on each LB host. Processes that share this
 * machine's /etc (the LB lab's hosts, the render tests' namespaces) get private copies of
 * /etc/passwd and /etc/group holding that user, bind-mounted in their own mount namespace, so
 * nothing is added to this machine's user database.
 *
 *   const files = writeScriptUserFiles(dir);   // dir/passwd, dir/group
 *   `mount --bind ${files.passwd} /etc/passwd && mount --bind ${files.group} /etc/group && ...`
 */
import * as fs from "fs";
import * as path from "path";
import { KEEPALIVED_SCRIPT_USER } from "../../components/lb/haproxy-pair/keepalivedConf";

export interface ScriptUserFiles {
  passwd: string;
  group: string;
}

/** The first id from 999 down to 100 that no user or group of this machine has. */
function freeSystemId(passwd: string, group: string): number {
  const taken = new Set(
    [passwd, group].flatMap((text) =>
      text
        .split("\n")
        .filter(Boolean)
        .map((line) => Number(line.split(":")[2])),
    ),
  );
  for (let id = 999; id >= 100; id--) if (!taken.has(id)) return id;
  throw new Error("no free system uid/gid from 100 to 999 on this machine");
}

/**
 * Copies of this machine's /etc/passwd and /etc/group with the script user added (as useradd
 * would), or with `present: false` without it: a host set up from the page has no such user, and
 * KeepAlived then runs the page's check as root.
 */
export function writeScriptUserFiles(
  dir: string,
  user = KEEPALIVED_SCRIPT_USER,
  present = true,
): ScriptUserFiles {
  let passwd = fs.readFileSync("/etc/passwd", "utf8");
  let group = fs.readFileSync("/etc/group", "utf8");
  if (!present) {
    const drop = (text: string) =>
      text
        .split("\n")
        .filter((l) => !l.startsWith(`${user}:`))
        .join("\n");
    passwd = drop(passwd);
    group = drop(group);
  } else if (!passwd.split("\n").some((l) => l.startsWith(`${user}:`))) {
    const id = freeSystemId(passwd, group);
    const nl = (text: string) => (text.endsWith("\n") || text === "" ? text : `${text}\n`);
    passwd = `${nl(passwd)}${user}:x:${id}:${id}::/nonexistent:/usr/sbin/nologin\n`;
    group = `${nl(group)}${user}:x:${id}:\n`;
  }
  const files = { passwd: path.join(dir, "passwd"), group: path.join(dir, "group") };
  fs.writeFileSync(files.passwd, passwd, { mode: 0o644 });
  fs.writeFileSync(files.group, group, { mode: 0o644 });
  fs.chmodSync(files.passwd, 0o644);
  fs.chmodSync(files.group, 0o644);
  return files;
}

/** Shell lines that bind the copies over /etc/passwd and /etc/group (run in a private mount ns). */
export function bindScriptUserFiles(files: ScriptUserFiles): string {
  return `mount --bind ${files.passwd} /etc/passwd && mount --bind ${files.group} /etc/group`;
}
