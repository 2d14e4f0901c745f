/**
 * What each tree's evaluations ran: this checkout's commit and local changes, and digests of a
 * program's source and stack file (a run whose source changed mid-benchmark is flagged).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { git } from "../../harness/shared/worktree";

/** HEAD of this checkout and what differs from it (git status --porcelain lines). */
export function checkoutState(repo: string): { commit: string; status: string[] } {
  return {
    commit: git(repo, ["rev-parse", "HEAD"]),
    status: git(repo, ["status", "--porcelain"])
      .split("\n")
      .filter((l) => l.length > 0),
  };
}

/** sha256 over index.ts and every file under components/ (paths and contents): the program's source. */
export function programDigest(dir: string): string {
  const files: string[] = ["index.ts"];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = path.posix.join(rel, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  if (fs.existsSync(path.join(dir, "components"))) walk("components");
  const h = createHash("sha256");
  for (const f of files.sort()) {
    h.update(`${f}\0`);
    // A file renamed away since the listing (someone mid-edit) digests as gone: still a change.
    h.update(fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f)) : "\0gone");
    h.update("\0");
  }
  return h.digest("hex");
}

export function fileDigest(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
