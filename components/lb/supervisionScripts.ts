/** The scripts that put the supervision drop-ins (./supervision.ts) on an LB host and take them off. Pure. */
import { hostScript } from "../host/script";
import { SUPERVISION, SupervisedService } from "./supervision";

/** Writes the drop-in it reads on stdin (renderSupervisionDropIn) for each service. */
export function installSupervisionScript(services: readonly SupervisedService[]): string {
  return hostScript("lb/install-supervision.sh", {
    services: services.join(" "),
    restart: SUPERVISION.restart,
  });
}

/** Removes the drop-ins, and a drop-in directory this program created once it is empty. */
export function removeSupervisionScript(services: readonly SupervisedService[]): string {
  return hostScript("lb/remove-supervision.sh", { services: services.join(" ") });
}
