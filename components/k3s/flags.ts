/**
 * K3s flags a stack may not set through extraServerArgs / extraAgentArgs or a secret config
 * fragment: flags that carry a secret (as an argument they reach INSTALL_K3S_EXEC, the systemd
 * unit and the process's command line, which any local user reads with `ps`) and flags the program
 * sets itself. K3s parses flags with urfave/cli, which takes `-flag` as well as `--flag`, so every
 * spelling is matched.
 */

/** Where a flag's value belongs instead; `inFragment` flags may go in the secret fragment. */
interface FlagRule {
  names: string[];
  carriesSecret: boolean;
  inFragment?: boolean;
  instead: string;
}

const SECRET_FRAGMENT = "serverSecretConfig / agentSecretConfig (a secret YAML fragment)";

const RULES: FlagRule[] = [
  {
    names: ["token", "t"],
    carriesSecret: true,
    instead: "the secret stack key token (pulumi config set --secret token ...)",
  },
  {
    names: ["agent-token"],
    carriesSecret: true,
    instead: "the secret stack key agentToken (pulumi config set --secret agentToken ...)",
  },
  {
    names: ["token-file", "agent-token-file"],
    carriesSecret: false,
    instead: "token / agentToken: the program writes the token files (0600) itself",
  },
  {
    names: ["vpn-auth", "etcd-s3-access-key", "etcd-s3-secret-key", "etcd-s3-session-token"],
    carriesSecret: true,
    inFragment: true,
    instead: SECRET_FRAGMENT,
  },
  {
    names: ["datastore-endpoint", "datastore-cafile", "datastore-certfile", "datastore-keyfile"],
    carriesSecret: true,
    instead:
      "nothing: the program runs embedded etcd (cluster-init on server-1); an external datastore is not supported",
  },
  {
    names: ["server", "s"],
    carriesSecret: false,
    instead:
      "nothing: servers join server-1 and agents join through the registration address the program sets",
  },
  {
    names: ["cluster-init"],
    carriesSecret: false,
    instead: "nothing: the program starts the cluster on server-1",
  },
  {
    names: ["cluster-reset", "cluster-reset-restore-path"],
    carriesSecret: false,
    instead:
      "a one-off recovery run by hand on one server (K3s docs: Backup and Restore); from a stack it would reset etcd at every restart",
  },
  {
    names: ["write-kubeconfig-mode", "write-kubeconfig"],
    carriesSecret: false,
    instead:
      "the secret stack output kubeconfig: the program keeps /etc/rancher/k3s/k3s.yaml at 0600",
  },
  {
    names: ["https-listen-port", "bind-address"],
    carriesSecret: false,
    instead:
      "nothing: the load balancers reach every server at its address on port 6443, and the program checks each server at 127.0.0.1:6443",
  },
  {
    names: ["disable-etcd", "disable-apiserver", "disable-agent"],
    carriesSecret: false,
    instead:
      "nothing: every server runs etcd, the apiserver and a kubelet (the program waits for each server's etcd, /readyz and Ready node); split server roles are not supported",
  },
  { names: ["tls-san"], carriesSecret: false, instead: "extraTlsSans" },
  { names: ["node-name"], carriesSecret: false, instead: "the host's name in servers / agents" },
  { names: ["node-ip"], carriesSecret: false, instead: "the host's address in servers / agents" },
  { names: ["node-label"], carriesSecret: false, instead: "labels on the host's entry" },
  { names: ["node-taint"], carriesSecret: false, instead: "taints on the host's entry" },
  {
    names: ["config", "c"],
    carriesSecret: false,
    instead: `nothing: the program writes /etc/rancher/k3s/config.yaml (secret settings: ${SECRET_FRAGMENT})`,
  },
  {
    names: ["data-dir", "d"],
    carriesSecret: false,
    instead: "nothing: the program reads K3s's token and images under /var/lib/rancher/k3s",
  },
];

const BY_NAME = new Map(RULES.flatMap((rule) => rule.names.map((n) => [n, rule] as const)));

/** The flag's name without its dashes (`-token=x`, `--token x` → token), if it is a flag. */
export function flagName(arg: string): string | undefined {
  const m = /^--?([A-Za-z0-9][A-Za-z0-9-]*)(?:[=\s]|$)/.exec(arg);
  return m ? m[1] : undefined;
}

/** Why an extra argument may not set this flag, or undefined. */
export function refusedExtraFlag(name: string): string | undefined {
  const rule = BY_NAME.get(name);
  if (!rule) return undefined;
  return rule.carriesSecret
    ? `--${name} carries a secret, which as an argument reaches the systemd unit and the process's command line (ps); use ${rule.instead}`
    : `--${name} is set by the program; use ${rule.instead}`;
}

/** Why a key of the secret config fragment may not be set, or undefined. */
export function refusedFragmentKey(name: string): string | undefined {
  const rule = BY_NAME.get(name);
  if (!rule || rule.inFragment) return undefined;
  return `${name} is set by the program; use ${rule.instead}`;
}

/**
 * Flags only `k3s server` defines (k3s-io/k3s pkg/cli/cmds/server.go; agent.go defines the agent's
 * set): `k3s agent` given one stops with "flag provided but not defined".
 */
const SERVER_ONLY = new Set([
  "advertise-address",
  "advertise-port",
  "cluster-cidr",
  "cluster-dns",
  "cluster-domain",
  "default-local-storage-path",
  "disable",
  "disable-cloud-controller",
  "disable-controller-manager",
  "disable-helm-controller",
  "disable-kube-proxy",
  "disable-network-policy",
  "disable-scheduler",
  "egress-selector-mode",
  "embedded-registry",
  "flannel-backend",
  "flannel-external-ip",
  "flannel-ipv6-masq",
  "service-cidr",
  "service-node-port-range",
  "servicelb-namespace",
  "supervisor-metrics",
  "system-default-registry",
]);
const SERVER_ONLY_PREFIXES = [
  "etcd-",
  "datastore-",
  "kube-apiserver-arg",
  "kube-controller-manager-arg",
  "kube-scheduler-arg",
  "kube-cloud-controller-manager-arg",
  "secrets-encryption",
];

/** Why an agent's extra argument may not set this flag, or undefined. */
export function serverOnlyFlag(name: string): string | undefined {
  if (!SERVER_ONLY.has(name) && !SERVER_ONLY_PREFIXES.some((prefix) => name.startsWith(prefix))) {
    return undefined;
  }
  return `--${name} is a K3s server flag: k3s agent stops with "flag provided but not defined"; move it to extraServerArgs`;
}
