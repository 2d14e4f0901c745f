/**
 * Checks the air-gap files on the machine running Pulumi before any host is touched: each must be a
 * readable file whose sha256 is the one in the stack config. Reads the filesystem; index.ts calls it.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AirgapConfig } from "../config/types";
import { ConfigError } from "../config/errors";

const CHUNK_BYTES = 1 << 20;

export function expandPath(file: string): string {
  return path.resolve(file.startsWith("~/") ? path.join(os.homedir(), file.slice(2)) : file);
}

/** sha256 of a file, read in chunks (image tarballs are hundreds of MB). */
export function fileSha256(file: string): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buffer = Buffer.alloc(CHUNK_BYTES);
    let read: number;
    while ((read = fs.readSync(fd, buffer, 0, CHUNK_BYTES, null)) > 0) {
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** The air-gap settings with absolute paths; throws one ConfigError naming every bad file. */
export function checkAirgapFiles(airgap: AirgapConfig): AirgapConfig {
  const problems: string[] = [];
  const check = (key: string, file: string, sumKey: string, sum: string): string => {
    const resolved = expandPath(file);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(resolved);
    } catch (err) {
      problems.push(
        `airgap.${key}: cannot read ${resolved} (${(err as NodeJS.ErrnoException).code})`,
      );
      return resolved;
    }
    if (!stat.isFile()) {
      problems.push(`airgap.${key}: ${resolved} is not a file`);
      return resolved;
    }
    const actual = fileSha256(resolved);
    if (actual !== sum) {
      problems.push(
        `airgap.${key}: ${resolved} has sha256 ${actual}, but airgap.sha256.${sumKey} is ${sum}`,
      );
    }
    return resolved;
  };
  const k3sBinary = check("k3sBinary", airgap.k3sBinary, "k3s", airgap.sha256.k3s);
  const installScript = check(
    "installScript",
    airgap.installScript,
    "installScript",
    airgap.sha256.installScript,
  );
  const imagesTarball =
    airgap.imagesTarball && airgap.sha256.images
      ? check("imagesTarball", airgap.imagesTarball, "images", airgap.sha256.images)
      : undefined;
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...airgap, k3sBinary, installScript, ...(imagesTarball && { imagesTarball }) };
}
