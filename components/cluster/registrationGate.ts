/** The step agents wait for: the registration address answers /ping through the load balancer. */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { NodeConfig } from "../config/types";
import { SshSettings, connectionFor, needsSudo } from "../host/connection";
import { hostStep } from "../host/hostStep";
import { K3S_API_PORT } from "../config/types";
import { hostScript } from "../host/script";
import { hostPort } from "../k3s/configYaml";

export interface RegistrationGateArgs {
  /** The VIP or the Nginx host. */
  registrationAddress: string;
  /** The host the probe runs from: a server, so the probe crosses the network like an agent's join. */
  probeFrom: NodeConfig;
  ssh: SshSettings;
  /** The load balancer's steps and the servers' ready steps. */
  after: pulumi.Resource[];
  /** What the load balancer serves; a change re-runs the probe. */
  lbFingerprint: string;
}

export function registrationGate(name: string, args: RegistrationGateArgs): remote.Command {
  return hostStep(
    name,
    {
      connection: connectionFor(args.probeFrom, args.ssh),
      sudo: needsSudo(args.ssh),
      create: hostScript("cluster/registration-gate.sh", {
        target: hostPort(args.registrationAddress, K3S_API_PORT),
      }),
      rerunOn: [{ label: "load balancer", value: args.lbFingerprint }],
    },
    { dependsOn: args.after },
  );
}
