/** The single Nginx stream proxy's settings: its one host, the mode and the Docker image. */
import { show } from "../../config/display";
import { isAbsent, readString } from "../../config/fields";
import { defaultOf } from "../../config/keys";
import { Problems } from "../../config/problems";
import { shellSafetyProblem } from "../../config/shellWord";
import type { NginxLbConfig } from "../../config/types";
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

export function readNginx(
  p: Problems,
  vipValue: unknown,
  settings: KindSettings,
  hosts: LbHostList,
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
  const image = settings.nginxImage ?? defaultOf("nginxImage");
  if (mode !== "docker" && image !== defaultOf("nginxImage")) {
    p.error("nginxImage", 'applies only to nginxMode "docker"');
  }
  // An Nginx host has no VRRP priority; 0 marks it unused.
  const lbHosts = hosts.entries.flatMap((e) => (e.host ? [{ ...e.host, priority: 0 }] : []));
  return { kind: "nginx", mode, image, hosts: lbHosts };
}
