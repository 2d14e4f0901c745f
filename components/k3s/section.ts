/** The K3s install settings: version, install script, mirrors, registries, proxy and extra arguments. */
import type { K3sConfig } from "../config/types";
import type { RawClusterConfig } from "../config/keys";
import { indexPath, show } from "../config/display";
import { readArray, readInt, readRequiredString, readString } from "../config/fields";
import { Problems } from "../config/problems";
import { shellSafetyProblem } from "../config/shellWord";
import { readHttpUrl } from "../config/url";
import { flagName, refusedExtraFlag, serverOnlyFlag } from "./flags";
import { readProxy } from "./proxy";
import { readRegistries } from "./registries";

/** The China mirror's copy of the install script: the one that reads INSTALL_K3S_MIRROR. */
export const CHINA_MIRROR_INSTALL_SCRIPT_URL =
  "https://rancher-mirror.rancher.cn/k3s/k3s-install.sh";

export interface K3sDefaults {
  installScriptUrl: string;
}

/**
 * A K3s release tag, e.g. v1.27.3+k3s1 or v1.30.0-rc1+k3s1: the installer downloads
 * releases/download/<INSTALL_K3S_VERSION>/ (k3s-io/k3s install.sh download_hash), and no tag has
 * a leading zero or counts from 0.
 */
const NUMBER = "(?:0|[1-9][0-9]*)";
const K3S_VERSION = new RegExp(
  `^v${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:-rc[1-9][0-9]*)?\\+k3s[1-9][0-9]*$`,
);
/** The only INSTALL_K3S_MIRROR value the China mirror's script reads (it tests `= cn`). */
const CHINA_MIRROR = "cn";
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
function readVersion(p: Problems, value: unknown): string | undefined {
  const path = "k3sVersion";
  const expected = "a K3s release such as v1.27.3+k3s1";
  const version = readRequiredString(p, path, value, expected);
  if (version === undefined) return undefined;
  if (!K3S_VERSION.test(version)) {
    p.error(
      path,
      `${show(version, path)} is not a K3s version (expected e.g. v1.27.3+k3s1 or v1.30.0-rc1+k3s1)`,
    );
    return undefined;
  }
  return version;
}

/** A URL a host's shell fetches: credentials in it would be logged with every command. */
function readUrl(p: Problems, path: string, value: unknown): string | undefined {
  return readHttpUrl(p, path, value, {
    example: "https://get.k3s.io",
    noCredentials: "it would be logged with every command that fetches it",
    shellSafe: true,
  });
}

function readInstallScriptUrl(p: Problems, value: unknown): string | undefined {
  return readUrl(p, "installScriptUrl", value);
}

/**
 * The installer's GITHUB_URL: it fetches `<url>/download/<version>/sha256sum-<arch>.txt` and
 * `<url>/download/<version>/k3s` (k3s-io/k3s install.sh download_hash, download_binary) and checks
 * the one against the other, so both come from here: https only.
 */
function readReleasesUrl(p: Problems, value: unknown): string | undefined {
  const path = "k3sReleasesUrl";
  const url = readUrl(p, path, value);
  if (url === undefined) return undefined;
  if (url.startsWith("http:")) {
    p.error(
      path,
      `${show(url, path)} is plain http: the installer checks the binary against a sha256 list from the same place, so anyone on the path could change both; serve the mirror over https`,
    );
    return undefined;
  }
  return url.replace(/\/+$/, "");
}

function readSha256(p: Problems, value: unknown): string | undefined {
  const path = "installScriptSha256";
  const text = readString(p, path, value, "64 hexadecimal digits");
  if (text === undefined) return undefined;
  if (!SHA256_HEX.test(text)) {
    p.error(path, `expected 64 hexadecimal digits, got ${show(text, path)}`);
    return undefined;
  }
  return text.toLowerCase();
}

function readShellToken(p: Problems, path: string, value: unknown): string | undefined {
  const token = readString(p, path, value, "a shell-safe word");
  const unsafe = token === undefined ? undefined : shellSafetyProblem(token, path);
  if (unsafe) p.error(path, unsafe);
  return unsafe ? undefined : token;
}

function readArgs(p: Problems, path: string, value: unknown): string[] {
  const list = readArray(p, path, value, "an array of strings such as --disable=traefik") ?? [];
  const args: string[] = [];
  list.forEach((item, i) => {
    const itemPath = indexPath(path, i);
    if (typeof item !== "string") {
      p.error(itemPath, `expected a string, got ${show(item, itemPath)}`);
      return;
    }
    const flag = flagName(item);
    const refused = flag === undefined ? undefined : refusedExtraFlag(flag);
    if (refused) {
      p.error(itemPath, refused);
      return;
    }
    const unsafe = shellSafetyProblem(item, itemPath);
    if (unsafe) {
      p.error(itemPath, unsafe);
      return;
    }
    const serverOnly =
      flag !== undefined && path === "extraAgentArgs" ? serverOnlyFlag(flag) : undefined;
    if (serverOnly) {
      p.error(itemPath, serverOnly);
      return;
    }
    args.push(item);
  });
  return args;
}

/** A cron field: digits, names (JAN, MON), `*`, `?`, ranges, lists and steps. */
const CRON_FIELD = /^[0-9A-Za-z*?,/-]+$/;
/** More scheduled snapshots per server than this would fill a disk before they help anyone. */
const MAX_SNAPSHOT_RETENTION = 1000;

/**
 * K3s's etcd-snapshot-schedule-cron: a standard cron expression of five fields (minute, hour,
 * day of month, month, day of week), as docs.k3s.io cli/etcd-snapshot describes it.
 */
function readSnapshotCron(p: Problems, value: unknown): string | undefined {
  const path = "etcdSnapshotScheduleCron";
  const expected = 'a cron expression of 5 fields, e.g. "0 */6 * * *"';
  const text = readString(p, path, value, expected);
  if (text === undefined) return undefined;
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) {
    p.error(path, `${show(text, path)} is not ${expected}`);
    return undefined;
  }
  return fields.join(" ");
}

/** K3s's etcd-snapshot-retention; 0, as Pulumi.yaml declares it, leaves K3s's default. */
function readSnapshotRetention(p: Problems, value: unknown): number | undefined {
  const retention = readInt(p, "etcdSnapshotRetention", value, 0, MAX_SNAPSHOT_RETENTION);
  return retention === 0 ? undefined : retention;
}

/** A snapshot setting given as a key and again as an extra server flag: K3s would take one. */
function checkSnapshotFlagTwice(p: Problems, key: string, flag: string, args: string[]): void {
  if (args.some((a) => flagName(a) === flag)) {
    p.error(key, `is set and extraServerArgs has --${flag} too; keep one of the two`);
  }
}

export function readK3sSection(
  p: Problems,
  raw: RawClusterConfig,
  defaults: K3sDefaults,
): Omit<K3sConfig, "extraTlsSans" | "airgap"> | undefined {
  const version = readVersion(p, raw.k3sVersion);
  const installScriptUrl =
    readInstallScriptUrl(p, raw.installScriptUrl) ?? defaults.installScriptUrl;
  const installScriptSha256 = readSha256(p, raw.installScriptSha256);
  const installMirror = readShellToken(p, "installMirror", raw.installMirror);
  const releasesUrl = readReleasesUrl(p, raw.k3sReleasesUrl);
  if (releasesUrl !== undefined && raw.airgap) {
    p.error(
      "k3sReleasesUrl",
      "does nothing with airgap (the binary comes from airgap.k3sBinary); remove one of the two",
    );
  }
  const registries = readRegistries(p, raw);
  const proxy = readProxy(p, raw);
  const extraServerArgs = readArgs(p, "extraServerArgs", raw.extraServerArgs);
  const extraAgentArgs = readArgs(p, "extraAgentArgs", raw.extraAgentArgs);
  const etcdSnapshotScheduleCron = readSnapshotCron(p, raw.etcdSnapshotScheduleCron);
  const etcdSnapshotRetention = readSnapshotRetention(p, raw.etcdSnapshotRetention);
  if (etcdSnapshotScheduleCron !== undefined) {
    checkSnapshotFlagTwice(
      p,
      "etcdSnapshotScheduleCron",
      "etcd-snapshot-schedule-cron",
      extraServerArgs,
    );
  }
  if (etcdSnapshotRetention !== undefined) {
    checkSnapshotFlagTwice(p, "etcdSnapshotRetention", "etcd-snapshot-retention", extraServerArgs);
  }
  // Only the China mirror's copy of the install script reads INSTALL_K3S_MIRROR; get.k3s.io
  // ignores it (its environment list in k3s-io/k3s install.sh has no such variable).
  const mirrorUsed = installMirror !== undefined && !raw.airgap;
  if (mirrorUsed && installScriptUrl === defaults.installScriptUrl) {
    p.error(
      "installMirror",
      `does nothing with the default installScriptUrl (${defaults.installScriptUrl} ignores INSTALL_K3S_MIRROR); set installScriptUrl to ${CHINA_MIRROR_INSTALL_SCRIPT_URL} as well, or remove installMirror`,
    );
  } else if (mirrorUsed && installScriptUrl !== CHINA_MIRROR_INSTALL_SCRIPT_URL) {
    p.warn(
      "installMirror",
      `only the China mirror's install script (${CHINA_MIRROR_INSTALL_SCRIPT_URL}) reads INSTALL_K3S_MIRROR; make sure the script at installScriptUrl does`,
    );
  }
  if (
    mirrorUsed &&
    installScriptUrl === CHINA_MIRROR_INSTALL_SCRIPT_URL &&
    installMirror !== CHINA_MIRROR
  ) {
    p.error(
      "installMirror",
      `${show(installMirror, "installMirror")} does nothing: the China mirror's install script reads only INSTALL_K3S_MIRROR=${CHINA_MIRROR}; set it to ${CHINA_MIRROR}, or remove installMirror`,
    );
  }
  if (!raw.airgap && installScriptUrl.startsWith("http:") && installScriptSha256 === undefined) {
    p.error(
      "installScriptUrl",
      `${show(installScriptUrl, "installScriptUrl")} is plain http and installScriptSha256 is not set: anyone on the path could change the script, which runs as root on every K3s host; use https, or set installScriptSha256 to the script's sha256 (sha256sum on a copy you checked)`,
    );
  }
  if (version === undefined) return undefined;
  return {
    version,
    installScriptUrl,
    ...(installScriptSha256 !== undefined && { installScriptSha256 }),
    ...(installMirror !== undefined && { installMirror }),
    ...(releasesUrl !== undefined && { releasesUrl }),
    ...(registries !== undefined && { registries }),
    ...(proxy !== undefined && { proxy }),
    ...(etcdSnapshotScheduleCron !== undefined && { etcdSnapshotScheduleCron }),
    ...(etcdSnapshotRetention !== undefined && { etcdSnapshotRetention }),
    extraServerArgs,
    extraAgentArgs,
  };
}
