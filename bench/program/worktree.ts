/**
 * The previous release as a program to evaluate: a detached git worktree of the baseline ref in a
 * temporary directory, its node_modules a symlink to this checkout's, so its `@pulumi/pulumi` is the
 * module instance the mocks were set on (Node resolves the symlink to the real path and the module
 * cache is shared; tools/snapshot-registrations.ts relies on the same).
 */
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

function git(repo: string, args: string[]): string {
  return execFileSync("git", ["-C", repo, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** The commit a ref names, or an error that says how to get it into the clone. */
export function resolveCommit(repo: string, ref: string): string {
  try {
    return git(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  } catch {
    throw new Error(
      `baseline ${ref} is not a commit in this clone (${repo}). Fetch it first, e.g.\n` +
        `  git fetch origin ${ref}\n` +
        `or, in a shallow clone, git fetch --unshallow origin; or name another baseline with --baseline <git ref>.`,
    );
  }
}

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

export interface Worktree {
  dir: string;
  commit: string;
  /** Idempotent and synchronous (safe in a signal or exit handler). */
  remove(): void;
}

/** `git worktree add --detach <tmpdir> <commit>`, node_modules symlinked to `repo`'s. */
export function addWorktree(repo: string, commit: string): Worktree {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-bench-baseline-"));
  let removed = false;
  let added = false;
  const modules = path.join(dir, "node_modules");
  const remove = () => {
    if (removed) return;
    removed = true;
    // The link first, by itself: nothing below may ever walk into this checkout's node_modules.
    try {
      if (fs.lstatSync(modules).isSymbolicLink()) fs.unlinkSync(modules);
    } catch {
      /* not there */
    }
    try {
      if (!added) throw new Error("never added");
      git(repo, ["worktree", "remove", "--force", dir]);
    } catch (err) {
      if (added)
        process.stderr.write(`bench:program: git worktree remove ${dir} failed: ${String(err)}\n`);
      fs.rmSync(dir, { recursive: true, force: true });
      try {
        git(repo, ["worktree", "prune"]);
      } catch {
        /* reported above */
      }
    }
  };
  try {
    git(repo, ["worktree", "add", "--detach", dir, commit]);
    added = true;
    for (const f of ["index.ts", "Pulumi.dev.yaml"]) {
      if (!fs.existsSync(path.join(dir, f))) throw new Error(`baseline ${commit} has no ${f}`);
    }
    fs.symlinkSync(path.join(repo, "node_modules"), modules, "dir");
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, commit, remove };
}
