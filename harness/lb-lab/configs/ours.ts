/** What the program renders, for the lab's hosts: the exact renderer output, nothing edited. */
import { LbBackend } from "../../../components/lb/backends";
import { renderHaproxyCfg } from "../../../components/lb/haproxy-pair/haproxyCfg";
import {
  KEEPALIVED_CHECK_SCRIPT_PATH,
  renderHaproxyCheckScript,
  renderKeepalivedConf,
} from "../../../components/lb/haproxy-pair/keepalivedConf";
import { renderNginxConf } from "../../../components/lb/nginx/nginxConf";
import { HOST_ADDRESSES, HOST_IF, LbHostName, PREFIX_LENGTH, STAND_INS, VIP } from "../constants";

/** Same router id and priorities as the page, so only the configuration differs. */
export const OUR_VIRTUAL_ROUTER_ID = 51;
export const OUR_PRIORITIES: Record<LbHostName, number> = { "lb-1": 200, "lb-2": 100 };

export const OUR_BACKENDS: LbBackend[] = STAND_INS.map((name) => ({
  name,
  address: HOST_ADDRESSES[name],
}));

export function oursHaproxyCfg(): string {
  return renderHaproxyCfg({ backends: OUR_BACKENDS });
}

/** advertIntervalMs omitted = the renderer's default, as the program renders it. */
export function oursKeepalivedConf(
  host: LbHostName,
  unicast: boolean,
  advertIntervalMs?: number,
): string {
  const peer: LbHostName = host === "lb-1" ? "lb-2" : "lb-1";
  return renderKeepalivedConf({
    interface: HOST_IF,
    virtualRouterId: OUR_VIRTUAL_ROUTER_ID,
    vip: VIP,
    vipPrefixLength: PREFIX_LENGTH,
    priority: OUR_PRIORITIES[host],
    peerPriority: OUR_PRIORITIES[peer],
    nopreempt: true,
    unicast: unicast
      ? { sourceAddress: HOST_ADDRESSES[host], peers: [HOST_ADDRESSES[peer]] }
      : undefined,
    ...(advertIntervalMs !== undefined ? { advertIntervalMs } : {}),
  });
}

export const OUR_CHECK_SCRIPT_PATH = KEEPALIVED_CHECK_SCRIPT_PATH;

export function oursCheckScript(): string {
  return renderHaproxyCheckScript();
}

export function oursNginxConf(): string {
  return renderNginxConf({ backends: OUR_BACKENDS, mode: "native" });
}
