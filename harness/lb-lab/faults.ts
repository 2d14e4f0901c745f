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
  | "nginx-server-hang"
  | "power-off"
  | "power-back"
  | "starvation"
  | "keepalived-kill"
  | "keepalived-vrrp-kill"
  | "vrrp-roll-version"
  | "vrrp-roll-interval";

export interface FaultInfo {
  title: string;
  /** Which LB variant it runs against. */
  tier: "haproxy" | "nginx";
  /** What "the fault stops costing clients" means for it. */
  recovery:
    | "server-ejected"
    | "vip-moved"
    | "no-flap-back"
    | "last-failure"
    /** The VIP stays where it is: no holder change, never two holders. */
    | "vip-stays"
    /** Exactly one holder again, for good, and the daemon running again. */
    | "single-holder"
    /** The change rolled through both hosts with no two-holder stretch. */
    | "rolled";
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
  "power-off": {
    title: "8. VIP holder powered off (link down, every process SIGKILLed)",
    tier: "haproxy",
    recovery: "vip-moved",
  },
  "power-back": {
    title: "9. Powered-off VIP holder powered on again",
    tier: "haproxy",
    recovery: "no-flap-back",
  },
  starvation: {
    title: "10. CPU starvation of each LB host in turn (busy loops in its cgroup)",
    tier: "haproxy",
    recovery: "vip-stays",
  },
  "keepalived-kill": {
    title: "11a. KeepAlived SIGKILLed on the VIP holder (every process, as the OOM killer may)",
    tier: "haproxy",
    recovery: "single-holder",
  },
  "keepalived-vrrp-kill": {
    title: "11b. KeepAlived's VRRP process SIGKILLed on the VIP holder",
    tier: "haproxy",
    recovery: "single-holder",
  },
  "vrrp-roll-version": {
    title: "12a. VRRP version change rolled over a live pair (v2, 1 s -> v3, 250 ms)",
    tier: "haproxy",
    recovery: "rolled",
  },
  "vrrp-roll-interval": {
    title: "12b. VRRPv3 advert interval change rolled over a live pair (250 ms -> 500 ms)",
    tier: "haproxy",
    recovery: "rolled",
  },
};

export const FAULT_IDS = Object.keys(FAULTS) as FaultId[];

/** The stand-in that server faults hit. */
export const VICTIM = "server-1" as const;

export function otherLb(host: LbHostName): LbHostName {
  return host === "lb-1" ? "lb-2" : "lb-1";
}
