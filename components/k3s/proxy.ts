/**
 * The `proxy` stack key: HTTP_PROXY, HTTPS_PROXY and NO_PROXY for K3s. The install step runs the
 * K3s installer with them in its environment: the installer downloads through them and writes them
 * into the service's env file (k3s-io/k3s install.sh create_env_file, appending the variables that
 * match `^(NO|HTTP|HTTPS)_PROXY`), which systemd hands to K3s (docs.k3s.io, Advanced: Configuring
 * an HTTP proxy). K3s servers add their own networks and `.svc` to NO_PROXY (pkg/server/server.go
 * setNoProxyEnv); agents do not, so the program adds them for every node, with the nodes' and the
 * registration address. No credentials: the stack file is not secret.
 */
import { Cidr, IpAddress, cidrContains, parseCidr, parseIpAddress } from "../config/address";
import { childPath, indexPath, show } from "../config/display";
import { readArray, readBool, readObject } from "../config/fields";
import type { RawClusterConfig } from "../config/keys";
import { Problems } from "../config/problems";
import { shellSafetyProblem } from "../config/shellWord";
import { readHttpUrl } from "../config/url";
import type { ClusterConfig, ProxyConfig } from "../config/types";
import type { HostRef } from "../host/hostEntry";
import { registrationAddressOf } from "../lb/registrationAddress";
import { clusterNetworks, flagValue } from "./podNetworks";

/** The variables the installer writes into K3s's env file. */
export interface ProxyEnvironment {
  HTTP_PROXY: string;
  HTTPS_PROXY: string;
  NO_PROXY: string;
}

const PATH = "proxy";

function readProxyUrl(p: Problems, path: string, value: unknown): string | undefined {
  // The installer copies the variables through `echo $v` (unquoted): only shell-safe words survive.
  return readHttpUrl(p, path, value, {
    example: "http://proxy.example.com:3128",
    noCredentials:
      "it would be stored in the stack file and in K3s's env file, which are not secret; use a proxy that authorises the nodes by address",
    shellSafe: true,
  });
}

function readNoProxy(p: Problems, path: string, value: unknown): string[] {
  const list =
    readArray(p, path, value, "an array of hosts, domains (.example.com), IPs or CIDRs") ?? [];
  return list.flatMap((item, i) => {
    const itemPath = indexPath(path, i);
    if (typeof item !== "string" || item === "") {
      p.error(itemPath, `expected a host, domain, IP or CIDR, got ${show(item, itemPath)}`);
      return [];
    }
    const unsafe = shellSafetyProblem(item, itemPath);
    if (unsafe) {
      p.error(itemPath, unsafe);
      return [];
    }
    if (item.includes(",")) {
      p.error(itemPath, `${show(item, itemPath)}: one entry per item (no commas)`);
      return [];
    }
    return [item];
  });
}

/** The `proxy` stack key: undefined when the stack has none. */
export function readProxy(p: Problems, raw: RawClusterConfig): ProxyConfig | undefined {
  const object = readObject(
    p,
    PATH,
    raw.proxy,
    "an object {httpProxy, httpsProxy, noProxy, noProxyDefaults}",
    ["httpProxy", "httpsProxy", "noProxy", "noProxyDefaults"],
  );
  if (!object) return undefined;
  const httpProxy = readProxyUrl(p, childPath(PATH, "httpProxy"), object.httpProxy);
  const httpsProxy = readProxyUrl(p, childPath(PATH, "httpsProxy"), object.httpsProxy);
  const noProxy = readNoProxy(p, childPath(PATH, "noProxy"), object.noProxy);
  const noProxyDefaults =
    readBool(p, childPath(PATH, "noProxyDefaults"), object.noProxyDefaults) ?? true;
  if (object.httpProxy === undefined && object.httpsProxy === undefined) {
    p.error(PATH, "sets neither httpProxy nor httpsProxy (remove the key, or set one)");
  }
  return {
    ...(httpProxy !== undefined && { httpProxy }),
    ...(httpsProxy !== undefined && { httpsProxy }),
    noProxy,
    noProxyDefaults,
  };
}

function cidrsOf(entries: string[]): Cidr[] {
  return entries.flatMap((e) => {
    const cidr = parseCidr(e);
    if (typeof cidr !== "string") return [cidr];
    const ip = parseIpAddress(e);
    return typeof ip === "string"
      ? []
      : [parseCidr(`${ip.text}/${ip.parsed.kind() === "ipv4" ? 32 : 128}`) as Cidr];
  });
}

/**
 * Warns when noProxy covers none of the node addresses: each is then added on its own, so adding
 * or removing a node changes NO_PROXY on every node, and every K3s restarts.
 */
export function checkProxyCoverage(p: Problems, proxy: ProxyConfig | undefined, nodes: HostRef[]) {
  if (!proxy?.noProxyDefaults) return;
  const cidrs = cidrsOf(proxy.noProxy);
  const addresses = nodes.flatMap((n) => (n.address ? [n.address] : []));
  const uncovered = addresses.filter((a) => !cidrs.some((c) => cidrContains(c, a)));
  if (uncovered.length === 0) return;
  p.warn(
    childPath(PATH, "noProxy"),
    `does not cover ${uncovered.length} node address(es) (${uncovered
      .slice(0, 3)
      .map((a) => a.text)
      .join(
        ", ",
      )}${uncovered.length > 3 ? ", ..." : ""}): each goes into NO_PROXY on its own, so adding or removing a node changes NO_PROXY on every node and restarts every K3s, one at a time; list the nodes' subnet (e.g. ${subnetExample(uncovered[0])}) in proxy.noProxy`,
  );
}

function subnetExample(address: IpAddress): string {
  if (address.parsed.kind() === "ipv4")
    return `${address.text.split(".").slice(0, 3).join(".")}.0/24`;
  return `${address.text}/64`;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** Computed once per resolved configuration: every node's install step asks for the same. */
const environments = new WeakMap<ClusterConfig, ProxyEnvironment | undefined>();

/**
 * The proxy variables for every K3s node: the stack's, and unless noProxyDefaults is false, NO_PROXY
 * with localhost, the cluster's networks and domain, and the registration address and each node
 * address that the given entries do not cover.
 */
export function proxyEnvironment(c: ClusterConfig): ProxyEnvironment | undefined {
  if (!environments.has(c)) environments.set(c, computeProxyEnvironment(c));
  return environments.get(c);
}

function computeProxyEnvironment(c: ClusterConfig): ProxyEnvironment | undefined {
  const proxy = c.k3s.proxy;
  if (!proxy) return undefined;
  let noProxy = [...proxy.noProxy];
  if (proxy.noProxyDefaults) {
    const family = c.servers[0].address.includes(":") ? "ipv6" : "ipv4";
    const domain = flagValue(c.k3s.extraServerArgs, "cluster-domain")?.value ?? "cluster.local";
    const cidrs = cidrsOf(proxy.noProxy);
    const uncovered = (address: string) => {
      const ip = parseIpAddress(address);
      return typeof ip === "string" || !cidrs.some((cidr) => cidrContains(cidr, ip));
    };
    const nodes = [...c.servers, ...c.agents].map((n) => n.address);
    noProxy = unique([
      ...noProxy,
      "localhost",
      "127.0.0.1",
      ...(family === "ipv6" ? ["::1"] : []),
      ".svc",
      `.${domain}`,
      ...clusterNetworks(c.k3s.extraServerArgs, family),
      ...[registrationAddressOf(c), ...nodes].filter(uncovered),
    ]);
  }
  return {
    HTTP_PROXY: proxy.httpProxy ?? "",
    HTTPS_PROXY: proxy.httpsProxy ?? "",
    NO_PROXY: noProxy.join(","),
  };
}
