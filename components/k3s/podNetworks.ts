/**
 * K3s's pod and Service networks (--cluster-cidr, --service-cidr) against the cluster's own
 * addresses: a host or VIP inside one is routed to pods or Services by every node (flannel's and
 * kube-proxy's rules), so the nodes can no longer reach it.
 */
import { Cidr, IpAddress, cidrContains, networkOf, parseCidr } from "../config/address";
import { indexPath, show } from "../config/display";
import { Problems } from "../config/problems";
import type { HostRef } from "../host/hostEntry";

/**
 * K3s's defaults (docs.k3s.io/cli/server, Networking), IPv6 ones when the servers' node IPs are
 * IPv6 only (k3s pkg/cli/server/server.go, run: "configure ClusterIPRanges").
 */
const NETWORKS = [
  {
    flag: "cluster-cidr",
    what: "the pods' network",
    target: "pods",
    fallback: { ipv4: "10.42.0.0/16", ipv6: "fd00:42::/56" },
    example: { ipv4: "10.52.0.0/16", ipv6: "fd00:52::/56" },
  },
  {
    flag: "service-cidr",
    what: "the Services' network",
    target: "Services",
    fallback: { ipv4: "10.43.0.0/16", ipv6: "fd00:43::/112" },
    example: { ipv4: "10.53.0.0/16", ipv6: "fd00:53::/112" },
  },
] as const;

/** The value of `--flag=value` or `--flag value` among the arguments, with the path it came from. */
export function flagValue(
  args: string[],
  flag: string,
): { value: string; path: string } | undefined {
  for (let i = 0; i < args.length; i++) {
    const m = /^--?([a-z0-9-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m || m[1] !== flag) continue;
    const path = indexPath("extraServerArgs", i);
    if (m[2] !== undefined) return { value: m[2], path };
    if (i + 1 < args.length)
      return { value: args[i + 1], path: indexPath("extraServerArgs", i + 1) };
  }
  return undefined;
}

function parseCidrs(p: Problems, flag: string, value: string, path: string): Cidr[] {
  const cidrs: Cidr[] = [];
  for (const text of value.split(",")) {
    const cidr = parseCidr(text);
    if (typeof cidr === "string") p.error(path, `--${flag} ${show(text, path)} ${cidr}`);
    else cidrs.push(cidr);
  }
  return cidrs;
}

export function checkPodNetworks(
  p: Problems,
  extraServerArgs: string[],
  serverSecretConfig: string | undefined,
  hosts: HostRef[],
  vip: IpAddress | undefined,
): void {
  const server = hosts.find((ref) => ref.path.startsWith("servers[") && ref.address);
  const family = server?.address?.parsed.kind() ?? "ipv4";
  for (const { flag, what, target, fallback, example } of NETWORKS) {
    const given = flagValue(extraServerArgs, flag);
    // Set in the secret fragment (unusual, but K3s reads it there): its value is not ours to show.
    if (
      !given &&
      serverSecretConfig !== undefined &&
      new RegExp(`^\\s*${flag}\\s*:`, "m").test(serverSecretConfig)
    ) {
      continue;
    }
    const cidrs = given
      ? parseCidrs(p, flag, given.value, given.path)
      : [parseCidr(fallback[family]) as Cidr];
    const source = given ? `its --${flag} in extraServerArgs` : `K3s's default --${flag}`;
    const fix = given
      ? `give --${flag} a range no host uses`
      : `set --${flag}=<a range no host uses> in extraServerArgs, e.g. --${flag}=${example[family]}`;
    const addresses = [
      ...hosts.flatMap((ref) =>
        ref.address ? [{ path: `${ref.path}.address`, address: ref.address }] : [],
      ),
      ...(vip ? [{ path: "vip", address: vip }] : []),
    ];
    for (const { path, address } of addresses) {
      const inside = cidrs.find((cidr) => cidrContains(cidr, address));
      if (!inside) continue;
      p.error(
        path,
        `${address.text} is inside ${networkOf(inside)}, ${what} (${source}): every node would route it to ${target}, not to this address; ${fix} (K3s reads it only when the cluster is first created)`,
      );
    }
  }
}

/**
 * The pod and Service networks K3s uses (each flag's ranges, else its default for the servers'
 * address family), as written; for NO_PROXY.
 */
export function clusterNetworks(extraServerArgs: string[], family: "ipv4" | "ipv6"): string[] {
  return NETWORKS.flatMap(({ flag, fallback }) => {
    const given = flagValue(extraServerArgs, flag);
    return given ? given.value.split(",") : [fallback[family]];
  });
}
