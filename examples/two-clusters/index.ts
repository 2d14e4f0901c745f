/**
 * Two K3s clusters in one program:
 * - "rack", on machines that exist already: fixed addresses and pinned host keys, behind the
 *   HAProxy + KeepAlived pair of the K3s docs page;
 * - "cloud", on Hetzner Cloud VMs this program creates: each host's address is the VM's output,
 *   known only once the VM exists, and every host step waits for it. One Nginx proxy in front.
 *
 * Each cluster prefixes its resources with its name, so the two never collide.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { K3sHaCluster } from "k3s-ha";

const config = new pulumi.Config();
const k3sVersion = "v1.27.3+k3s1";

const rack = new K3sHaCluster("rack", {
  k3s: { version: k3sVersion },
  servers: [
    { name: "rack-server-1", address: "10.20.0.11", hostKey: config.require("rackServer1HostKey") },
    { name: "rack-server-2", address: "10.20.0.12", hostKey: config.require("rackServer2HostKey") },
    { name: "rack-server-3", address: "10.20.0.13", hostKey: config.require("rackServer3HostKey") },
  ],
  agents: [
    { name: "rack-agent-1", address: "10.20.0.21", hostKey: config.require("rackAgent1HostKey") },
  ],
  loadBalancer: {
    kind: "haproxy",
    vip: "10.20.0.100/24",
    vrrpInterface: "eno1",
    hosts: [
      {
        name: "rack-lb-1",
        address: "10.20.0.31",
        priority: 200,
        hostKey: config.require("rackLb1HostKey"),
      },
      {
        name: "rack-lb-2",
        address: "10.20.0.32",
        priority: 100,
        hostKey: config.require("rackLb2HostKey"),
      },
    ],
  },
  ssh: { user: "deploy", privateKey: config.requireSecret("sshPrivateKey") },
});

// The VMs of the second cluster. Their SSH host keys are generated on first boot, so this example
// accepts any key; to pin them, generate the keys here and hand them to the VMs in user data.
const sshKey = new hcloud.SshKey("deploy", { publicKey: config.require("sshPublicKey") });
const vm = (name: string, serverType = "cx22") =>
  new hcloud.Server(name, {
    serverType,
    image: "debian-12",
    location: "fsn1",
    sshKeys: [sshKey.id],
  });
const names = ["cloud-server-1", "cloud-server-2", "cloud-server-3", "cloud-agent-1", "cloud-lb-1"];
const vms = Object.fromEntries(names.map((name) => [name, vm(name)]));
const host = (name: string) => ({ name, address: vms[name].ipv4Address });

const cloud = new K3sHaCluster("cloud", {
  k3s: { version: k3sVersion },
  servers: [host("cloud-server-1"), host("cloud-server-2"), host("cloud-server-3")],
  agents: [host("cloud-agent-1")],
  loadBalancer: { kind: "nginx", hosts: [host("cloud-lb-1")] },
  ssh: { privateKey: config.requireSecret("sshPrivateKey"), trustAnyHostKey: true },
});

export const rackApi = rack.apiEndpoint;
export const rackKubeconfig = rack.kubeconfig;
export const cloudApi = cloud.apiEndpoint;
export const cloudKubeconfig = cloud.kubeconfig;
