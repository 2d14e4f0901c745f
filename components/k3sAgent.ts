/** One K3s agent, joined through the load balancer's registration address once it answers. */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { K3sConfig, NodeConfig } from "./config";
import { SshSettings, connectionFor, needsSudo } from "./remote/connection";
import { hostStep } from "./remote/hostStep";
import { K3S_CONFIG_PATH, K3S_TOKEN_PATH, renderAgentConfig } from "./render/k3sConfig";
import {
  installK3sScript,
  removeFileScript,
  uninstallK3sScript,
  writeK3sFileScript,
} from "./render/k3sScripts";
import { K3S_AGENT_TYPE } from "./tokens";

export interface K3sAgentArgs {
  /** The host and its node settings. */
  node: NodeConfig;
  /** How to reach the host. */
  ssh: SshSettings;
  /** Version, installer and extra args. */
  k3s: K3sConfig;
  /** The load balancer's fixed registration address (VIP or Nginx host). */
  registrationAddress: string;
  /** Secret token agents join with (the agent token when one is set). */
  token: pulumi.Input<string>;
  /** The step proving the registration address answers; the agent installs only after it. */
  registrationGate: pulumi.Resource;
}

export class K3sAgent extends pulumi.ComponentResource {
  /** The install step; it ends when the agent service runs. */
  public readonly ready: remote.Command;
  public readonly address: string;

  constructor(name: string, args: K3sAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(K3S_AGENT_TYPE, name, {}, opts);
    const connection = connectionFor(args.node, args.ssh);
    const sudo = needsSudo(args.ssh);
    const role = "agent";

    const token = hostStep(
      `${name}-token`,
      {
        connection,
        sudo,
        create: writeK3sFileScript(role, K3S_TOKEN_PATH),
        delete: removeFileScript(K3S_TOKEN_PATH),
        stdin: pulumi.secret(pulumi.output(args.token).apply((t) => `${t}\n`)),
        secret: true,
      },
      { parent: this },
    );
    const config = hostStep(
      `${name}-config`,
      {
        connection,
        sudo,
        create: writeK3sFileScript(role, K3S_CONFIG_PATH),
        delete: removeFileScript(K3S_CONFIG_PATH),
        stdin: renderAgentConfig({
          node: args.node,
          registrationAddress: args.registrationAddress,
        }),
      },
      { parent: this },
    );
    this.ready = hostStep(
      `${name}-install`,
      {
        connection,
        sudo,
        create: installK3sScript(role, args.k3s, args.k3s.extraAgentArgs),
        delete: uninstallK3sScript(role),
      },
      { parent: this, dependsOn: [token, config, args.registrationGate] },
    );
    this.address = args.node.address;
    this.registerOutputs({ address: this.address });
  }
}
