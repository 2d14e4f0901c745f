/**
 * A server that joins the cluster through the bootstrap server (k3s#9661), after the previous
 * server answers ready, with the full token that pins the bootstrap server's CA: it refuses a
 * server serving another CA.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import {
  JOINING_SERVER_TYPE,
  ServerArgs,
  ServerHost,
  serverAgentTokenFile,
  serverAirgap,
  serverConfig,
  serverInstall,
  serverRegistriesFile,
  serverSecretConfigFile,
  serverTokenFile,
} from "./serverSteps";

export interface JoiningServerArgs extends ServerArgs {
  /** The bootstrap server's CA-pinned server token, K10<CA hash>::server:<password> (secret). */
  token: pulumi.Input<string>;
  /** The agent token's password the bootstrap server keeps (secret). */
  agentToken: pulumi.Input<string>;
  /** Steps that must finish before this server installs (the previous server answering ready). */
  installAfter: pulumi.Resource[];
  /** Steps that must finish before the token files are rewritten (the token rotation). */
  tokenAfter: pulumi.Resource[];
}

export class JoiningServer extends pulumi.ComponentResource {
  /** The install step; it ends only when the server answers /ping, /readyz, /readyz/etcd, Ready. */
  public readonly ready: remote.Command;

  constructor(name: string, args: JoiningServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(JOINING_SERVER_TYPE, name, {}, opts);
    const host = new ServerHost(args, this);
    const airgap = serverAirgap(host);
    const preflight = airgap ? [airgap.staging] : [];
    const tokenAfter = [...preflight, ...args.tokenAfter];
    const files = [
      serverTokenFile(host, args.token, tokenAfter),
      serverAgentTokenFile(host, args.agentToken, tokenAfter),
    ];
    const secretConfig = serverSecretConfigFile(host, tokenAfter);
    if (secretConfig) files.push(secretConfig);
    const registries = serverRegistriesFile(host, preflight);
    if (registries) files.push(registries);
    const config = serverConfig(host, true, preflight);
    this.ready = serverInstall(
      host,
      [...files.map((f) => f.reason), config.reason],
      [
        ...files.map((f) => f.step),
        config.step,
        ...(airgap ? [airgap.verified] : []),
        ...args.installAfter,
      ],
    );
    this.registerOutputs({});
  }
}
