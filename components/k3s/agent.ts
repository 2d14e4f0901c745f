/** One K3s agent, joined through the load balancer's registration address once it answers. */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { airgapFiles } from "../airgap/airgapFiles";
import { K3sConfig, NodeConfig, UpgradeConfig } from "../config/types";
import { MembershipArgs, membershipStep } from "./membership";
import { SshSettings, connectionFor, needsSudo } from "../host/connection";
import { fileReason, k3sFileStep } from "./k3sFile";
import { hostStep } from "../host/hostStep";
import {
  K3S_CONFIG_PATH,
  K3S_SECRET_CONFIG_PATH,
  K3S_TOKEN_PATH,
  renderAgentConfig,
} from "./configYaml";
import { installK3sScript, uninstallK3sScript } from "./scripts";
import { drainAgentForUpgradeScript } from "./upgradeScripts";
import { K3S_AGENT_TYPE } from "../cluster/typeTokens";
import { imagesFileName } from "../airgap/section";

export interface K3sAgentArgs {
  /** The host and its node settings. */
  node: NodeConfig;
  /** How to reach the host. */
  ssh: SshSettings;
  /** Version, installer and extra args. */
  k3s: K3sConfig;
  /** Drain settings for upgrades. */
  upgrade: UpgradeConfig;
  /** The load balancer's fixed registration address (VIP or Nginx host). */
  registrationAddress: string;
  /** Secret token the agent joins with: the agent token, CA-pinned (K10<CA hash>::node:<pw>). */
  token: pulumi.Input<string>;
  /** Secret K3s settings (a YAML fragment) for config.yaml.d. */
  secretConfig?: pulumi.Input<string>;
  /** Steps that must finish before the token file is rewritten (the token rotation). */
  tokenAfter?: pulumi.Resource[];
  /** The step proving the registration address answers; the agent installs only after it. */
  registrationGate: pulumi.Resource;
  /** Steps that must finish before this agent is drained or installed (the previous batch). */
  installAfter?: pulumi.Resource[];
  /** The server the drain and membership steps run on, and what they wait for. */
  membership: MembershipArgs;
}

export class K3sAgent extends pulumi.ComponentResource {
  /** The install step; it ends when the agent service runs. */
  public readonly ready: remote.Command;
  /** Runs on a server: waits until the node is Ready; removes the node when the agent leaves. */
  public readonly membership: remote.Command;
  public readonly address: string;

  constructor(name: string, args: K3sAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(K3S_AGENT_TYPE, name, {}, opts);
    const connection = connectionFor(args.node, args.ssh);
    const sudo = needsSudo(args.ssh);
    const role = "agent";

    // Air-gapped, the staging step checks the host's tools first: nothing else there runs before.
    const airgap = args.k3s.airgap;
    const airgapSteps = airgap ? airgapFiles(name, { connection, sudo, airgap }, this) : undefined;
    const preflight = airgapSteps ? [airgapSteps.staging] : [];
    const token = k3sFileStep(
      `${name}-token`,
      { connection, sudo, role, path: K3S_TOKEN_PATH, content: args.token, secret: true },
      { parent: this, dependsOn: [...preflight, ...(args.tokenAfter ?? [])] },
    );
    const secretConfig =
      args.secretConfig === undefined
        ? undefined
        : k3sFileStep(
            `${name}-secret-config`,
            {
              connection,
              sudo,
              role,
              path: K3S_SECRET_CONFIG_PATH,
              content: args.secretConfig,
              secret: true,
            },
            { parent: this, dependsOn: [...preflight, ...(args.tokenAfter ?? [])] },
          );
    const configText = renderAgentConfig({
      node: args.node,
      registrationAddress: args.registrationAddress,
    });
    const config = k3sFileStep(
      `${name}-config`,
      { connection, sudo, role, path: K3S_CONFIG_PATH, content: configText, secret: false },
      { parent: this, dependsOn: preflight },
    );
    const before: pulumi.Resource[] = [token, config, args.registrationGate];
    if (secretConfig) before.push(secretConfig);
    before.push(...(args.installAfter ?? []));
    if (airgapSteps) before.push(airgapSteps.verified);
    if (args.upgrade.drainBeforeUpgrade) {
      // kubectl lives on the servers; the agent's node is drained from there, after every server.
      before.push(
        hostStep(
          `${name}-drain`,
          {
            connection: connectionFor(args.membership.actingHost, args.ssh),
            sudo,
            create: drainAgentForUpgradeScript(
              args.k3s.version,
              args.node.name,
              args.upgrade.drainTimeoutSeconds,
            ),
          },
          {
            parent: this,
            dependsOn: [args.registrationGate, ...(args.installAfter ?? [])],
          },
        ),
      );
    }

    this.ready = hostStep(
      `${name}-install`,
      {
        connection,
        sudo,
        create: installK3sScript(role, args.k3s, args.k3s.extraAgentArgs, {
          nodeName: args.node.name,
          secretConfig: args.secretConfig !== undefined,
          ...(airgap && { airgap: { imagesFile: imagesFileName(airgap) } }),
        }),
        delete: uninstallK3sScript(role),
        // A changed token or config restarts the agent from here.
        rerunOn: [
          fileReason("token", args.token, true),
          fileReason("config.yaml", configText, false),
          ...(args.secretConfig === undefined
            ? []
            : [fileReason("secret-config", args.secretConfig, true)]),
        ],
      },
      { parent: this, dependsOn: before },
    );
    this.membership = membershipStep(
      `${name}-membership`,
      { role, node: args.node, ssh: args.ssh, k3s: args.k3s, upgrade: args.upgrade },
      args.membership,
      { parent: this, dependsOn: [this.ready] },
    );
    this.address = args.node.address;
    this.registerOutputs({ address: this.address });
  }
}
