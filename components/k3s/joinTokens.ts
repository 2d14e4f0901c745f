/**
 * The cluster and agent tokens (secrets: never echoed). Which forms K3s accepts, from the K3s docs
 * (docs.k3s.io/cli/token): the short form (the password alone) anywhere; the secure form
 * `K10<sha256 of the cluster CA>::<user>:<password>` only where the CA already exists, so never
 * on the first server of a new cluster (unless it uses custom CA certificates). server-1 starts the
 * cluster with the configured token, so only the short form is accepted; joining servers and
 * agents get the secure form the program composes from it and server-1's CA hash.
 */
import { Problems } from "../config/problems";

export interface TokenSecrets {
  token?: string;
  agentToken?: string;
}

/** `[a-z0-9]{6}.[a-z0-9]{16}`: a Kubernetes bootstrap token, which K3s takes as one (k3s#7499). */
const BOOTSTRAP_TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

function tokenProblem(value: string): string | undefined {
  if (value === "") return "is empty";
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(value)) return "holds white space or control characters";
  if (value.startsWith("K10")) {
    return "is in the secure form (K10<CA hash>::<user>:<password>), which the first server of a new cluster refuses (its CA does not exist yet; docs.k3s.io/cli/token); give the password alone, after the last ':'";
  }
  if (BOOTSTRAP_TOKEN.test(value)) {
    return "has the form of a Kubernetes bootstrap token (6.16 characters), which K3s treats as one and not as a password; choose another value, e.g. openssl rand -hex 32";
  }
  return undefined;
}

/** Adds a problem for each malformed token, naming the key, never the value. */
export function checkTokens(p: Problems, secrets: TokenSecrets): void {
  for (const key of ["token", "agentToken"] as const) {
    const value = secrets[key];
    if (value === undefined) continue;
    const problem = tokenProblem(value);
    if (problem) p.error(key, `${problem} (value not shown: it is a secret)`);
  }
  if (secrets.token !== undefined && secrets.token === secrets.agentToken) {
    p.error("agentToken", "equals token: an agent token is meant to differ from the server token");
  }
}
