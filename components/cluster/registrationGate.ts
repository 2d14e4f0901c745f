/** The step agents wait for: the registration address answers /ping through the load balancer. */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { NodeConfig } from "../config/types";
import { SshSettings, connectionFor, needsSudo } from "../host/connection";
import { hostStep } from "../host/hostStep";
import { registrationGateScript } from "../k3s/scripts";

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
      create: registrationGateScript(args.registrationAddress),
      rerunOn: [{ label: "load balancer", value: args.lbFingerprint }],
    },
    { dependsOn: args.after },
  );
}
