/**
 * An earlier commit's program to evaluate beside this tree's: a detached git worktree in a
 * temporary directory whose node_modules is a symlink to this checkout's, so the old program loads
 * the `@pulumi/pulumi` module instance the mocks were set on (Node resolves the symlink to the real
 * path and the module cache is shared). bench:program, preview:offline --against and the e2e
 * upgrade test use it.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function git(repo: string, args: string[]): string {
  return execFileSync("git", ["-C", repo, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** The commit a ref names, or an error that names the ref and says how to get it into the clone. */
export function resolveCommit(repo: string, ref: string, what: string, hint = ""): string {
  try {
    return git(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  } catch {
    throw new Error(
      `${what} ${ref} is not a commit in this clone (${repo}). Fetch it first: ` +
        `git fetch origin ${ref}, or git fetch --unshallow origin in a shallow clone${hint}.`,
    );
  }
}

export interface Worktree {
  dir: string;
  commit: string;
  /** The commit's index.ts. */
  program: string;
  /** Idempotent and synchronous (safe in a signal or exit handler). */
  remove: () => void;
}

/** `git worktree add --detach <tmpdir> <commit>`, node_modules symlinked to `repo`'s. */
export function addWorktree(repo: string, commit: string, label: string): Worktree {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `k3sha-${label}-`));
  const modules = path.join(dir, "node_modules");
  let added = false;
  let removed = false;
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
      if (added) git(repo, ["worktree", "remove", "--force", dir]);
    } catch (err) {
      process.stderr.write(`git worktree remove ${dir} failed: ${(err as Error).message}\n`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      git(repo, ["worktree", "prune"]);
    } catch {
      /* nothing to prune */
    }
  };
  try {
    git(repo, ["worktree", "add", "--detach", "--quiet", dir, commit]);
    added = true;
    fs.symlinkSync(path.join(repo, "node_modules"), modules, "dir");
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, commit, program: path.join(dir, "index.ts"), remove };
}
