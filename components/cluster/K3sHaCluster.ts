/**
 * A highly available K3s cluster behind a load balancer, configured over SSH: the servers one
 * after another, the load-balancer tier, the registration gate, then the agents. The package's
 * main export; k3s-ha's own stack program is one `new K3sHaCluster(...)`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig, HostConfig } from "../config/types";
import { K3S_API_PORT } from "../config/types";
import { SshSettings } from "../host/connection";
import { RecordedHost, checkHostRecords } from "../host/hostRecords";
import { Naming } from "../host/naming";
import { Agent, FORMER_AGENT_TYPE } from "../k3s/agent";
import { BootstrapServer } from "../k3s/bootstrapServer";
import { apiUrl, hostPort } from "../k3s/configYaml";
import { JoiningServer } from "../k3s/joiningServer";
import { membershipStep } from "../k3s/membership";
import { BOOTSTRAP_SERVER_TYPE, FORMER_SERVER_TYPE, JOINING_SERVER_TYPE } from "../k3s/serverSteps";
import { LbBackend } from "../lb/backends";
import { HaproxyLbPair } from "../lb/haproxy-pair/haproxyLbPair";
import { NginxLb } from "../lb/nginx/nginxLb";
import { registrationAddressOf } from "../lb/registrationAddress";
import type { K3sHaClusterArgs } from "./args";
import { rewriteKubeconfigServer } from "./kubeconfig";
import { prepareCluster } from "./prepare";
import { registrationGate } from "./registrationGate";
import { serverListRecord, serverRemovalCheck } from "./serverRemovals";
import { argPath } from "./validate";

export const K3S_HA_CLUSTER_TYPE = "k3s-ha:index:K3sHaCluster";

/** A host of the cluster, as the outputs list it. */
export interface ClusterHost {
  name: string;
  address: string;
}

/**
 * The servers' certificate names: the registration address, then the extra names. When the extra
 * names already hold it (listed before moving the VIP or switching the LB kind, so both addresses
 * are valid during the move), their order stands: the move then changes no server's config.yaml
 * and restarts no server.
 */
function tlsSansOf(c: ClusterConfig): string[] {
  const registration = registrationAddressOf(c);
  return c.k3s.extraTlsSans.includes(registration)
    ? [...c.k3s.extraTlsSans]
    : [registration, ...c.k3s.extraTlsSans];
}

function backendsOf(c: ClusterConfig): LbBackend[] {
  return c.servers.map((s) => ({ name: s.name, address: s.address }));
}

const hostsOf = (hosts: HostConfig[]): ClusterHost[] =>
  hosts.map(({ name, address }) => ({ name, address }));

export class K3sHaCluster extends pulumi.ComponentResource {
  /** The Kubernetes API through the load balancer, e.g. https://10.10.10.100:6443. */
  public readonly apiEndpoint: pulumi.Output<string>;
  /** The fixed registration address agents join through (host:port). */
  public readonly registrationAddress: pulumi.Output<string>;
  /** The admin kubeconfig, pointing at apiEndpoint (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly servers: pulumi.Output<ClusterHost[]>;
  public readonly agents: pulumi.Output<ClusterHost[]>;
  public readonly loadBalancers: pulumi.Output<ClusterHost[]>;
  /** haproxy or nginx. */
  public readonly loadBalancerKind: string;
  /** Name of the etcd snapshot taken before the last upgrade ("" when none was needed). */
  public readonly preUpgradeSnapshot: pulumi.Output<string>;

  constructor(name: string, args: K3sHaClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(K3S_HA_CLUSTER_TYPE, name, {}, opts);
    const prepared = prepareCluster(args);
    for (const warning of prepared.warnings) pulumi.log.warn(warning, this);
    // The SDK records a stack trace for every promise it makes (runtime/debuggable.js
    // debuggablePromise), a dozen per resource, used only to report promises left pending; under
    // ts-node and the CLI's source-map-support each trace is source-mapped, which was two thirds
    // of evaluating a 300-agent cluster (npm run bench:program). While it creates its children the
    // component has the SDK keep one frame of each; source positions of resources are unaffected
    // (Resource.callsites lifts the limit itself).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 1;
    try {
      const { view: cluster, secrets } = prepared;
      const shape = cluster.shape;
      const naming = args.fromStackProgram ? new Naming("", true) : new Naming(name, false);
      const derived = <T>(f: (c: ClusterConfig) => T) => pulumi.output(cluster.derive(f));

      const field = args.fromStackProgram ? (path: string) => path : argPath;
      const records = checkHostRecords(recordedHosts(shape, field), naming, this);
      const checks = prepared.deployTimeChecks;
      const recordsChecked = pulumi.all([records, ...(checks ? [checks] : [])]);
      // Every other host step waits for the removal check and then the server list record
      // (through hostsChecked): a refused removal leaves every host as it was.
      const [first, ...rest] = shape.servers;
      const serverNames = shape.servers.map((s) => s.name);
      const removalCheck = serverRemovalCheck(naming.name("server-removal-check"), {
        host: first,
        servers: serverNames,
        field: field("servers"),
        ssh: { ...prepared.ssh, hostsChecked: recordsChecked },
        opts: { parent: this },
      });
      const serverList = serverListRecord(
        naming.name("server-list-record"),
        serverNames,
        field("servers"),
        removalCheck.id,
        this,
      );
      const ssh: SshSettings = {
        ...prepared.ssh,
        hostsChecked: pulumi.all([recordsChecked, serverList]),
      };

      // Servers join the bootstrap server directly (k3s#9661), one at a time, each after the
      // previous answers ready. An upgrade, a config change or a token rotation rolls through the
      // same chain.
      const serverArgs = (index: number) => ({
        cluster,
        index,
        ssh,
        naming,
        tlsSans: tlsSansOf,
        ...(secrets.serverSecretConfig !== undefined && {
          secretConfig: secrets.serverSecretConfig,
        }),
        ...(secrets.registryCredentials !== undefined && {
          registryCredentials: secrets.registryCredentials,
        }),
      });
      const componentOpts = (local: string, formerType?: string) => ({
        parent: this,
        ...naming.formerlyAtRoot(local, formerType),
      });
      // A server that was the bootstrap server and now joins, or the reverse (the first server
      // left the stack): the same component under the other type, so its steps update in place
      // and none runs its delete (an uninstall) on a live server.
      const serverOpts = (local: string, otherType: string) => {
        const opts = componentOpts(local, FORMER_SERVER_TYPE);
        return { ...opts, aliases: [...(opts.aliases ?? []), { type: otherType }] };
      };
      const server1 = new BootstrapServer(
        naming.name(first.name),
        {
          ...serverArgs(0),
          ...(secrets.token !== undefined && { token: secrets.token }),
          ...(secrets.agentToken !== undefined && { agentToken: secrets.agentToken }),
        },
        serverOpts(first.name, JOINING_SERVER_TYPE),
      );
      // A token rotation checks, on the bootstrap server, that its K3s can rotate before the
      // cluster's token changes; every other host's steps wait for that check, so a refusal leaves
      // every host as it was.
      const rotation = server1.tokenRotation;
      const sshAfter: SshSettings = rotation
        ? { ...ssh, hostsChecked: pulumi.all([ssh.hostsChecked, rotation.id]) }
        : ssh;

      // The servers' membership steps use the LB when a server's own API is gone.
      const lbArgs = { cluster, backends: backendsOf, ssh: sshAfter, naming };
      const lb =
        shape.loadBalancer.kind === "haproxy"
          ? new HaproxyLbPair(naming.name("lb"), lbArgs, componentOpts("lb"))
          : new NginxLb(naming.name("lb"), lbArgs, componentOpts("lb"));

      const tokenAfter = rotation ? [rotation] : [];
      const ready: pulumi.Resource[] = [server1.ready];
      const servers: (BootstrapServer | JoiningServer)[] = [server1];
      rest.forEach((node, i) => {
        const joining = new JoiningServer(
          naming.name(node.name),
          {
            ...serverArgs(i + 1),
            ssh: sshAfter,
            // The full token pins the bootstrap server's CA: a joiner refuses another CA.
            token: server1.serverJoinToken,
            agentToken: server1.agentToken,
            installAfter: [ready[ready.length - 1]],
            tokenAfter,
          },
          serverOpts(node.name, BOOTSTRAP_SERVER_TYPE),
        );
        servers.push(joining);
        ready.push(joining.ready);
      });
      const registration = cluster.derive(registrationAddressOf);
      this.serverMemberships(shape, sshAfter, servers, ready, naming, lb.steps, registration);

      const gate = registrationGate(naming.name("registration-gate"), {
        registrationAddress: registration,
        probeFrom: first,
        ssh: sshAfter,
        after: [...lb.steps, ...ready],
        lbFingerprint: cluster.derive((c) =>
          JSON.stringify({ lbConfig: c.loadBalancer, backends: backendsOf(c) }),
        ),
        opts: componentOpts("registration-gate"),
      });

      // Agents join in parallel; with agentBatchSize, batch after batch, each once the previous
      // batch's nodes are Ready (the membership steps), which bounds how many agents an upgrade takes
      // at once. They join with the agent token in the full form that pins the bootstrap server's
      // CA: no agent host holds the server token.
      const batchSize = shape.upgrade.agentBatchSize;
      let previousBatch: pulumi.Resource[] = [];
      let batch: pulumi.Resource[] = [];
      shape.agents.forEach((node, index) => {
        if (batchSize > 0 && index > 0 && index % batchSize === 0)
          [previousBatch, batch] = [batch, []];
        const agent = new Agent(
          naming.name(node.name),
          {
            cluster,
            index,
            ssh: sshAfter,
            naming,
            registrationAddress: registrationAddressOf,
            token: server1.agentJoinToken,
            ...(secrets.agentSecretConfig !== undefined && {
              secretConfig: secrets.agentSecretConfig,
            }),
            ...(secrets.registryCredentials !== undefined && {
              registryCredentials: secrets.registryCredentials,
            }),
            tokenAfter,
            registrationGate: gate,
            installAfter: previousBatch,
            actingHost: first,
          },
          componentOpts(node.name, FORMER_AGENT_TYPE),
        );
        batch.push(agent.membership);
      });

      this.apiEndpoint = derived((c) => apiUrl(registrationAddressOf(c)));
      this.registrationAddress = derived((c) => hostPort(registrationAddressOf(c), K3S_API_PORT));
      const context = args.kubeconfigContext ?? name;
      this.kubeconfig = pulumi.secret(
        pulumi
          .all([server1.kubeconfig, gate.id, this.apiEndpoint])
          .apply(([text, , endpoint]) => rewriteKubeconfigServer(text, endpoint, context)),
      );
      this.servers = derived((c) => hostsOf(c.servers));
      this.agents = derived((c) => hostsOf(c.agents));
      this.loadBalancers = derived((c) => hostsOf(c.loadBalancer.hosts));
      this.loadBalancerKind = shape.loadBalancer.kind;
      this.preUpgradeSnapshot = server1.preUpgradeSnapshot.stdout.apply((out) => out.trim());
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.registerOutputs({
      apiEndpoint: this.apiEndpoint,
      registrationAddress: this.registrationAddress,
      kubeconfig: this.kubeconfig,
    });
  }

  /**
   * One membership step per server: the bootstrap server's runs on the next server, the others' on
   * the bootstrap server. They are chained, so removals (and `pulumi destroy`) take servers out
   * one at a time, last first; each also keeps its acting server and the LB in place until it ran.
   */
  private serverMemberships(
    shape: ClusterConfig<pulumi.Input<string>>,
    ssh: SshSettings,
    servers: pulumi.Resource[],
    ready: pulumi.Resource[],
    naming: Naming,
    lbSteps: pulumi.Resource[],
    registrationAddress: pulumi.Input<string>,
  ): void {
    let previous: pulumi.Resource[] = [];
    shape.servers.forEach((node, i) => {
      const acting = i === 0 ? Math.min(1, servers.length - 1) : 0;
      const local = `${node.name}-membership`;
      const step = membershipStep(
        naming.name(local),
        { role: "server", node, ssh, k3s: shape.k3s, upgrade: shape.upgrade },
        {
          actingHost: shape.servers[acting],
          registrationAddress,
          after: [ready[acting], ...lbSteps, ...previous],
        },
        { parent: servers[i], dependsOn: [ready[i]] },
      );
      previous = [step];
    });
  }
}

/** Every host the stack configures, with where it sits in the configuration. */
function recordedHosts(
  shape: ClusterConfig<pulumi.Input<string>>,
  field: (stackPath: string) => string,
): RecordedHost[] {
  const list = (
    key: string,
    role: RecordedHost["role"],
    hosts: HostConfig<pulumi.Input<string>>[],
  ) =>
    hosts.map((h, i) => ({ field: field(`${key}[${i}]`), role, name: h.name, address: h.address }));
  return [
    ...list("servers", "server", shape.servers),
    ...list("agents", "agent", shape.agents),
    ...list("lbHosts", "load balancer", shape.loadBalancer.hosts),
  ];
}
