/** The single Nginx stream proxy's settings: its one host, the mode and the Docker image. */
import { Cidr, cidrContains, networkOf, parseCidr } from "../../config/address";
import { show } from "../../config/display";
import { isAbsent, readString } from "../../config/fields";
import { defaultOf } from "../../config/keys";
import { Problems } from "../../config/problems";
import { shellSafetyProblem } from "../../config/shellWord";
import type { NginxLbConfig } from "../../config/types";
import type { HostRef } from "../../host/hostEntry";
import {
  KindSettings,
  LbHostList,
  VRRP_SETTINGS,
  checkHostCount,
  rejectOtherKind,
} from "../settings";
import { imageReferenceProblem } from "./imageReference";

export function readImage(p: Problems, value: unknown): string | undefined {
  const path = "nginxImage";
  const image = readString(p, path, value, "a Docker image reference such as nginx:stable");
  if (image === undefined) return undefined;
  const unsafe = shellSafetyProblem(image, path);
  if (unsafe) {
    p.error(path, unsafe);
    return undefined;
  }
  const problem = imageReferenceProblem(image);
  if (problem) {
    p.error(path, `${show(image, path)} ${problem}`);
    return undefined;
  }
  return image;
}

/** Docker's default bridge network (docs.docker.com, "Default bridge network"; daemon.json bip). */
const DOCKER_BRIDGE = parseCidr("172.17.0.0/16") as Cidr;

/**
 * The container reaches the servers from Docker's bridge, and the Nginx host holds that bridge's
 * route: an address inside it is taken for a container's, unless that host's Docker uses another
 * network, which the program cannot see.
 */
function warnDockerBridge(p: Problems, refs: HostRef[]): void {
  for (const ref of refs) {
    if (!/^(servers|lbHosts)\[/.test(ref.path) || !ref.address) continue;
    if (!cidrContains(DOCKER_BRIDGE, ref.address)) continue;
    p.warn(
      `${ref.path}.address`,
      `${ref.address.text} is inside Docker's default bridge network ${networkOf(DOCKER_BRIDGE)}: with nginxMode docker it is unreachable from the Nginx host unless that host's Docker uses another bridge network ("bip" in /etc/docker/daemon.json)`,
    );
  }
}

export function readNginx(
  p: Problems,
  vipValue: unknown,
  settings: KindSettings,
  hosts: LbHostList,
  allRefs: HostRef[],
): NginxLbConfig {
  if (!isAbsent(vipValue)) {
    p.error(
      "vip",
      "applies only to lbKind haproxy (nginx has no virtual IP; agents join through the nginx host's address)",
    );
  }
  rejectOtherKind(p, settings, VRRP_SETTINGS, "haproxy");
  checkHostCount(p, hosts, "nginx", 1);
  for (const entry of hosts.entries) {
    if (!isAbsent(entry.priority)) {
      p.error(`${entry.path}.priority`, "applies only to lbKind haproxy");
    }
  }
  const mode = settings.nginxMode ?? defaultOf("nginxMode");
  if (mode === "docker") warnDockerBridge(p, allRefs);
  const image = settings.nginxImage ?? defaultOf("nginxImage");
  if (mode !== "docker" && image !== defaultOf("nginxImage")) {
    p.error("nginxImage", 'applies only to nginxMode "docker"');
  }
  // An Nginx host has no VRRP priority; 0 marks it unused.
  const lbHosts = hosts.entries.flatMap((e) => (e.host ? [{ ...e.host, priority: 0 }] : []));
  return { kind: "nginx", mode, image, hosts: lbHosts };
}
