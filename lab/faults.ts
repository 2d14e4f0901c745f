/** The faults the lab injects, and how each one is injected and undone. */
import { LbHostName } from "./constants";

export type FaultId =
  | "server-crash"
  | "server-hang"
  | "haproxy-kill"
  | "haproxy-hang"
  | "link-down"
  | "link-back"
  | "nginx-server-crash"
  | "nginx-server-hang";

export interface FaultInfo {
  title: string;
  /** Which LB variant it runs against. */
  tier: "haproxy" | "nginx";
  /** What "the fault stops costing clients" means for it. */
  recovery: "server-ejected" | "vip-moved" | "no-flap-back" | "last-failure";
}

export const FAULTS: Record<FaultId, FaultInfo> = {
  "server-crash": {
    title: "1. K3s server stand-in killed",
    tier: "haproxy",
    recovery: "server-ejected",
  },
  "server-hang": {
    title: "2. K3s server stand-in hung (SIGSTOP)",
    tier: "haproxy",
    recovery: "server-ejected",
  },
  "haproxy-kill": {
    title: "3. HAProxy killed on the VIP holder",
    tier: "haproxy",
    recovery: "vip-moved",
  },
  "haproxy-hang": {
    title: "4. HAProxy hung on the VIP holder (SIGSTOP)",
    tier: "haproxy",
    recovery: "vip-moved",
  },
  "link-down": { title: "5. VIP holder's link down", tier: "haproxy", recovery: "vip-moved" },
  "link-back": {
    title: "6. Former VIP holder comes back",
    tier: "haproxy",
    recovery: "no-flap-back",
  },
  "nginx-server-crash": {
    title: "7a. Nginx: K3s server stand-in killed",
    tier: "nginx",
    recovery: "last-failure",
  },
  "nginx-server-hang": {
    title: "7b. Nginx: K3s server stand-in hung (SIGSTOP)",
    tier: "nginx",
    recovery: "last-failure",
  },
};

export const FAULT_IDS = Object.keys(FAULTS) as FaultId[];

/** The stand-in that server faults hit. */
export const VICTIM = "server-1" as const;

export function otherLb(host: LbHostName): LbHostName {
  return host === "lb-1" ? "lb-2" : "lb-1";
}
