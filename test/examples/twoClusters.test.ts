/**
 * examples/two-clusters, a program of its own that depends on this package by path
 * (`"k3s-ha": "file:../.."`, built to bin/): two K3sHaClusters, one on Hetzner Cloud VMs the
 * program creates, evaluated under mocks. `.ci/run` installs the example's dependencies.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ProgramRun, RecordedResource, runProgramWith } from "../../harness/program/mocks";
import { commands, hostOf } from "../../harness/program/queries";
import { REPO_ROOT, fakeHostKey } from "../../harness/program/stacks";

const EXAMPLE = path.join(REPO_ROOT, "examples", "two-clusters");
const VM_TYPE = "hcloud:index/server:Server";

describe("examples/two-clusters: two clusters in one program, one on VMs it creates", function () {
  this.timeout(180_000);
  let run: ProgramRun;
  const addresses = new Map<string, string>();

  before(async function () {
    if (!fs.existsSync(path.join(EXAMPLE, "node_modules", "k3s-ha"))) {
      throw new Error(`${EXAMPLE} has no node_modules: run npm ci --prefix examples/two-clusters`);
    }
    // The example imports the built package (package.json main/exports: bin/components).
    execFileSync("npm", ["run", "build"], { cwd: REPO_ROOT, stdio: "pipe" });
    const config = {
      ...Object.fromEntries(
        ["rackServer1", "rackServer2", "rackServer3", "rackAgent1", "rackLb1", "rackLb2"].map(
          (h) => [`k3s-ha-two-clusters:${h}HostKey`, fakeHostKey(h)],
        ),
      ),
      "k3s-ha-two-clusters:sshPrivateKey":
        "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n",
      "k3s-ha-two-clusters:sshPublicKey":
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheExampleOnly deploy",
    };
    let n = 0;
    run = await runProgramWith({
      program: path.join(EXAMPLE, "index.ts"),
      config,
      secretKeys: ["k3s-ha-two-clusters:sshPrivateKey"],
      stack: "example",
      project: "k3s-ha-two-clusters",
      outputs: (type, name) => {
        if (type !== VM_TYPE) return {};
        const address = `203.0.113.${++n}`;
        addresses.set(name, address);
        return { ipv4Address: address };
      },
    });
  });

  it("type-checks against the package's published types", () => {
    execFileSync(path.join(EXAMPLE, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", EXAMPLE], {
      stdio: "pipe",
    });
  });

  it("builds both clusters, every name prefixed with its cluster's, no URN twice", () => {
    const clusters = run.resources.filter((r) => r.type === "k3s-ha:index:K3sHaCluster");
    expect(clusters.map((c) => c.name).sort()).to.deep.equal(["cloud", "rack"]);
    const urns = run.resources.map((r) => r.urn);
    expect(new Set(urns).size, "URNs are unique").to.equal(urns.length);
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const clusterOf = (r: RecordedResource): RecordedResource | undefined => {
      let top: RecordedResource | undefined = r;
      while (top?.parent) top = byUrn.get(top.parent);
      return top;
    };
    for (const r of run.resources.filter((x) => x.type.startsWith("command:"))) {
      const cluster = clusterOf(r);
      expect(cluster?.type, r.name).to.equal("k3s-ha:index:K3sHaCluster");
      expect(r.name.startsWith(`${cluster?.name}-`), r.name).to.equal(true);
    }
    expect(commands(run).filter((c) => c.name === "rack-rack-server-1-install")).to.have.length(1);
    expect(commands(run).filter((c) => c.name === "cloud-cloud-server-1-install")).to.have.length(
      1,
    );
  });

  it("connects to each cloud host at its VM's address, and each step waits for that VM", () => {
    const vms = new Map(run.resources.filter((r) => r.type === VM_TYPE).map((v) => [v.name, v]));
    expect([...vms.keys()].sort()).to.deep.equal([
      "cloud-agent-1",
      "cloud-lb-1",
      "cloud-server-1",
      "cloud-server-2",
      "cloud-server-3",
    ]);
    const cloudSteps = commands(run).filter((c) => c.name.startsWith("cloud-"));
    expect(cloudSteps.length).to.be.greaterThan(20);
    for (const step of cloudSteps) {
      const address = hostOf(step);
      const vm = [...addresses].find(([, a]) => a === address)?.[0];
      expect(vm, `${step.name} connects to a VM's address (${address})`).to.not.equal(undefined);
      expect(step.propertyDependencies.connection ?? [], step.name).to.include(vms.get(vm!)!.urn);
    }
  });

  it("renders the VMs' addresses into the cloud cluster's files", () => {
    const agentConfig = commands(run).find((c) => c.name === "cloud-cloud-agent-1-config");
    const server2Config = commands(run).find((c) => c.name === "cloud-cloud-server-2-config");
    expect(String(agentConfig?.inputs.stdin)).to.contain(
      `server: https://${addresses.get("cloud-lb-1")}:6443`,
    );
    expect(String(agentConfig?.inputs.stdin)).to.contain(
      `node-ip: ${addresses.get("cloud-agent-1")}`,
    );
    expect(String(server2Config?.inputs.stdin)).to.contain(
      `server: https://${addresses.get("cloud-server-1")}:6443`,
    );
  });

  it("keeps the cloud hosts in an address book, the rack hosts in records named by address", () => {
    const names = run.resources.map((r) => r.name);
    expect(names).to.include("cloud-address-book");
    expect(names).to.not.include("rack-address-book");
    expect(names).to.include("rack-address-10.20.0.11-host-record");
    expect(
      names.filter((n) => n.startsWith("cloud-address-") && n.endsWith("-host-record")),
    ).to.deep.equal([]);
    const book = run.resources.find((r) => r.name === "cloud-address-book");
    expect(String(book?.inputs.stdin).split("\n")).to.include(
      `${addresses.get("cloud-server-2")} cloud-server-2 servers[1]`,
    );
  });

  it("exports each cluster's endpoint and a secret kubeconfig", () => {
    expect(run.outputs.rackApi).to.equal("https://10.20.0.100:6443");
    expect(run.outputs.cloudApi).to.equal(`https://${addresses.get("cloud-lb-1")}:6443`);
    expect(run.outputs.cloudKubeconfig).to.have.property("secret");
  });
});
