/** One K3s agent, joined through the load balancer's registration address once it answers. */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { airgapFiles } from "../airgap/airgapFiles";
import { imagesFileName } from "../airgap/section";
import type { ClusterConfig } from "../config/types";
import { ClusterView } from "../cluster/view";
import { SshHost, SshSettings, connectionFor, needsSudo } from "../host/connection";
import { hostStep } from "../host/hostStep";
import { Naming } from "../host/naming";
import {
  K3S_CONFIG_PATH,
  K3S_SECRET_CONFIG_PATH,
  K3S_TOKEN_PATH,
  renderAgentConfig,
} from "./configYaml";
import { fileReason, k3sFileStep } from "./k3sFile";
import { membershipStep } from "./membership";
import { installScriptFor } from "./installScript";
import { K3S_REGISTRIES_PATH } from "./registries";
import { registriesContent } from "./registriesFile";
import { uninstallK3sScript } from "./scripts";
import { drainAgentForUpgradeScript } from "./upgradeScripts";

export const AGENT_TYPE = "k3s-ha:k3s:Agent";
export const FORMER_AGENT_TYPE = "k3s-ha:cluster:K3sAgent";

export interface AgentArgs {
  /** The validated cluster; addresses are rendered from it. */
  cluster: ClusterView;
  /** This agent's place in `cluster.shape.agents`. */
  index: number;
  /** How to reach the host, and what every step waits for. */
  ssh: SshSettings;
  naming: Naming;
  /** The load balancer's fixed registration address (VIP or Nginx host). */
  registrationAddress: (cluster: ClusterConfig) => string;
  /** Secret token the agent joins with: the agent token, CA-pinned (K10<CA hash>::node:<pw>). */
  token: pulumi.Input<string>;
  /** Secret K3s settings (a YAML fragment) for config.yaml.d. */
  secretConfig?: pulumi.Input<string>;
  /** Registry credentials (a YAML mapping) for registries.yaml. */
  registryCredentials?: pulumi.Input<string>;
  /** Steps that must finish before the token file is rewritten (the token rotation). */
  tokenAfter: pulumi.Resource[];
  /** The step proving the registration address answers; the agent installs only after it. */
  registrationGate: pulumi.Resource;
  /** Steps that must finish before this agent is drained or installed (the previous batch). */
  installAfter: pulumi.Resource[];
  /** The server the drain and membership steps run on (the bootstrap server). */
  actingHost: SshHost;
}

export class Agent extends pulumi.ComponentResource {
  /** The install step; it ends when the agent service runs. */
  public readonly ready: remote.Command;
  /** Runs on a server: waits until the node is Ready; removes the node when the agent leaves. */
  public readonly membership: remote.Command;

  constructor(name: string, args: AgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(AGENT_TYPE, name, {}, opts);
    const { cluster, naming, ssh } = args;
    const node = cluster.shape.agents[args.index];
    const connection = connectionFor(node, ssh);
    const sudo = needsSudo(ssh);
    const step = (role: string, more: pulumi.CustomResourceOptions = {}) => {
      const local = `${node.name}-${role}`;
      return { name: naming.name(local), opts: { parent: this, ...more } };
    };
    const file = (
      role: string,
      path: string,
      content: pulumi.Input<string>,
      secret: boolean,
      after: pulumi.Resource[],
    ) => {
      const { name: fileName, opts: fileOpts } = step(role, { dependsOn: after });
      return k3sFileStep(
        fileName,
        { connection, sudo, role: "agent", path, content, secret },
        fileOpts,
      );
    };

    // Air-gapped, the staging step checks the host's tools first: nothing else there runs before.
    const airgap = cluster.shape.k3s.airgap;
    const airgapSteps = airgap ? airgapFiles(step, { connection, sudo, airgap }) : undefined;
    const preflight = airgapSteps ? [airgapSteps.staging] : [];
    const tokenAfter = [...preflight, ...args.tokenAfter];
    const token = file("token", K3S_TOKEN_PATH, args.token, true, tokenAfter);
    const secretConfig =
      args.secretConfig === undefined
        ? undefined
        : file("secret-config", K3S_SECRET_CONFIG_PATH, args.secretConfig, true, tokenAfter);
    const configText = cluster.derive((c) =>
      renderAgentConfig({
        node: c.agents[args.index],
        registrationAddress: args.registrationAddress(c),
      }),
    );
    const config = file("config", K3S_CONFIG_PATH, configText, false, preflight);
    const registriesFile = registriesContent(
      cluster.shape.k3s.registries,
      args.registryCredentials,
    );
    const registries =
      registriesFile &&
      file(
        "registries",
        K3S_REGISTRIES_PATH,
        registriesFile.content,
        registriesFile.secret,
        preflight,
      );
    const before: pulumi.Resource[] = [token, config, args.registrationGate];
    if (secretConfig) before.push(secretConfig);
    if (registries) before.push(registries);
    before.push(...args.installAfter);
    if (airgapSteps) before.push(airgapSteps.verified);
    const upgrade = cluster.shape.upgrade;
    if (upgrade.drainBeforeUpgrade) {
      // kubectl lives on the servers; the agent's node is drained from there, after every server.
      const drain = step("drain", { dependsOn: [args.registrationGate, ...args.installAfter] });
      before.push(
        hostStep(
          drain.name,
          {
            connection: connectionFor(args.actingHost, ssh),
            sudo,
            create: drainAgentForUpgradeScript(
              cluster.shape.k3s.version,
              node.name,
              upgrade.drainTimeoutSeconds,
            ),
          },
          drain.opts,
        ),
      );
    }

    const k3s = cluster.shape.k3s;
    const install = step("install", { dependsOn: before });
    this.ready = hostStep(
      install.name,
      {
        connection,
        sudo,
        create: installScriptFor(cluster, "agent", {
          nodeName: node.name,
          secretConfig: args.secretConfig !== undefined,
          ...(airgap && { airgap: { imagesFile: imagesFileName(airgap) } }),
        }),
        delete: uninstallK3sScript("agent"),
        // A changed token or config restarts the agent from here.
        rerunOn: [
          fileReason("token", args.token, true),
          fileReason("config.yaml", configText, false),
          ...(args.secretConfig === undefined
            ? []
            : [fileReason("secret-config", args.secretConfig, true)]),
          ...(registriesFile === undefined
            ? []
            : [fileReason("registries.yaml", registriesFile.content, registriesFile.secret)]),
        ],
      },
      install.opts,
    );
    const membership = step("membership", { dependsOn: [this.ready] });
    this.membership = membershipStep(
      membership.name,
      { role: "agent", node, ssh, k3s, upgrade },
      {
        actingHost: args.actingHost,
        registrationAddress: cluster.derive(args.registrationAddress),
        after: [],
      },
      membership.opts,
    );
    this.registerOutputs({});
  }
}
