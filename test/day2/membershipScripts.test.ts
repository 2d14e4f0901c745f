/**
 * A node's membership step against a fake cluster: removal drains, removes a server's etcd member
 * only with quorum to spare, deletes the node object; creation waits for Ready and uncordons.
 */
import { expect } from "chai";
import { K3sRole } from "../../components/k3s/scripts";
import {
  membershipCreateScript,
  membershipDeleteScript,
} from "../../components/k3s/membershipScripts";
import { shellcheck } from "../../harness/program/scripts";
import { FakeHost, FakeHostState, FakeNode } from "./fakeHost";

const VIP = "10.10.10.100";
const VERSION = "v1.28.5+k3s1";
const script = (role: K3sRole, nodeName: string, kind: "create" | "delete") =>
  (kind === "create" ? membershipCreateScript : membershipDeleteScript)({
    role,
    nodeName,
    registrationAddress: VIP,
    drainTimeoutSeconds: 75,
    version: VERSION,
  });

const cluster = (
  notReady: string[] = [],
  extra: FakeNode[] = [],
  kubeletVersion = VERSION,
): FakeHostState => ({
  version: VERSION,
  running: ["k3s"],
  nodes: [
    ...["server-1", "server-2", "server-3"].map((name) => ({
      name,
      ready: !notReady.includes(name),
      etcd: true,
      kubeletVersion,
    })),
    ...["agent-1", "agent-2"].map((name) => ({
      name,
      ready: !notReady.includes(name),
      etcd: false,
      kubeletVersion,
    })),
    ...extra,
  ],
});

describe("the membership step's scripts", function () {
  this.timeout(30_000);
  const hosts: FakeHost[] = [];
  const fakeHost = (state: FakeHostState) => {
    const host = new FakeHost(state);
    hosts.push(host);
    return host;
  };
  afterEach(() => hosts.splice(0).forEach((h) => h.remove()));
  const kubectl = (host: FakeHost) =>
    host
      .calls()
      .filter((c) => c.startsWith("k3s kubectl") && !c.includes("get "))
      .map((c) => c.replace(/^k3s kubectl /, ""));

  it("pass shellcheck for servers and agents", () => {
    for (const role of ["server", "agent"] as const) {
      for (const kind of ["create", "delete"] as const) {
        expect(shellcheck(script(role, `${role}-1`, kind)).output, `${role} ${kind}`).to.equal("");
      }
    }
  });

  describe("removing an agent", () => {
    it("drains it within the bound, then deletes its node object", async () => {
      const host = fakeHost(cluster());
      const r = await host.run(script("agent", "agent-2", "delete"));
      expect(r.status, r.stderr).to.equal(0);
      expect(kubectl(host)).to.deep.equal([
        "drain agent-2 --ignore-daemonsets --delete-emptydir-data --timeout=75s",
        "delete node agent-2 --timeout=120s",
      ]);
      expect(host.nodeNames()).to.not.include("agent-2");
    });

    it("removes it anyway, with a warning, when the drain does not finish in time", async () => {
      const host = fakeHost({ ...cluster(), drainFails: true });
      const r = await host.run(script("agent", "agent-2", "delete"));
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.contain("WARNING: node agent-2 did not drain within 75s");
      expect(host.nodeNames()).to.not.include("agent-2");
    });

    it("does not drain a node whose host is down, and still deletes the node object", async () => {
      const host = fakeHost(cluster(["agent-2"]));
      const r = await host.run(script("agent", "agent-2", "delete"));
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.contain("not Ready (is its host down?)");
      expect(kubectl(host)).to.deep.equal(["delete node agent-2 --timeout=120s"]);
    });

    it("does nothing when the node is already gone (a retried removal)", async () => {
      const host = fakeHost(cluster());
      const r = await host.run(script("agent", "agent-9", "delete"));
      expect(r.status).to.equal(0);
      expect(r.stderr).to.contain("not in the cluster: nothing to remove");
      expect(kubectl(host)).to.deep.equal([]);
    });
  });

  describe("removing a server", () => {
    it("checks quorum, drains, has K3s remove its etcd member, then deletes the node", async () => {
      const host = fakeHost(cluster());
      const r = await host.run(script("server", "server-3", "delete"));
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.contain("leaves 2 etcd members, 2 of them Ready (quorum 2)");
      expect(kubectl(host)).to.deep.equal([
        "drain server-3 --ignore-daemonsets --delete-emptydir-data --timeout=75s",
        "annotate --overwrite node server-3 etcd.k3s.cattle.io/remove=true",
        "delete node server-3 --timeout=120s",
      ]);
      expect(r.stderr).to.contain("etcd member of server-3 removed");
      expect(host.nodeNames()).to.deep.equal(["server-1", "server-2", "agent-1", "agent-2"]);
    });

    it("refuses a removal that would leave etcd without a Ready majority, touching nothing", async () => {
      const host = fakeHost(cluster(["server-1"]));
      const r = await host.run(script("server", "server-3", "delete"));
      expect(r.status).to.equal(1);
      expect(r.stderr).to.contain(
        "refusing to remove server server-3: the 2 etcd members left need 2 Ready for quorum, but only 1 are (not Ready: server-1)",
      );
      expect(kubectl(host)).to.deep.equal([]);
      expect(host.nodeNames()).to.include("server-3");
    });

    it("removes a dead server when the others keep quorum, without draining it", async () => {
      const host = fakeHost(cluster(["server-3"]));
      const r = await host.run(script("server", "server-3", "delete"));
      expect(r.status, r.stderr).to.equal(0);
      expect(kubectl(host)).to.deep.equal([
        "annotate --overwrite node server-3 etcd.k3s.cattle.io/remove=true",
        "delete node server-3 --timeout=120s",
      ]);
    });

    it("leaves the last etcd member alone (pulumi destroy ends the cluster with its uninstall)", async () => {
      const host = fakeHost({
        version: "v1.28.5+k3s1",
        running: ["k3s"],
        nodes: [{ name: "server-1", ready: true, etcd: true }],
      });
      const r = await host.run(script("server", "server-1", "delete"));
      expect(r.status).to.equal(0);
      expect(r.stderr).to.contain("server-1 is the last etcd member: nothing to remove");
      expect(kubectl(host)).to.deep.equal([]);
    });

    it("goes through the registration address when this server's own API is gone", async () => {
      const host = fakeHost({ ...cluster(), localApiDown: true });
      const r = await host.run(script("server", "server-2", "delete"));
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.contain(`using the apiserver through https://${VIP}:6443`);
      expect(kubectl(host)).to.include(
        `--server https://${VIP}:6443 delete node server-2 --timeout=120s`,
      );
    });
  });

  describe("creating or updating the step", () => {
    it("waits until the node is Ready and uncordons it after a pre-upgrade drain", async () => {
      const host = fakeHost(cluster());
      await host.run(
        "k3s kubectl annotate --overwrite node agent-1 k3s-ha/drained-for-upgrade=v1.28.5+k3s1",
      );
      const r = await host.run(script("agent", "agent-1", "create"));
      expect(r.status, r.stderr).to.equal(0);
      expect(kubectl(host).slice(1)).to.deep.equal([
        "uncordon agent-1",
        "annotate node agent-1 k3s-ha/drained-for-upgrade-",
      ]);
    });

    it("fails, naming what runs, when the node's K3s is not the pinned version", async () => {
      const old = cluster([], [], "v1.27.3+k3s1");
      const r = await fakeHost(old).run(script("agent", "agent-1", "create"));
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.contain(
        `node agent-1 runs v1.27.3+k3s1, not ${VERSION}: its K3s did not restart into the pinned version`,
      );
    });

    it("fails, saying what it waited for, when the node never becomes Ready", async () => {
      const r = await fakeHost(cluster(["agent-1"])).run(script("agent", "agent-1", "create"));
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.contain(
        "gave up after 300s waiting for node agent-1 to register and be Ready",
      );
    });
  });
});
