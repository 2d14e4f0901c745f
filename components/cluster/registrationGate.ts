/** The step agents wait for: the registration address answers /ping through the load balancer. */
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { K3S_API_PORT } from "../config/types";
import { SshHost, SshSettings, connectionFor, needsSudo } from "../host/connection";
import { hostStep } from "../host/hostStep";
import { mapInput } from "../host/inputs";
import { hostScript } from "../host/script";
import { hostPort } from "../k3s/configYaml";

export interface RegistrationGateArgs {
  /** The VIP or the Nginx host. */
  registrationAddress: pulumi.Input<string>;
  /** The host the probe runs from: a server, so the probe crosses the network like an agent's join. */
  probeFrom: SshHost;
  ssh: SshSettings;
  /** The load balancer's steps and the servers' ready steps. */
  after: pulumi.Resource[];
  /** What the load balancer serves; a change re-runs the probe. */
  lbFingerprint: pulumi.Input<string>;
  opts: pulumi.CustomResourceOptions;
}

export function registrationGate(name: string, args: RegistrationGateArgs): remote.Command {
  return hostStep(
    name,
    {
      connection: connectionFor(args.probeFrom, args.ssh),
      sudo: needsSudo(args.ssh),
      create: mapInput(args.registrationAddress, (address) =>
        hostScript("cluster/registration-gate.sh", { target: hostPort(address, K3S_API_PORT) }),
      ),
      rerunOn: [{ label: "load balancer", value: args.lbFingerprint }],
    },
    { ...args.opts, dependsOn: args.after },
  );
}
