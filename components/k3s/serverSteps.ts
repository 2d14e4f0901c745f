/**
 * What every K3s server has, first or joining: its token files, config.yaml, air-gap files and the
 * install step that restarts K3s when any of them changed and ends only when the server is ready.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { airgapFiles } from "../airgap/airgapFiles";
import { imagesFileName } from "../airgap/section";
import type { ClusterConfig, NodeConfig } from "../config/types";
import { ClusterView } from "../cluster/view";
import { SshSettings, connectionFor, needsSudo } from "../host/connection";
import { RerunReason, hostStep } from "../host/hostStep";
import { Naming } from "../host/naming";
import {
  K3S_AGENT_TOKEN_PATH,
  K3S_CONFIG_PATH,
  K3S_SECRET_CONFIG_PATH,
  K3S_TOKEN_PATH,
  renderServerConfig,
} from "./configYaml";
import { fileReason, k3sFileStep } from "./k3sFile";
import { installScriptFor } from "./installScript";
import { K3S_REGISTRIES_PATH } from "./registries";
import { registriesContent } from "./registriesFile";
import { uninstallK3sScript } from "./scripts";

/** Type tokens of the two server shapes, and the one both had before they were split. */
export const BOOTSTRAP_SERVER_TYPE = "k3s-ha:k3s:BootstrapServer";
export const JOINING_SERVER_TYPE = "k3s-ha:k3s:JoiningServer";
export const FORMER_SERVER_TYPE = "k3s-ha:cluster:K3sServer";

export interface ServerArgs {
  /** The validated cluster; addresses are rendered from it. */
  cluster: ClusterView;
  /** This server's place in `cluster.shape.servers` (0: the bootstrap server). */
  index: number;
  /** How to reach the host, and what every step waits for. */
  ssh: SshSettings;
  naming: Naming;
  /** The servers' certificate names (the registration address, then the extra names). */
  tlsSans: (cluster: ClusterConfig) => string[];
  /** Secret K3s settings (a YAML fragment) for config.yaml.d. */
  secretConfig?: pulumi.Input<string>;
  /** Registry credentials (a YAML mapping) for registries.yaml. */
  registryCredentials?: pulumi.Input<string>;
}

/** A file step and what its change means for the install step. */
export interface FileStep {
  step: remote.Command;
  reason: RerunReason;
}

/** One server's host and the helpers its steps share. */
export class ServerHost {
  readonly node: NodeConfig<pulumi.Input<string>>;
  readonly connection: types.input.remote.ConnectionArgs;
  readonly sudo: boolean;

  constructor(
    readonly args: ServerArgs,
    readonly parent: pulumi.Resource,
  ) {
    this.node = args.cluster.shape.servers[args.index];
    this.connection = connectionFor(this.node, args.ssh);
    this.sudo = needsSudo(args.ssh);
  }

  /** A child's full name and options: `[<cluster>-]<node>-<role>`. */
  step(role: string, opts: pulumi.CustomResourceOptions = {}) {
    const local = `${this.node.name}-${role}`;
    return {
      name: this.args.naming.name(local),
      opts: { parent: this.parent, ...opts },
    };
  }

  /** A 0600 file under /etc/rancher/k3s written from stdin; a change restarts K3s through the install. */
  file(
    role: string,
    path: string,
    content: pulumi.Input<string>,
    secret: boolean,
    after: pulumi.Resource[],
    label = role,
  ): FileStep {
    const { name, opts } = this.step(role, { dependsOn: after });
    const step = k3sFileStep(
      name,
      { connection: this.connection, sudo: this.sudo, role: "server", path, content, secret },
      opts,
    );
    return { step, reason: fileReason(label, content, secret) };
  }
}

/** The air-gap steps, when the stack installs from local files: staging first on the host. */
export function serverAirgap(host: ServerHost) {
  const airgap = host.args.cluster.shape.k3s.airgap;
  if (!airgap) return undefined;
  return airgapFiles((role) => host.step(role), {
    connection: host.connection,
    sudo: host.sudo,
    airgap,
  });
}

/**
 * config.yaml (no secret in it: the tokens are files it points at); the joining servers' point at
 * the bootstrap server, whose own says cluster-init.
 */
export function serverConfig(
  host: ServerHost,
  tokenFile: boolean,
  after: pulumi.Resource[],
): FileStep {
  const { cluster, index, tlsSans } = host.args;
  const content = cluster.derive((c) =>
    renderServerConfig({
      node: c.servers[index],
      joinAddress: index === 0 ? undefined : c.servers[0].address,
      tlsSans: tlsSans(c),
      tokenFile,
      agentTokenFile: true,
      etcdSnapshots: {
        scheduleCron: c.k3s.etcdSnapshotScheduleCron,
        retention: c.k3s.etcdSnapshotRetention,
      },
    }),
  );
  return host.file("config", K3S_CONFIG_PATH, content, false, after, "config.yaml");
}

/** The token, agent token and secret config files, each a 0600 file from stdin. */
export function serverTokenFile(
  host: ServerHost,
  value: pulumi.Input<string>,
  after: pulumi.Resource[],
) {
  return host.file("token", K3S_TOKEN_PATH, value, true, after);
}

export function serverAgentTokenFile(
  host: ServerHost,
  value: pulumi.Input<string>,
  after: pulumi.Resource[],
) {
  return host.file("agent-token", K3S_AGENT_TOKEN_PATH, value, true, after);
}

export function serverSecretConfigFile(host: ServerHost, after: pulumi.Resource[]) {
  const fragment = host.args.secretConfig;
  return fragment === undefined
    ? undefined
    : host.file("secret-config", K3S_SECRET_CONFIG_PATH, fragment, true, after);
}

/** registries.yaml, when the stack has registries (0600; a secret with credentials). */
export function serverRegistriesFile(host: ServerHost, after: pulumi.Resource[]) {
  const file = registriesContent(
    host.args.cluster.shape.k3s.registries,
    host.args.registryCredentials,
  );
  return file === undefined
    ? undefined
    : host.file(
        "registries",
        K3S_REGISTRIES_PATH,
        file.content,
        file.secret,
        after,
        "registries.yaml",
      );
}

/**
 * The install step: installs or upgrades the pinned K3s and restarts it when a file it reads
 * changed (the re-run reasons); it ends only when the server answers ready.
 */
export function serverInstall(
  host: ServerHost,
  reasons: RerunReason[],
  after: pulumi.Resource[],
): remote.Command {
  const { k3s, upgrade } = host.args.cluster.shape;
  const airgap = k3s.airgap;
  const { name, opts } = host.step("install", { dependsOn: after });
  return hostStep(
    name,
    {
      connection: host.connection,
      sudo: host.sudo,
      create: installScriptFor(host.args.cluster, "server", {
        nodeName: host.node.name,
        secretConfig: host.args.secretConfig !== undefined,
        ...(upgrade.drainBeforeUpgrade && { drainTimeoutSeconds: upgrade.drainTimeoutSeconds }),
        ...(airgap && { airgap: { imagesFile: imagesFileName(airgap) } }),
      }),
      delete: uninstallK3sScript("server"),
      rerunOn: reasons,
    },
    opts,
  );
}
