/** One Nginx stream proxy in front of the servers, run natively or in Docker. A single point of failure. */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { K3S_API_PORT } from "../../config/types";
import type { ClusterConfig, NginxLbConfig } from "../../config/types";
import { ClusterView } from "../../cluster/view";
import {
  SshSettings,
  checkedAddress,
  connectionFor,
  needsSudo,
  systemSshOptions,
} from "../../host/connection";
import { hostStep } from "../../host/hostStep";
import { mapInput } from "../../host/inputs";
import { Naming } from "../../host/naming";
import { LbBackend } from "../backends";
import { renderSupervisionDropIn } from "../supervision";
import { installSupervisionScript, removeSupervisionScript } from "../supervisionScripts";
import { renderNginxConf } from "./nginxConf";
import {
  NGINX_CONF_PATH,
  NGINX_CONTAINER_NAME,
  applyNginxConfScript,
  applyNginxDockerConfScript,
  prepareNginxDockerHostScript,
  removeNginxConfScript,
  removeNginxDockerConfScript,
} from "./scripts";

export const NGINX_LB_TYPE = "k3s-ha:lb:NginxLb";

export interface NginxLbArgs {
  /** The validated cluster: Nginx's mode, image and host, and the servers it balances. */
  cluster: ClusterView;
  /** The K3s servers traffic is balanced over. */
  backends: (cluster: ClusterConfig) => LbBackend[];
  /** How to reach the host, and what every step waits for. */
  ssh: SshSettings;
  naming: Naming;
}

export class NginxLb extends pulumi.ComponentResource {
  /** The steps that make Nginx serve; whatever needs it serving depends on these. */
  public readonly steps: pulumi.Resource[];

  constructor(name: string, args: NginxLbArgs, opts?: pulumi.ComponentResourceOptions) {
    super(NGINX_LB_TYPE, name, {}, opts);
    const lb = args.cluster.shape.loadBalancer as NginxLbConfig<pulumi.Input<string>>;
    const host = lb.hosts[0];
    const conf = (mode: NginxLbConfig["mode"]) =>
      args.cluster.derive((c) => renderNginxConf({ backends: args.backends(c), mode }));
    if (lb.mode === "docker") {
      this.steps = this.runInDocker(args, lb, conf("docker"));
    } else {
      const nginx = this.step(args, "nginx");
      // systemd restarts Nginx when it dies (Docker mode: the container's restart policy).
      const supervise = this.step(args, "supervise");
      this.steps = [
        hostStep(
          nginx.name,
          {
            connection: connectionFor(host, args.ssh),
            sudo: needsSudo(args.ssh),
            create: applyNginxConfScript(),
            delete: removeNginxConfScript(),
            stdin: conf("native"),
          },
          nginx.opts,
        ),
        hostStep(
          supervise.name,
          {
            connection: connectionFor(host, args.ssh),
            sudo: needsSudo(args.ssh),
            create: installSupervisionScript(["nginx"]),
            delete: removeSupervisionScript(["nginx"]),
            stdin: renderSupervisionDropIn(),
          },
          supervise.opts,
        ),
      ];
    }
    this.registerOutputs({});
  }

  /** `<cluster>-lb-<role>`, as the component's steps were always named below the component `lb`. */
  private step(args: NginxLbArgs, role: string, more: pulumi.CustomResourceOptions = {}) {
    const local = `lb-${role}`;
    return {
      name: args.naming.name(local),
      opts: { parent: this, ...more },
    };
  }

  /**
   * The page's `docker run`, as resources on the host's Docker engine reached over SSH. The
   * container is created with the config of its day; a later config (a server added or removed) is
   * loaded into the running container by a host step, so the container is never replaced for it.
   */
  private runInDocker(
    args: NginxLbArgs,
    lb: NginxLbConfig<pulumi.Input<string>>,
    nginxConf: pulumi.Input<string>,
  ): pulumi.Resource[] {
    const host = lb.hosts[0];
    const connection = connectionFor(host, args.ssh);
    const sudo = needsSudo(args.ssh);
    const address = mapInput(checkedAddress(host, args.ssh), (a) =>
      a.includes(":") ? `[${a}]` : a,
    );
    const providerStep = this.step(args, "docker");
    const provider = new docker.Provider(
      providerStep.name,
      {
        host: pulumi.interpolate`ssh://${args.ssh.user}@${address}:${args.ssh.port}`,
        sshOpts: systemSshOptions(args.ssh),
      },
      providerStep.opts,
    );
    const prepare = this.step(args, "docker-host");
    const prepared = hostStep(
      prepare.name,
      { connection, sudo, create: prepareNginxDockerHostScript() },
      prepare.opts,
    );
    const imageStep = this.step(args, "image", { provider });
    const image = new docker.RemoteImage(
      imageStep.name,
      { name: lb.image, keepLocally: true },
      imageStep.opts,
    );
    const containerStep = this.step(args, "nginx", {
      provider,
      dependsOn: [prepared],
      // Later configs reach the container through the config step below.
      ignoreChanges: ["uploads"],
      // Name and host port are unique on the host: the old container must go first.
      deleteBeforeReplace: true,
    });
    const container = new docker.Container(
      containerStep.name,
      {
        name: NGINX_CONTAINER_NAME,
        image: image.imageId,
        restart: "unless-stopped",
        ports: [{ internal: K3S_API_PORT, external: K3S_API_PORT }],
        uploads: [{ file: NGINX_CONF_PATH, content: nginxConf }],
      },
      containerStep.opts,
    );
    const configStep = this.step(args, "nginx-config", { dependsOn: [container] });
    const config = hostStep(
      configStep.name,
      {
        connection,
        sudo,
        create: applyNginxDockerConfScript(),
        delete: removeNginxDockerConfScript(),
        stdin: nginxConf,
      },
      configStep.opts,
    );
    return [container, config];
  }
}
