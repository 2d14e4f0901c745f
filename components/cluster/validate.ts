/** The whole configuration's validation: each feature's section, then the checks that span them. Pure. */
import { ConfigError } from "../config/errors";
import { isAbsent, readBool, reportUnknownKeys } from "../config/fields";
import { RAW_KEYS, RawClusterConfig, STACK_KEYS, StackKey, defaultOf } from "../config/keys";
import { Problems } from "../config/problems";
import type { ClusterConfig, StackSecrets } from "../config/types";
import { readAirgapSection } from "../airgap/section";
import { TRUST_ANY_HOST_KEY, checkHostKeysPinned } from "../host/hostKeysRequired";
import { readSshSection } from "../host/sshSection";
import { checkTokens } from "../k3s/joinTokens";
import { readK3sSection } from "../k3s/section";
import { checkSecretConfigs } from "../k3s/secretConfig";
import { readExtraTlsSans } from "../k3s/tlsSans";
import { readUpgradeSection } from "../k3s/upgradeSection";
import { readLoadBalancerSection } from "../lb/section";
import { checkUniqueHosts } from "../host/hostEntry";
import { checkServerCount, readNodeList } from "../k3s/nodesSection";
import { readLbHostList } from "../lb/hostsSection";
import { checkNodeAddressFamily } from "../k3s/addressFamily";
import { checkSshPort } from "./sshPortCollisions";
import { checkPodNetworks } from "../k3s/podNetworks";
import { parseIpAddress } from "../config/address";
import { checkProxyCoverage } from "../k3s/proxy";
import { checkRegistryCredentials } from "../k3s/registries";

export interface ValidateOptions {
  /**
   * How problems name their field: by stack key (`lbHosts[1].priority`, the default) or by their
   * place in K3sHaClusterArgs (`loadBalancer.hosts[1].priority`).
   */
  paths?: "stack" | "args";
  /**
   * True for a value known only at deploy time (a host's address or host key taken from another
   * resource's output): it is kept as given, and the checks that need it wait for the
   * deploy-time pass, which validates the resolved values with the same rules.
   */
  isDeferred?: (value: unknown) => boolean;
  /** The stack being validated, for the commands problems suggest (`npm run hostkeys -- --stack dev`). */
  stack?: string;
}

/** `lbHosts[1].priority` -> `loadBalancer.hosts[1].priority`, by the key table. */
export function argPath(stackPath: string): string {
  const m = /^([A-Za-z0-9_]+)(.*)$/s.exec(stackPath);
  if (!m || !(m[1] in STACK_KEYS)) return stackPath;
  return `${STACK_KEYS[m[1] as StackKey].arg}${m[2]}`;
}

/**
 * Checks the raw configuration and applies defaults. Throws one ConfigError listing every problem,
 * each prefixed with its field path; values are echoed only when short and not secret.
 */
export function validateClusterConfig<A = string>(
  raw: RawClusterConfig,
  secrets: StackSecrets = {},
  options: ValidateOptions = {},
): ClusterConfig<A> {
  const p = new Problems(options.paths === "args" ? argPath : undefined, options.isDeferred);
  checkTokens(p, secrets);
  checkSecretConfigs(p, secrets);
  checkRegistryCredentials(p, secrets.registryCredentials);
  reportUnknownKeys(p, "", raw, RAW_KEYS, false);
  const ssh = readSshSection(p, raw, { user: defaultOf("sshUser"), port: defaultOf("sshPort") });
  const k3s = readK3sSection(p, raw, { installScriptUrl: defaultOf("installScriptUrl") });
  const airgap = readAirgapSection(p, raw);
  const extraTlsSans = readExtraTlsSans(p, raw);
  const upgrade = readUpgradeSection(p, raw, {
    drainBeforeUpgrade: defaultOf("drainBeforeUpgrade"),
    drainTimeoutSeconds: defaultOf("drainTimeoutSeconds"),
    agentBatchSize: defaultOf("agentBatchSize"),
  });
  const servers = readNodeList(p, "servers", raw.servers, ssh.port);
  const allowTwo =
    readBool(p, "allowTwoServers", raw.allowTwoServers) ?? defaultOf("allowTwoServers");
  if (isAbsent(raw.servers) || Array.isArray(raw.servers))
    checkServerCount(p, servers.count, allowTwo);
  const agents = readNodeList(p, "agents", raw.agents, ssh.port);
  const lbHosts = readLbHostList(p, raw.lbHosts, ssh.port);
  const allHosts = [...servers.refs, ...agents.refs, ...lbHosts.refs];
  checkUniqueHosts(p, allHosts);
  const trustAnyHostKey =
    readBool(p, TRUST_ANY_HOST_KEY, raw.sshTrustAnyHostKey) ?? defaultOf("sshTrustAnyHostKey");
  checkHostKeysPinned(
    p,
    [
      ...allHosts.map((h) => ({ path: h.path, name: h.name ?? h.path, pinned: h.pinsHostKey })),
      ...(ssh.bastion
        ? [
            {
              path: "sshBastion",
              name: `the bastion ${ssh.bastion.host}`,
              // Set, valid or not: an invalid key is reported on its own.
              pinned: !isAbsent((raw.sshBastion as { hostKey?: unknown }).hostKey),
            },
          ]
        : []),
    ],
    trustAnyHostKey,
    { stack: options.stack, args: options.paths === "args" },
  );
  const loadBalancer = readLoadBalancerSection(p, raw, lbHosts, allHosts);
  checkNodeAddressFamily(p, [...servers.refs, ...agents.refs]);
  checkProxyCoverage(p, k3s?.proxy, [...servers.refs, ...agents.refs]);
  const vipAddress =
    loadBalancer?.kind === "haproxy" ? parseIpAddress(loadBalancer.vip) : undefined;
  checkPodNetworks(
    p,
    k3s?.extraServerArgs ?? [],
    secrets.serverSecretConfig,
    allHosts,
    typeof vipAddress === "object" ? vipAddress : undefined,
  );
  checkSshPort(p, ssh.port, {
    servers: servers.count > 0,
    agents: agents.count > 0,
    lbKind: loadBalancer?.kind,
  });
  if (p.errors.length > 0) throw new ConfigError(p.errors);
  if (!k3s || !loadBalancer) {
    throw new Error("validateClusterConfig: a section was incomplete without reporting why");
  }
  const config: ClusterConfig = {
    ssh: { ...ssh, trustAnyHostKey },
    k3s: { ...k3s, extraTlsSans, ...(airgap && { airgap }) },
    servers: servers.nodes,
    agents: agents.nodes,
    loadBalancer,
    upgrade,
    warnings: p.warnings,
  };
  // Deferred values were kept as given (Problems.isDeferred): the addresses are strings or those.
  return config as unknown as ClusterConfig<A>;
}
