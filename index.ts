import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, RawClusterConfig, validateClusterConfig } from "./components/config";
import { deployCluster } from "./components/cluster";

const config = new pulumi.Config();
// Keys whose values are strings as written; every other key holds YAML structure or a number/boolean.
const stringKeys: (keyof RawClusterConfig)[] = [
  "sshUser",
  "sshPrivateKeyPath",
  "k3sVersion",
  "installScriptUrl",
  "installScriptSha256",
  "installMirror",
  "lbKind",
  "vip",
  "vrrpInterface",
  "nginxMode",
  "nginxImage",
];
const structuredKeys: (keyof RawClusterConfig)[] = [
  "sshPort",
  "sshBastion",
  "extraServerArgs",
  "extraAgentArgs",
  "servers",
  "agents",
  "lbHosts",
  "vrrpRouterId",
  "vrrpUnicast",
  "vrrpNopreempt",
];
const raw: RawClusterConfig = {};
// Pulumi.yaml declares "" as the default of optional strings: treat it as unset.
for (const key of stringKeys) raw[key] = config.get(key) || undefined;
for (const key of structuredKeys) {
  const text = config.get(key);
  if (text === undefined) continue;
  try {
    raw[key] = JSON.parse(text);
  } catch {
    raw[key] = text; // validation names the key and the type it expected
  }
}
const cluster = validateClusterConfig(raw);
for (const warning of cluster.warnings) pulumi.log.warn(warning);

function readPrivateKey(keyPath: string): pulumi.Output<string> {
  const resolved = keyPath.startsWith("~/") ? path.join(os.homedir(), keyPath.slice(2)) : keyPath;
  try {
    return pulumi.secret(fs.readFileSync(resolved, "utf8"));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError([`sshPrivateKeyPath: cannot read ${resolved} (${reason})`]);
  }
}

const privateKey = cluster.ssh.privateKeyPath
  ? readPrivateKey(cluster.ssh.privateKeyPath)
  : config.getSecret("sshPrivateKey");

const outputs = deployCluster(
  cluster,
  { ...cluster.ssh, privateKey },
  { token: config.getSecret("token"), agentToken: config.getSecret("agentToken") },
);

export const apiEndpoint = outputs.apiEndpoint;
export const registrationAddress = outputs.registrationAddress;
export const kubeconfig = outputs.kubeconfig;
export const servers = outputs.servers;
export const agents = outputs.agents;
export const loadBalancers = outputs.loadBalancers;
export const loadBalancerKind = outputs.loadBalancerKind;
