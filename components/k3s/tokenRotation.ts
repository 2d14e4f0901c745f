/** The server token's rotation on a running cluster (token-rotation.sh). Pure. */
import { K3S_API_PORT } from "../config/types";
import { hostScript } from "../host/script";
import { hostPort } from "./configYaml";

/** The first release of each minor line with `k3s token rotate` (the October 2023 releases). */
export const TOKEN_ROTATE_SINCE = [
  "v1.25.15+k3s1",
  "v1.26.10+k3s1",
  "v1.27.7+k3s1",
  "v1.28.3+k3s1",
];

export interface TokenRotationPaths {
  /** The token K3s wrote at start (K10<ca hash>::server:<password>); holds the current password. */
  serverTokenPath: string;
  serverCaPath: string;
  /** The supervisor's address (the apiserver port). */
  supervisor: string;
}

export const DEFAULT_TOKEN_ROTATION_PATHS: TokenRotationPaths = {
  serverTokenPath: "/var/lib/rancher/k3s/server/token",
  serverCaPath: "/var/lib/rancher/k3s/server/tls/server-ca.crt",
  supervisor: hostPort("127.0.0.1", K3S_API_PORT),
};

/** Runs before any token file is rewritten; reads the new token from stdin. */
export function tokenRotationScript(
  paths: TokenRotationPaths = DEFAULT_TOKEN_ROTATION_PATHS,
): string {
  return hostScript("k3s/token-rotation.sh", {
    server_token: paths.serverTokenPath,
    server_ca: paths.serverCaPath,
    supervisor: paths.supervisor,
    rotate_since: TOKEN_ROTATE_SINCE.join(", "),
  });
}
