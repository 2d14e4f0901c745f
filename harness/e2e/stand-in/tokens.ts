/**
 * K3s token formats and which stand-in versions know `k3s token rotate`. Pure, node builtins only
 * (bundled into the stand-in k3s and imported by the lab's inspection helpers).
 */
import { createHash } from "crypto";

export const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

/**
 * K10<ca-hash>::<user>:<password>, K10::<user>:<password> or a bare password, as K3s parses them
 * (k3s-io/k3s pkg/clientaccess/token.go parseToken).
 */
export function splitToken(token: string): { caHash?: string; user?: string; password: string } {
  const m = /^K10([^:]{64})?::([^:]+):(.+)$/.exec(token.trim());
  if (!m) return { password: token.trim() };
  return { ...(m[1] ? { caHash: m[1] } : {}), user: m[2], password: m[3] };
}

/**
 * Why K3s would refuse a token before using it, or undefined: a token starting with K10 must be
 * K10[<64-character CA hash>]::<user>:<password> (k3s-io/k3s pkg/clientaccess/token.go parseToken:
 * "invalid token CA hash length", "invalid token format"); anything else is a short token.
 */
export function tokenFormatProblem(token: string): string | undefined {
  const t = token.trim();
  if (t === "") return "the token is empty";
  if (!t.startsWith("K10")) return undefined;
  const rest = t.slice(3);
  const sep = rest.indexOf("::");
  if (sep < 0) return "invalid token format: K10 without ::";
  const hash = rest.slice(0, sep);
  if (hash.length > 0 && hash.length !== 64) return "invalid token CA hash length";
  const credentials = rest.slice(sep + 2);
  const colon = credentials.indexOf(":");
  if (colon <= 0 || colon === credentials.length - 1) return "invalid token format";
  return undefined;
}

/**
 * What K3s keys the cluster on: the password part (pkg/cluster/storage.go normalizeToken). The
 * stand-ins record and compare only this digest, never the token.
 */
export function passwordDigest(token: string): string {
  return sha256(splitToken(token).password);
}

/**
 * First patch release of each minor that has `k3s token rotate` and the supervisor's
 * PUT /v1-k3s/token (k3s-io/k3s#8264, the October 2023 releases; docs.k3s.io cli/token).
 */
const FIRST_ROTATE_PATCH: Record<number, number> = { 25: 15, 26: 10, 27: 7, 28: 3 };

export function supportsTokenRotate(version: string): boolean {
  const m = /^v(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major !== 1) return major > 1;
  if (minor >= 29) return true;
  const first = FIRST_ROTATE_PATCH[minor];
  return first !== undefined && patch >= first;
}

/** `k3s token --help` as the stand-in of `version` prints it: `rotate` only where it exists. */
export function tokenHelp(version: string): string {
  const commands = [
    ["create", "Create bootstrap tokens on the server"],
    ["delete", "Delete bootstrap tokens on the server"],
    ["generate", "Generate and print a bootstrap token, but do not create it on the server"],
    ["list", "List bootstrap tokens on the server"],
    ...(supportsTokenRotate(version)
      ? [["rotate", "Rotate original server token with a new server token"]]
      : []),
  ];
  return [
    "NAME:",
    "   k3s token - Manage tokens (stand-in)",
    "",
    "USAGE:",
    "   k3s token command [command options] [arguments...]",
    "",
    "COMMANDS:",
    ...commands.map(([name, text]) => `   ${name.padEnd(9)} ${text}`),
    "",
  ].join("\n");
}
