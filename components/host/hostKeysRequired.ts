/**
 * Every host the program connects to must have a pinned SSH host key, unless the stack opts out
 * with `sshTrustAnyHostKey: true`: without a pinned key the command provider accepts any host key,
 * so a machine in the middle would receive the cluster token on stdin and could return a forged
 * kubeconfig.
 */
import { Problems } from "../config/problems";

export const TRUST_ANY_HOST_KEY = "sshTrustAnyHostKey";

const HOW =
  "pin it with `npm run hostkeys -- --stack <stack>` (scans the hosts, shows each fingerprint and asks before writing), or set sshTrustAnyHostKey: true to accept any host key knowingly";

/** One host entry's place in the stack file and whether it pins a key. */
export interface PinnedHost {
  /** e.g. `servers[1]` or `sshBastion`. */
  path: string;
  name: string;
  pinned: boolean;
}

export function checkHostKeysPinned(p: Problems, hosts: PinnedHost[], trustAny: boolean): void {
  const unpinned = hosts.filter((h) => !h.pinned);
  if (trustAny) {
    if (unpinned.length > 0) {
      p.warn(
        TRUST_ANY_HOST_KEY,
        `SSH accepts any host key for ${unpinned.length} host(s) (${unpinned.map((h) => h.name).join(", ")}): a machine in the middle would receive the cluster token`,
      );
    }
    return;
  }
  for (const h of unpinned) {
    p.error(
      `${h.path}.hostKey`,
      `missing: without a pinned host key SSH accepts any key for ${h.name}, and a machine in the middle would receive the cluster token; ${HOW}`,
    );
  }
}
