/**
 * Every host the program connects to must have a pinned SSH host key, unless the stack opts out
 * with `sshTrustAnyHostKey: true`: without a pinned key the command provider accepts any host key,
 * so a machine in the middle would receive the cluster token on stdin and could return a forged
 * kubeconfig.
 */
import { Problems } from "../config/problems";

export const TRUST_ANY_HOST_KEY = "sshTrustAnyHostKey";

/** How a missing key is pinned: with the stack's name when the stack file is what is read. */
export interface PinAdvice {
  /** The stack, for the command that pins its keys. */
  stack?: string;
  /** True when the configuration is K3sHaClusterArgs (another program), not a stack file. */
  args?: boolean;
}

/** What the sshTrustAnyHostKey warning starts with, for tools that set the key themselves. */
export const TRUST_ANY_WARNING = "SSH accepts any host key for";

/** One host entry's place in the stack file and whether it pins a key. */
export interface PinnedHost {
  /** e.g. `servers[1]` or `sshBastion`. */
  path: string;
  name: string;
  pinned: boolean;
}

function howToPin(advice: PinAdvice, them: string): string {
  if (advice.args) {
    return "set each host's hostKey to its public key as in known_hosts (checked against the fingerprint the host itself shows), or set ssh.trustAnyHostKey: true to accept any host key knowingly";
  }
  return `pin ${them} with \`npm run hostkeys -- --stack ${advice.stack ?? "<stack>"}\` (scans the hosts, shows each fingerprint and asks before writing), or set sshTrustAnyHostKey: true to accept any host key knowingly`;
}

export function checkHostKeysPinned(
  p: Problems,
  hosts: PinnedHost[],
  trustAny: boolean,
  advice: PinAdvice = {},
): void {
  const unpinned = hosts.filter((h) => !h.pinned);
  if (trustAny) {
    if (unpinned.length > 0) {
      p.warn(
        TRUST_ANY_HOST_KEY,
        `${TRUST_ANY_WARNING} ${unpinned.length} host(s) (${unpinned.map((h) => h.name).join(", ")}): a machine in the middle would receive the cluster token`,
      );
    }
    return;
  }
  if (unpinned.length === 0) return;
  const which =
    unpinned.length === 1
      ? unpinned[0].name
      : `${unpinned.length} hosts (${unpinned.map((h) => h.name).join(", ")})`;
  p.error(
    unpinned.length === 1 ? `${unpinned[0].path}.hostKey` : "hostKey",
    `missing for ${which}: without a pinned host key SSH accepts any key, and a machine in the middle would receive the cluster token; ${howToPin(advice, unpinned.length === 1 ? "it" : "them")}`,
  );
}
