/** The scripts of a node's membership step (membership-create.sh and membership-delete.sh). Pure. */
import { K3S_API_PORT } from "../config/types";
import { hostPort } from "./configYaml";
import { K3sRole } from "./scripts";
import { hostScript } from "../host/script";

export interface MembershipScriptArgs {
  role: K3sRole;
  nodeName: string;
  /** The VIP or Nginx host: the apiserver to use when the local one does not answer. */
  registrationAddress: string;
  /** Bound on the drain before a removal. */
  drainTimeoutSeconds: number;
  /** The pinned K3s version the node must run (its kubeletVersion), checked after each change. */
  version: string;
}

export function membershipCreateScript(args: MembershipScriptArgs): string {
  return hostScript("k3s/membership-create.sh", {
    node: args.nodeName,
    version: args.version,
    registration: hostPort(args.registrationAddress, K3S_API_PORT),
  });
}

export function membershipDeleteScript(args: MembershipScriptArgs): string {
  return hostScript("k3s/membership-delete.sh", {
    role: args.role,
    node: args.nodeName,
    registration: hostPort(args.registrationAddress, K3S_API_PORT),
    drain_timeout: args.drainTimeoutSeconds,
  });
}
