import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./components/config/errors";
import { validateClusterConfig } from "./components/cluster/validate";
import { rawConfigFrom, secretsFrom } from "./components/cluster/stackConfig";
import { checkAirgapFiles } from "./components/airgap/localFiles";
import { deployCluster } from "./components/cluster/cluster";

const config = new pulumi.Config();
const stackValues = pulumi.runtime.allConfig();
const validated = validateClusterConfig(rawConfigFrom(stackValues), secretsFrom(stackValues));
for (const warning of validated.warnings) pulumi.log.warn(warning);
const airgap = validated.k3s.airgap;
const cluster = airgap
  ? { ...validated, k3s: { ...validated.k3s, airgap: checkAirgapFiles(airgap) } }
  : validated;

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
  {
    token: config.getSecret("token"),
    agentToken: config.getSecret("agentToken"),
    serverSecretConfig: config.getSecret("serverSecretConfig"),
    agentSecretConfig: config.getSecret("agentSecretConfig"),
  },
);

export const apiEndpoint = outputs.apiEndpoint;
export const registrationAddress = outputs.registrationAddress;
export const kubeconfig = outputs.kubeconfig;
export const servers = outputs.servers;
export const agents = outputs.agents;
export const loadBalancers = outputs.loadBalancers;
export const loadBalancerKind = outputs.loadBalancerKind;
export const preUpgradeSnapshot = outputs.preUpgradeSnapshot;
