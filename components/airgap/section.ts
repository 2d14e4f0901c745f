/**
 * The air-gap setting: local paths of the K3s binary, install script and images tarball, and the
 * sha256 of each. Pure: whether the files exist (and match) is checked where files are read.
 */
import type { AirgapConfig } from "../config/types";
import { RawClusterConfig, defaultOf } from "../config/keys";
import { childPath, show } from "../config/display";
import {
  isAbsent,
  readObject,
  readRequiredString,
  readString,
  reportMissing,
} from "../config/fields";
import { Problems } from "../config/problems";
import { shellSafetyProblem } from "../config/shellWord";

const AIRGAP_KEYS = ["k3sBinary", "installScript", "imagesTarball", "sha256"] as const;
const SUM_KEYS = ["k3s", "installScript", "images"] as const;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/** The tarball formats K3s imports from its images directory. */
export const IMAGE_TARBALL_EXTENSIONS = [".tar", ".tar.gz", ".tar.zst", ".tar.lz4", ".tar.bz2"];

function readPath(
  p: Problems,
  path: string,
  value: unknown,
  required: boolean,
): string | undefined {
  const expected = "a path to a file on the machine running Pulumi";
  const text = required
    ? readRequiredString(p, path, value, expected)
    : readString(p, path, value, expected);
  if (text !== undefined && /[\r\n\0]/.test(text)) {
    p.error(path, "must be a single-line file path");
    return undefined;
  }
  return text;
}

function readSum(p: Problems, path: string, value: unknown): string | undefined {
  const text = readRequiredString(p, path, value, "64 hexadecimal digits");
  if (text === undefined) return undefined;
  if (!SHA256_HEX.test(text)) {
    p.error(path, `expected 64 hexadecimal digits, got ${show(text, path)}`);
    return undefined;
  }
  return text.toLowerCase();
}

/** The tarball keeps its name on the hosts, where K3s picks it up by extension. */
function checkTarballName(p: Problems, path: string, file: string): boolean {
  const base = file.split(/[\\/]/).pop() ?? "";
  const unsafe = shellSafetyProblem(base, path);
  if (unsafe) {
    p.error(path, `file name: ${unsafe}`);
    return false;
  }
  if (!IMAGE_TARBALL_EXTENSIONS.some((ext) => base.endsWith(ext))) {
    p.error(
      path,
      `K3s imports only ${IMAGE_TARBALL_EXTENSIONS.join(", ")} files, got ${show(base, path)}`,
    );
    return false;
  }
  return true;
}

/** The images tarball's file name, as the hosts see it. */
export function imagesFileName(airgap: AirgapConfig): string | undefined {
  return airgap.imagesTarball?.split(/[\\/]/).pop();
}

export function readAirgapSection(p: Problems, raw: RawClusterConfig): AirgapConfig | undefined {
  const object = readObject(
    p,
    "airgap",
    raw.airgap,
    "an object with k3sBinary, installScript, imagesTarball and sha256",
    AIRGAP_KEYS,
  );
  if (!object) return undefined;
  const errorsBefore = p.errors.length;
  const k3sBinary = readPath(p, "airgap.k3sBinary", object.k3sBinary, true);
  const installScript = readPath(p, "airgap.installScript", object.installScript, true);
  const imagesTarball = readPath(p, "airgap.imagesTarball", object.imagesTarball, false);
  if (imagesTarball !== undefined) checkTarballName(p, "airgap.imagesTarball", imagesTarball);
  const sumsPath = "airgap.sha256";
  const sums = readObject(p, sumsPath, object.sha256, "an object of sha256 sums", SUM_KEYS);
  if (!sums) reportMissing(p, sumsPath, "the sha256 of k3s, installScript and images");
  const k3s = sums ? readSum(p, childPath(sumsPath, "k3s"), sums.k3s) : undefined;
  const installSum = sums
    ? readSum(p, childPath(sumsPath, "installScript"), sums.installScript)
    : undefined;
  let images: string | undefined;
  if (sums && imagesTarball !== undefined)
    images = readSum(p, childPath(sumsPath, "images"), sums.images);
  if (sums && imagesTarball === undefined && !isAbsent(sums.images)) {
    p.error(childPath(sumsPath, "images"), "set airgap.imagesTarball too, or remove this sum");
  }
  const urlSet =
    !isAbsent(raw.installScriptUrl) && raw.installScriptUrl !== defaultOf("installScriptUrl");
  for (const key of ["installScriptUrl", "installScriptSha256", "installMirror"] as const) {
    if (key === "installScriptUrl" ? urlSet : !isAbsent(raw[key]))
      p.warn(key, "ignored with airgap: the install script comes from airgap.installScript");
  }
  if (p.errors.length > errorsBefore || !k3sBinary || !installScript || !k3s || !installSum) {
    return undefined;
  }
  return {
    k3sBinary,
    installScript,
    ...(imagesTarball !== undefined && { imagesTarball }),
    sha256: { k3s, installScript: installSum, ...(images !== undefined && { images }) },
  };
}
