import { expect } from "chai";
import { parse } from "yaml";
import {
  apiUrl,
  hostPort,
  renderAgentConfig,
  renderServerConfig,
} from "../../components/k3s/configYaml";
import { rewriteKubeconfigServer } from "../../components/cluster/kubeconfig";
import { FAKE_KUBECONFIG } from "../../harness/program/mocks";

const node = {
  name: "server-1",
  address: "10.10.10.50",
  labels: { "topology.kubernetes.io/zone": "a" },
  taints: ["dedicated=etcd:NoSchedule"],
};

describe("K3s config.yaml", () => {
  it("starts the cluster on the first server and points at the token file, never holding a token", () => {
    const text = renderServerConfig({
      node,
      tlsSans: ["10.10.10.100"],
      tokenFile: true,
      agentTokenFile: true,
    });
    expect(text.split("\n")[0]).to.equal(
      "# Managed by k3s-ha (Pulumi). Local edits are overwritten.",
    );
    expect(parse(text)).to.deep.equal({
      "node-name": "server-1",
      "node-ip": "10.10.10.50",
      "node-label": ["topology.kubernetes.io/zone=a"],
      "node-taint": ["dedicated=etcd:NoSchedule"],
      "cluster-init": true,
      "token-file": "/etc/rancher/k3s/cluster-token",
      "agent-token-file": "/etc/rancher/k3s/agent-token",
      "tls-san": ["10.10.10.100"],
      "write-kubeconfig-mode": "0600",
    });
  });

  it("joins a later server to the first one's address, and leaves the token file out when none is known", () => {
    const doc = parse(
      renderServerConfig({
        node: { ...node, labels: {}, taints: [] },
        joinAddress: "fd00::50",
        tlsSans: ["fd00::100"],
        tokenFile: false,
        agentTokenFile: false,
      }),
    ) as Record<string, unknown>;
    expect(doc.server).to.equal("https://[fd00::50]:6443");
    expect(doc).to.not.have.any.keys("token-file", "cluster-init", "node-label", "node-taint");
  });

  it("renders scheduled etcd snapshot settings only when set, so a stack without them keeps its file byte for byte", () => {
    const base = { node, tlsSans: ["10.10.10.100"], tokenFile: true, agentTokenFile: true };
    const unset = renderServerConfig({ ...base, etcdSnapshots: {} });
    expect(unset).to.equal(renderServerConfig(base));
    expect(unset).to.not.include("etcd-snapshot");
    const doc = parse(
      renderServerConfig({
        ...base,
        etcdSnapshots: { scheduleCron: "0 */6 * * *", retention: 12 },
      }),
    ) as Record<string, unknown>;
    expect(doc["etcd-snapshot-schedule-cron"]).to.equal("0 */6 * * *");
    expect(doc["etcd-snapshot-retention"]).to.equal(12);
  });

  it("sends an agent to the registration address", () => {
    const doc = parse(
      renderAgentConfig({
        node: { ...node, name: "agent-1" },
        registrationAddress: "10.10.10.100",
      }),
    ) as Record<string, unknown>;
    expect(doc.server).to.equal("https://10.10.10.100:6443");
    expect(doc["token-file"]).to.equal("/etc/rancher/k3s/cluster-token");
  });

  it("brackets IPv6 addresses", () => {
    expect(hostPort("10.0.0.1")).to.equal("10.0.0.1:6443");
    expect(hostPort("fd00::1", 22)).to.equal("[fd00::1]:22");
    expect(apiUrl("fd00::1")).to.equal("https://[fd00::1]:6443");
  });
});

describe("the kubeconfig rewrite", () => {
  it("points the server at the load balancer and names the cluster, context and user", () => {
    const doc = parse(
      rewriteKubeconfigServer(FAKE_KUBECONFIG, "https://10.10.10.100:6443", "k3s-ha"),
    ) as {
      clusters: {
        name: string;
        cluster: { server: string; "certificate-authority-data": string };
      }[];
      contexts: { name: string; context: { cluster: string; user: string } }[];
      users: { name: string }[];
      "current-context": string;
    };
    expect(doc.clusters[0]).to.deep.equal({
      name: "k3s-ha",
      cluster: { "certificate-authority-data": "RkFLRQ==", server: "https://10.10.10.100:6443" },
    });
    expect(doc.contexts[0]).to.deep.equal({
      name: "k3s-ha",
      context: { cluster: "k3s-ha", user: "k3s-ha" },
    });
    expect(doc.users[0].name).to.equal("k3s-ha");
    expect(doc["current-context"]).to.equal("k3s-ha");
  });
});
