/** Chooses and parameterises the HAProxy + KeepAlived pair's host scripts. Pure. */
import { K3S_API_PORT } from "../../config/types";
import { hostPort } from "../../k3s/configYaml";
import { K3S_HA_STATE_DIR, hostScript } from "../../host/script";
import { libraryVariable } from "../../host/library";

export const HAPROXY_CFG_PATH = libraryVariable("HAPROXY_CFG");
export const KEEPALIVED_CONF_PATH = libraryVariable("KEEPALIVED_CONF");
/** Marks a KeepAlived the roll stopped; only the resume step starts it again (lb-lib.sh). */
export const KEEPALIVED_HELD_MARKER = `${K3S_HA_STATE_DIR}/keepalived-held-for-peer`;

/**
 * The LB host that changes before this one (lb-1, for lb-2). This host's steps run after all of
 * its steps, and first check that it serves on its own address (lb-lib.sh peer_serves_first).
 */
export interface LbPeerFirst {
  /** Its name, as the error shows it. */
  name: string;
  /** Its own address (IPv4 or IPv6), where its proxy listens on K3S_API_PORT. */
  address: string;
  /**
   * The K3s servers' addresses, for the step that changes the backends (haproxy.cfg): once one
   * answers /ping directly, /ping through the peer must answer too. Omitted in the other steps,
   * so that a changed server list re-runs only the step whose file it changes.
   */
  servers?: string[];
}

/** A VRRP change the peer cannot hear holds this host stopped until the resume step (apply-keepalived-conf.sh). */
export interface KeepalivedRoll {
  /** The VIP, to check that the peer took it over before this host stays stopped. */
  vip: string;
}

function peerParams(peer: LbPeerFirst | undefined): { peer: string; peer_at: string } {
  return peer
    ? { peer: peer.name, peer_at: hostPort(peer.address, K3S_API_PORT) }
    : { peer: "", peer_at: "" };
}

export function applyHaproxyCfgScript(peer?: LbPeerFirst): string {
  return hostScript("lb/haproxy-pair/apply-haproxy-cfg.sh", {
    ...peerParams(peer),
    peer_servers: (peer?.servers ?? []).map((s) => hostPort(s, K3S_API_PORT)).join(" "),
  });
}

export function removeHaproxyCfgScript(): string {
  return hostScript("lb/haproxy-pair/remove-haproxy-cfg.sh");
}

export function installCheckScriptScript(path: string, user: string, peer?: LbPeerFirst): string {
  return hostScript("lb/haproxy-pair/install-check-script.sh", {
    path,
    user,
    ...peerParams(peer),
  });
}

export function removeCheckScriptScript(path: string, user: string): string {
  return hostScript("lb/haproxy-pair/remove-check-script.sh", { path, user });
}

export function applyKeepalivedConfScript(
  vrrpNice: number,
  peer?: LbPeerFirst,
  roll?: KeepalivedRoll,
): string {
  return hostScript("lb/haproxy-pair/apply-keepalived-conf.sh", {
    ...peerParams(peer),
    roll_vip: roll ? hostPort(roll.vip, K3S_API_PORT) : "",
    vrrp_nice: vrrpNice,
  });
}

export function resumeKeepalivedScript(): string {
  return hostScript("lb/haproxy-pair/resume-keepalived.sh");
}

export function removeResumeKeepalivedScript(): string {
  return hostScript("lb/haproxy-pair/remove-resume-keepalived.sh");
}

export function removeKeepalivedConfScript(): string {
  return hostScript("lb/haproxy-pair/remove-keepalived-conf.sh");
}
