/** One Nginx stream proxy in front of the servers, run natively or in Docker. A single point of failure. */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { K3S_API_PORT, NginxLbConfig } from "../../config/types";
import {
  SshSettings,
  checkedAddress,
  connectionFor,
  needsSudo,
  systemSshOptions,
} from "../../host/connection";
import { hostStep } from "../../host/hostStep";
import { LbBackend } from "../backends";
import {
  NGINX_CONF_PATH,
  NGINX_CONTAINER_NAME,
  applyNginxConfScript,
  applyNginxDockerConfScript,
  prepareNginxDockerHostScript,
  removeNginxConfScript,
  removeNginxDockerConfScript,
} from "./scripts";
import { renderNginxConf } from "./nginxConf";
import { renderSupervisionDropIn } from "../supervision";
import { installSupervisionScript, removeSupervisionScript } from "../supervisionScripts";
import { NGINX_LB_TYPE } from "../../cluster/typeTokens";

export interface NginxLbArgs {
  /** Mode, image and the one host. */
  lb: NginxLbConfig;
  /** The K3s servers traffic is balanced over. */
  backends: LbBackend[];
  /** How to reach the host. */
  ssh: SshSettings;
}

export class NginxLb extends pulumi.ComponentResource {
  /** The registration address: the Nginx host. */
  public readonly address: string;
  /** The steps that make Nginx serve; whatever needs it serving depends on these. */
  public readonly steps: pulumi.Resource[];

  constructor(name: string, args: NginxLbArgs, opts?: pulumi.ComponentResourceOptions) {
    super(NGINX_LB_TYPE, name, {}, opts);
    const host = args.lb.hosts[0];
    this.address = host.address;
    this.steps =
      args.lb.mode === "docker"
        ? this.runInDocker(name, args, renderNginxConf({ backends: args.backends, mode: "docker" }))
        : [
            hostStep(
              `${name}-nginx`,
              {
                connection: connectionFor(host, args.ssh),
                sudo: needsSudo(args.ssh),
                create: applyNginxConfScript(),
                delete: removeNginxConfScript(),
                stdin: renderNginxConf({ backends: args.backends, mode: "native" }),
              },
              { parent: this },
            ),
            // systemd restarts Nginx when it dies (Docker mode: the container's restart policy).
            hostStep(
              `${name}-supervise`,
              {
                connection: connectionFor(host, args.ssh),
                sudo: needsSudo(args.ssh),
                create: installSupervisionScript(["nginx"]),
                delete: removeSupervisionScript(["nginx"]),
                stdin: renderSupervisionDropIn(),
              },
              { parent: this },
            ),
          ];
    this.registerOutputs({ address: this.address });
  }

  /**
   * The page's `docker run`, as resources on the host's Docker engine reached over SSH. The
   * container is created with the config of its day; a later config (a server added or removed) is
   * loaded into the running container by a host step, so the container is never replaced for it.
   */
  private runInDocker(name: string, args: NginxLbArgs, nginxConf: string): pulumi.Resource[] {
    const host = args.lb.hosts[0];
    const connection = connectionFor(host, args.ssh);
    const sudo = needsSudo(args.ssh);
    const address = pulumi
      .output(checkedAddress(host, args.ssh))
      .apply((a) => (a.includes(":") ? `[${a}]` : a));
    const provider = new docker.Provider(
      `${name}-docker`,
      {
        host: pulumi.interpolate`ssh://${args.ssh.user}@${address}:${args.ssh.port}`,
        sshOpts: systemSshOptions(args.ssh),
      },
      { parent: this },
    );
    const prepared = hostStep(
      `${name}-docker-host`,
      { connection, sudo, create: prepareNginxDockerHostScript() },
      { parent: this },
    );
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: args.lb.image, keepLocally: true },
      { parent: this, provider },
    );
    const container = new docker.Container(
      `${name}-nginx`,
      {
        name: NGINX_CONTAINER_NAME,
        image: image.imageId,
        restart: "unless-stopped",
        ports: [{ internal: K3S_API_PORT, external: K3S_API_PORT }],
        uploads: [{ file: NGINX_CONF_PATH, content: nginxConf }],
      },
      {
        parent: this,
        provider,
        dependsOn: [prepared],
        // Later configs reach the container through the config step below.
        ignoreChanges: ["uploads"],
        // Name and host port are unique on the host: the old container must go first.
        deleteBeforeReplace: true,
      },
    );
    const config = hostStep(
      `${name}-nginx-config`,
      {
        connection,
        sudo,
        create: applyNginxDockerConfScript(),
        delete: removeNginxDockerConfScript(),
        stdin: nginxConf,
      },
      { parent: this, dependsOn: [container] },
    );
    return [container, config];
  }
}
