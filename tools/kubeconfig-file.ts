/**
 * Reads and replaces a kubeconfig file the way a credentials file wants: the directory made 0700
 * when this creates it, the file written whole to a temporary file beside it and renamed over the
 * old one (a reader sees the old file or the new one, never half of one), its mode kept (0600 for
 * a new file), and a symlinked kubeconfig written through to the file it points at.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { KubeconfigError } from "./kubeconfig-entries";

export interface Target {
  /** The file written (a symlink's target). */
  file: string;
  /** Its text, or undefined when there is no file yet. */
  text?: string;
  /** Its permission bits, or undefined when there is no file yet. */
  mode?: number;
}

export function readTarget(file: string, shown: string): Target {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { file };
    throw new KubeconfigError(`cannot read ${shown}: ${(err as Error).message}`);
  }
  const stat = fs.statSync(real);
  if (!stat.isFile()) throw new KubeconfigError(`${shown} is not a regular file: refused`);
  try {
    return { file: real, text: fs.readFileSync(real, "utf8"), mode: stat.mode & 0o7777 };
  } catch (err) {
    throw new KubeconfigError(`cannot read ${shown}: ${(err as Error).message}`);
  }
}

/** Writes `text` over the target; refuses when the file changed since it was read. */
export function writeTarget(target: Target, text: string, shown: string): void {
  try {
    replace(target, text, shown);
  } catch (err) {
    if (err instanceof KubeconfigError) throw err;
    throw new KubeconfigError(`cannot write ${shown}: ${(err as Error).message}`);
  }
}

function replace(target: Target, text: string, shown: string): void {
  const dir = path.dirname(target.file);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
  }
  const mode = target.mode ?? 0o600;
  const temp = path.join(
    dir,
    `.${path.basename(target.file)}.k3s-ha-${process.pid}-${crypto.randomBytes(4).toString("hex")}`,
  );
  try {
    const fd = fs.openSync(temp, "wx", 0o600);
    try {
      fs.writeFileSync(fd, text);
      fs.fchmodSync(fd, mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    const now = fs.existsSync(target.file) ? fs.readFileSync(target.file, "utf8") : undefined;
    if (now !== target.text) {
      throw new KubeconfigError(`${shown} changed while this ran: nothing was written, run again`);
    }
    fs.renameSync(temp, target.file);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}
