/**
 * Lab stack configs: the repository's own example stacks (dev: HAProxy + KeepAlived; staging:
 * native Nginx), moved onto the lab's subnet, with the lab's key, pinned host keys and the mirror.
 */
import { loadStackConfig } from "../test/support/stacks";
import { StackConfig } from "../test/support/mocks";
import { INSTALL_SCRIPT_URL, SUBNET, SUDO_USER } from "./constants";
import { E2eLab } from "./lab";
import { installerText, sha256 } from "./mirror";
import { HostName } from "./constants";

export type Variant = "haproxy" | "nginx";

export interface LabStackOptions {
  variant: Variant;
  /** SSH user: root, or the sudo user. */
  user?: "root" | typeof SUDO_USER;
  /** Override the installer checksum (a wrong one must fail the install). */
  installScriptSha256?: string;
  /** Secret config: a cluster token and an agent token. Without them server-1 generates one. */
  tokens?: { token: string; agentToken: string };
}

export interface LabStack {
  config: StackConfig;
  secretKeys: string[];
}

const EXAMPLE_STACK: Record<Variant, string> = { haproxy: "dev", nginx: "staging" };

export function labStack(lab: E2eLab, opts: LabStackOptions): LabStack {
  const example = JSON.stringify(loadStackConfig(EXAMPLE_STACK[opts.variant]));
  const config = JSON.parse(example.replace(/10\.10\.10\./g, `${SUBNET}.`)) as StackConfig;
  for (const key of ["k3s-ha:servers", "k3s-ha:agents", "k3s-ha:lbHosts"]) {
    const hosts = config[key] as { name: HostName; hostKey?: string }[];
    for (const host of hosts) host.hostKey = lab.host(host.name).hostKey;
  }
  config["k3s-ha:sshUser"] = opts.user ?? "root";
  config["k3s-ha:sshPrivateKeyPath"] = lab.clientKeyPath;
  config["k3s-ha:installScriptUrl"] = INSTALL_SCRIPT_URL;
  config["k3s-ha:installScriptSha256"] = opts.installScriptSha256 ?? sha256(installerText());
  const secretKeys: string[] = [];
  if (opts.tokens) {
    config["k3s-ha:token"] = opts.tokens.token;
    config["k3s-ha:agentToken"] = opts.tokens.agentToken;
    secretKeys.push("k3s-ha:token", "k3s-ha:agentToken");
  }
  return { config, secretKeys };
}

/** The K3s version a stack pins (the mirror serves a stand-in for it). */
export function stackVersion(variant: Variant): string {
  return loadStackConfig(EXAMPLE_STACK[variant])["k3s-ha:k3sVersion"] as string;
}
