/**
 * Values of the right type and syntax that still cannot work, refused before any host is touched:
 * each with the field, what is wrong and the fix.
 */
import { expect } from "chai";
import { validateClusterConfig } from "../../components/cluster/validate";
import { ConfigError } from "../../components/config/errors";
import { RawClusterConfig } from "../../components/config/keys";
import type { ClusterConfig, StackSecrets } from "../../components/config/types";
import { fakeHostKey } from "../../harness/program/stacks";

type Raw = RawClusterConfig & Record<string, unknown>;

const host = (name: string, address: string, extra: object = {}) => ({
  name,
  address,
  hostKey: fakeHostKey(name),
  ...extra,
});

function haproxyStack(): Raw {
  return {
    k3sVersion: "v1.27.3+k3s1",
    servers: [
      host("server-1", "10.10.10.50"),
      host("server-2", "10.10.10.51"),
      host("server-3", "10.10.10.52"),
    ],
    agents: [host("agent-1", "10.10.10.101"), host("agent-2", "10.10.10.103")],
    lbKind: "haproxy",
    lbHosts: [
      host("lb-1", "10.10.10.98", { priority: 200 }),
      host("lb-2", "10.10.10.99", { priority: 100 }),
    ],
    vip: "10.10.10.100/24",
    vrrpInterface: "eth1",
  };
}

function ipv6Stack(): Raw {
  return {
    ...haproxyStack(),
    servers: [50, 51, 52].map((n, i) => host(`server-${i + 1}`, `fd00:10::${n}`)),
    agents: [host("agent-1", "fd00:10::101")],
    lbHosts: [
      host("lb-1", "fd00:10::98", { priority: 200 }),
      host("lb-2", "fd00:10::99", { priority: 100 }),
    ],
    vip: "fd00:10::100/64",
  };
}

function nginxStack(): Raw {
  const { vip: _vip, vrrpInterface: _iface, ...rest } = haproxyStack();
  return { ...rest, lbKind: "nginx", lbHosts: [host("lb-1", "10.10.10.98")] };
}

function problemsOf(raw: Raw, secrets?: StackSecrets): string[] {
  try {
    validateClusterConfig(raw, secrets);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}

function accepted(raw: Raw): ClusterConfig {
  expect(problemsOf(raw)).to.deep.equal([]);
  return validateClusterConfig(raw);
}

describe("validate/domains", () => {
  describe("vip: a prefix that makes a subnet for the two LB hosts and the VIP", () => {
    const fix = (address: string, prefix: number) =>
      `give the VIP the prefix length of the LB hosts' network, e.g. ${address}/${prefix}`;

    it("refuses IPv4 prefixes too long to hold the LB hosts beside the VIP (/30 to /32)", () => {
      for (const prefix of [32, 31, 30]) {
        expect(problemsOf({ ...haproxyStack(), vip: `10.10.10.100/${prefix}` })).to.deep.equal([
          `vip: "10.10.10.100/${prefix}" has prefix length /${prefix}, a subnet with no room for the two LB hosts beside the VIP (from /8 to /29 for IPv4); ${fix("10.10.10.100", 24)}`,
        ]);
      }
    });

    it("refuses prefixes wider than any one network (/0 to /7), which would route them all", () => {
      expect(problemsOf({ ...haproxyStack(), vip: "10.10.10.100/0" })).to.deep.equal([
        `vip: "10.10.10.100/0" has prefix length /0, wider than any one network (from /8 to /29 for IPv4): KeepAlived would route all of 0.0.0.0/0 through vrrpInterface; ${fix("10.10.10.100", 24)}`,
      ]);
      expect(problemsOf({ ...haproxyStack(), vip: "10.10.10.100/7" })).to.deep.equal([
        `vip: "10.10.10.100/7" has prefix length /7, wider than any one network (from /8 to /29 for IPv4): KeepAlived would route all of 10.0.0.0/7 through vrrpInterface; ${fix("10.10.10.100", 24)}`,
      ]);
      expect(problemsOf({ ...ipv6Stack(), vip: "fd00:10::100/0" })).to.deep.equal([
        `vip: "fd00:10::100/0" has prefix length /0, wider than any one network (from /8 to /126 for IPv6): KeepAlived would route all of ::/0 through vrrpInterface; ${fix("fd00:10::100", 64)}`,
      ]);
    });

    it("refuses IPv6 /127 and /128, and accepts the bounds", () => {
      for (const prefix of [128, 127]) {
        expect(problemsOf({ ...ipv6Stack(), vip: `fd00:10::100/${prefix}` })).to.deep.equal([
          `vip: "fd00:10::100/${prefix}" has prefix length /${prefix}, a subnet with no room for the two LB hosts beside the VIP (from /8 to /126 for IPv6); ${fix("fd00:10::100", 64)}`,
        ]);
      }
      const lb = (a: string, b: string) => [
        host("lb-1", a, { priority: 200 }),
        host("lb-2", b, { priority: 100 }),
      ];
      const v6 = accepted({
        ...ipv6Stack(),
        vip: "fd00:10::201/126",
        lbHosts: lb("fd00:10::202", "fd00:10::203"),
      });
      expect(v6.loadBalancer).to.include({ vipPrefixLength: 126 });
      const v4 = accepted({ ...haproxyStack(), vip: "10.10.10.100/29", agents: [] });
      expect(v4.loadBalancer).to.include({ vip: "10.10.10.100", vipPrefixLength: 29 });
      expect(accepted({ ...haproxyStack(), vip: "10.10.10.100/8" }).loadBalancer).to.include({
        vipPrefixLength: 8,
      });
    });

    it("refuses the IPv6 subnet-router anycast address as the VIP", () => {
      expect(problemsOf({ ...ipv6Stack(), vip: "fd00:10::/64" })).to.deep.equal([
        "vip: fd00:10:: is the subnet-router anycast address of fd00:10::/64 (RFC 4291: routers answer it)",
      ]);
    });
  });

  describe("host addresses in the VIP's subnet", () => {
    it("refuses a host on the network, broadcast or subnet-router anycast address of the VIP's subnet", () => {
      // 10.10.10.103 is the broadcast address of 10.10.10.96/29.
      expect(problemsOf({ ...haproxyStack(), vip: "10.10.10.100/29" })).to.deep.equal([
        "agents[1].address: 10.10.10.103 is the broadcast address of 10.10.10.96/29; no host on the VIP's subnet can have it: correct the address, or the prefix length of vip",
      ]);
      const raw = haproxyStack();
      raw.servers = [host("server-1", "10.10.10.0"), ...(raw.servers as object[]).slice(1)];
      raw.agents = [host("agent-1", "10.10.10.255")];
      expect(problemsOf(raw)).to.deep.equal([
        "servers[0].address: 10.10.10.0 is the network address of 10.10.10.0/24; no host on the VIP's subnet can have it: correct the address, or the prefix length of vip",
        "agents[0].address: 10.10.10.255 is the broadcast address of 10.10.10.0/24; no host on the VIP's subnet can have it: correct the address, or the prefix length of vip",
      ]);
      const v6 = ipv6Stack();
      v6.agents = [host("agent-1", "fd00:10::")];
      expect(problemsOf(v6)).to.deep.equal([
        "agents[0].address: fd00:10:: is the subnet-router anycast address of fd00:10::/64 (RFC 4291: routers answer it); no host on the VIP's subnet can have it: correct the address, or the prefix length of vip",
      ]);
    });

    it("accepts those addresses where the VIP's subnet does not make them special, or holds them not", () => {
      const raw = haproxyStack();
      raw.servers = [host("server-1", "10.10.10.0"), ...(raw.servers as object[]).slice(1)];
      raw.agents = [host("agent-1", "10.10.11.255"), host("agent-2", "10.20.0.0")];
      accepted({ ...raw, vip: "10.10.10.100/16" });
      accepted({ ...nginxStack(), agents: [host("agent-1", "10.10.10.255")] });
    });
  });

  describe("vrrpInterface: an interface that carries VRRP", () => {
    it("refuses the loopback interface", () => {
      expect(problemsOf({ ...haproxyStack(), vrrpInterface: "lo" })).to.deep.equal([
        `vrrpInterface: "lo" is the loopback interface: VRRP advertisements on it never reach the other LB host; use the interface that holds the LB hosts' addresses (ip -br addr on an LB host shows it)`,
      ]);
    });

    it("refuses alias labels, naming the interface to use", () => {
      expect(problemsOf({ ...haproxyStack(), vrrpInterface: "ens18:vip" })).to.deep.equal([
        `vrrpInterface: "ens18:vip" is an alias label (the ifconfig name of a second address on ens18), not an interface: KeepAlived adds the VIP to the interface itself; use "ens18"`,
      ]);
    });

    it("accepts bonds, VLANs, bridges and loopback-like names that are not lo", () => {
      for (const name of ["bond0", "eth1.100", "br-lan", "enp0s31f6", "lo1", "vlan10"]) {
        expect(accepted({ ...haproxyStack(), vrrpInterface: name }).loadBalancer, name).to.include({
          interface: name,
        });
      }
    });
  });

  describe("installScriptUrl: a script that runs as root comes over TLS or with its checksum", () => {
    const sha = "ab".repeat(32);

    it("refuses plain http without installScriptSha256", () => {
      expect(
        problemsOf({ ...haproxyStack(), installScriptUrl: "http://10.10.10.5/install.sh" }),
      ).to.deep.equal([
        `installScriptUrl: "http://10.10.10.5/install.sh" is plain http and installScriptSha256 is not set: anyone on the path could change the script, which runs as root on every K3s host; use https, or set installScriptSha256 to the script's sha256 (sha256sum on a copy you checked)`,
      ]);
    });

    it("accepts plain http with a checksum, and https without", () => {
      const http = accepted({
        ...haproxyStack(),
        installScriptUrl: "http://10.10.10.5/install.sh",
        installScriptSha256: sha,
      });
      expect(http.k3s).to.include({ installScriptSha256: sha });
      expect(http.warnings).to.deep.equal([]);
      accepted({ ...haproxyStack(), installScriptUrl: "https://mirror.example.com/install.sh" });
    });

    it("with airgap, a plain-http URL is not fetched: a warning says it is ignored", () => {
      const airgap = {
        k3sBinary: "/srv/k3s/k3s",
        installScript: "/srv/k3s/install.sh",
        sha256: { k3s: sha, installScript: sha },
      };
      const config = accepted({
        ...haproxyStack(),
        airgap,
        installScriptUrl: "http://10.10.10.5/install.sh",
      });
      expect(config.warnings).to.deep.equal([
        "installScriptUrl: ignored with airgap: the install script comes from airgap.installScript",
      ]);
      const plain = accepted({ ...haproxyStack(), airgap, installScriptUrl: "https://get.k3s.io" });
      expect(plain.warnings).to.deep.equal([]);
    });

    it("refuses the schemes curl would also fetch (file, ftp, scp)", () => {
      for (const url of ["file:///tmp/install.sh", "ftp://mirror/install.sh", "scp://h/x.sh"]) {
        expect(problemsOf({ ...haproxyStack(), installScriptUrl: url })).to.deep.equal([
          `installScriptUrl: ${JSON.stringify(url)} is not an http(s) URL`,
        ]);
      }
    });
  });

  describe("installMirror: a value the installer reads", () => {
    const china = "https://rancher-mirror.rancher.cn/k3s/k3s-install.sh";

    it("refuses any value but cn with the China mirror's script", () => {
      expect(
        problemsOf({ ...haproxyStack(), installScriptUrl: china, installMirror: "CN" }),
      ).to.deep.equal([
        'installMirror: "CN" does nothing: the China mirror\'s install script reads only INSTALL_K3S_MIRROR=cn; set it to cn, or remove installMirror',
      ]);
      expect(
        accepted({ ...haproxyStack(), installScriptUrl: china, installMirror: "cn" }).k3s,
      ).to.include({ installMirror: "cn" });
    });
  });

  describe("scheduled etcd snapshots: etcdSnapshotScheduleCron and etcdSnapshotRetention", () => {
    it("leaves both unset by default (K3s's own: every 12 hours, 5 kept), and 0 retention means unset", () => {
      const k3s = accepted({ ...haproxyStack(), etcdSnapshotRetention: 0 }).k3s;
      expect(k3s).to.not.have.any.keys("etcdSnapshotScheduleCron", "etcdSnapshotRetention");
    });

    it("takes a 5-field cron expression and a retention from 1, as strings or numbers", () => {
      const k3s = accepted({
        ...haproxyStack(),
        etcdSnapshotScheduleCron: " 0  */6 * * 1-5 ",
        etcdSnapshotRetention: "12",
      }).k3s;
      expect(k3s).to.include({
        etcdSnapshotScheduleCron: "0 */6 * * 1-5",
        etcdSnapshotRetention: 12,
      });
    });

    it("refuses a cron expression without 5 fields and a retention out of range, naming the field", () => {
      expect(
        problemsOf({
          ...haproxyStack(),
          etcdSnapshotScheduleCron: "0 */6 * *",
          etcdSnapshotRetention: -1,
        }),
      ).to.deep.equal([
        'etcdSnapshotScheduleCron: "0 */6 * *" is not a cron expression of 5 fields, e.g. "0 */6 * * *"',
        "etcdSnapshotRetention: expected an integer from 0 to 1000, got -1",
      ]);
      expect(
        problemsOf({ ...haproxyStack(), etcdSnapshotScheduleCron: "0 0 * * $(reboot)" }),
      ).to.deep.equal([
        'etcdSnapshotScheduleCron: "0 0 * * $(reboot)" is not a cron expression of 5 fields, e.g. "0 */6 * * *"',
      ]);
    });

    it("refuses a setting given twice, as a key and as an extra server flag", () => {
      expect(
        problemsOf({
          ...haproxyStack(),
          etcdSnapshotRetention: 3,
          extraServerArgs: ["--etcd-snapshot-retention=7"],
        }),
      ).to.deep.equal([
        "etcdSnapshotRetention: is set and extraServerArgs has --etcd-snapshot-retention too; keep one of the two",
      ]);
    });
  });

  describe("k3sVersion: a release tag the installer can download", () => {
    it("refuses leading zeros and counters from 0, which no K3s tag has", () => {
      for (const bad of ["v1.27.03+k3s1", "v01.27.3+k3s1", "v1.27.3+k3s0", "v1.30.0-rc0+k3s1"]) {
        expect(problemsOf({ ...haproxyStack(), k3sVersion: bad })).to.deep.equal([
          `k3sVersion: "${bad}" is not a K3s version (expected e.g. v1.27.3+k3s1 or v1.30.0-rc1+k3s1)`,
        ]);
      }
    });

    it("accepts release and release-candidate tags", () => {
      for (const good of ["v1.27.3+k3s1", "v1.28.10+k3s2", "v1.30.0-rc1+k3s1", "v1.29.0+k3s1"]) {
        expect(accepted({ ...haproxyStack(), k3sVersion: good }).k3s.version).to.equal(good);
      }
    });
  });

  describe("extra K3s flags that break what the program relies on", () => {
    it("refuses moving the API port or bind address, and split server roles", () => {
      const flags = [
        "--https-listen-port=7443",
        "--bind-address=10.10.10.50",
        "--disable-etcd",
        "-disable-apiserver",
        "--disable-agent",
      ];
      const port =
        "is set by the program; use nothing: the load balancers reach every server at its address on port 6443, and the program checks each server at 127.0.0.1:6443";
      const roles =
        "is set by the program; use nothing: every server runs etcd, the apiserver and a kubelet (the program waits for each server's etcd, /readyz and Ready node); split server roles are not supported";
      expect(problemsOf({ ...haproxyStack(), extraServerArgs: flags })).to.deep.equal([
        `extraServerArgs[0]: --https-listen-port ${port}`,
        `extraServerArgs[1]: --bind-address ${port}`,
        `extraServerArgs[2]: --disable-etcd ${roles}`,
        `extraServerArgs[3]: --disable-apiserver ${roles}`,
        `extraServerArgs[4]: --disable-agent ${roles}`,
      ]);
    });

    it("refuses server-only flags among the agents' arguments, where k3s agent would stop", () => {
      const flags = [
        "--disable=traefik",
        "--cluster-cidr=10.42.0.0/16",
        "--etcd-expose-metrics",
        "--kube-apiserver-arg=v=2",
      ];
      const move = `is a K3s server flag: k3s agent stops with "flag provided but not defined"; move it to extraServerArgs`;
      expect(problemsOf({ ...haproxyStack(), extraAgentArgs: flags })).to.deep.equal([
        `extraAgentArgs[0]: --disable ${move}`,
        `extraAgentArgs[1]: --cluster-cidr ${move}`,
        `extraAgentArgs[2]: --etcd-expose-metrics ${move}`,
        `extraAgentArgs[3]: --kube-apiserver-arg ${move}`,
      ]);
      const both = [
        "--node-external-ip=203.0.113.5",
        "--kubelet-arg=max-pods=200",
        "--disable-apiserver-lb",
      ];
      expect(
        accepted({ ...haproxyStack(), extraServerArgs: flags, extraAgentArgs: both }).k3s,
      ).to.deep.include({
        extraServerArgs: flags,
        extraAgentArgs: both,
      });
    });

    it("refuses them in the secret config fragment too", () => {
      const problems = problemsOf(haproxyStack(), {
        serverSecretConfig: "https-listen-port: 7443\n",
      });
      expect(problems).to.have.length(1);
      expect(problems[0]).to.match(/^serverSecretConfig.*https-listen-port is set by the program/);
    });
  });

  describe("sshPort: not a port the hosts' services listen on", () => {
    const fix =
      "an sshd listening there keeps it from starting; give SSH another port on every host (the default is 22)";

    it("refuses the K3s API port, naming every role that listens there", () => {
      expect(problemsOf({ ...haproxyStack(), sshPort: 6443 })).to.deep.equal([
        `sshPort: 6443 is the port of K3s's supervisor and apiserver on the servers and of HAProxy's K3s API frontend on the lbHosts: ${fix}`,
      ]);
      expect(problemsOf({ ...nginxStack(), sshPort: "6443" })).to.deep.equal([
        `sshPort: 6443 is the port of K3s's supervisor and apiserver on the servers and of Nginx's K3s API listener on the lbHosts: ${fix}`,
      ]);
    });

    it("refuses the kubelet's, etcd's and HAProxy's local ports on the hosts that run them", () => {
      expect(problemsOf({ ...haproxyStack(), sshPort: 10250 })).to.deep.equal([
        `sshPort: 10250 is the port of the kubelet on the servers and of the kubelet on the agents: ${fix}`,
      ]);
      expect(problemsOf({ ...haproxyStack(), sshPort: 2379 })).to.deep.equal([
        `sshPort: 2379 is the port of etcd's client port on the servers: ${fix}`,
      ]);
      expect(problemsOf({ ...haproxyStack(), sshPort: 8405 })).to.deep.equal([
        `sshPort: 8405 is the port of HAProxy's health page for KeepAlived on the lbHosts: ${fix}`,
      ]);
    });

    it("accepts those ports where nothing listens on them", () => {
      expect(accepted({ ...nginxStack(), sshPort: 8405 }).ssh.port).to.equal(8405);
      expect(accepted({ ...haproxyStack(), sshPort: 2222 }).ssh.port).to.equal(2222);
    });
  });

  describe("addresses: link-local ones serve no cluster", () => {
    const why =
      "is link-local (169.254.0.0/16, fe80::/10): it reaches no further than one link, and the kubelet refuses it as a node IP; use the host's address on the cluster's network";

    it("refuses link-local host addresses and VIPs, IPv4 and IPv6", () => {
      const raw = haproxyStack();
      raw.agents = [host("agent-1", "169.254.10.1")];
      expect(problemsOf(raw)).to.deep.equal([`agents[0].address: "169.254.10.1" ${why}`]);
      const v6 = ipv6Stack();
      v6.agents = [host("agent-1", "fe80::1")];
      expect(problemsOf(v6)).to.deep.equal([`agents[0].address: "fe80::1" ${why}`]);
      expect(problemsOf({ ...ipv6Stack(), vip: "fe80::100/64" })).to.deep.equal([
        `vip: "fe80::100/64" ${why}`,
      ]);
    });
  });

  describe("K3s's pod and Service networks: no cluster address inside them", () => {
    const when = "(K3s reads it only when the cluster is first created)";

    it("refuses a host inside K3s's default cluster-cidr or service-cidr", () => {
      const raw = haproxyStack();
      raw.agents = [host("agent-1", "10.42.0.7"), host("agent-2", "10.43.200.1")];
      expect(problemsOf(raw)).to.deep.equal([
        `agents[0].address: 10.42.0.7 is inside 10.42.0.0/16, the pods' network (K3s's default --cluster-cidr): every node would route it to pods, not to this address; set --cluster-cidr=<a range no host uses> in extraServerArgs, e.g. --cluster-cidr=10.52.0.0/16 ${when}`,
        `agents[1].address: 10.43.200.1 is inside 10.43.0.0/16, the Services' network (K3s's default --service-cidr): every node would route it to Services, not to this address; set --service-cidr=<a range no host uses> in extraServerArgs, e.g. --service-cidr=10.53.0.0/16 ${when}`,
      ]);
    });

    it("takes K3s's IPv6 defaults when the servers are IPv6", () => {
      const raw = ipv6Stack();
      raw.agents = [host("agent-1", "fd00:42::7"), host("agent-2", "fd00:43::8")];
      expect(problemsOf(raw)).to.deep.equal([
        `agents[0].address: fd00:42::7 is inside fd00:42::/56, the pods' network (K3s's default --cluster-cidr): every node would route it to pods, not to this address; set --cluster-cidr=<a range no host uses> in extraServerArgs, e.g. --cluster-cidr=fd00:52::/56 ${when}`,
        `agents[1].address: fd00:43::8 is inside fd00:43::/112, the Services' network (K3s's default --service-cidr): every node would route it to Services, not to this address; set --service-cidr=<a range no host uses> in extraServerArgs, e.g. --service-cidr=fd00:53::/112 ${when}`,
      ]);
    });

    it("checks the networks extraServerArgs sets instead, in either form, and their syntax", () => {
      const raw = haproxyStack();
      raw.agents = [host("agent-1", "10.42.0.7")];
      accepted({ ...raw, extraServerArgs: ["--cluster-cidr", "10.52.0.0/16"] });
      expect(
        problemsOf({
          ...raw,
          extraServerArgs: ["--cluster-cidr=10.52.0.0/16", "--service-cidr=10.10.10.96/30"],
        }),
      ).to.deep.equal(
        ["lbHosts[0].address: 10.10.10.98", "lbHosts[1].address: 10.10.10.99"].map(
          (at) =>
            `${at} is inside 10.10.10.96/30, the Services' network (its --service-cidr in extraServerArgs): every node would route it to Services, not to this address; give --service-cidr a range no host uses ${when}`,
        ),
      );
      expect(
        problemsOf({ ...haproxyStack(), extraServerArgs: ["--cluster-cidr=10.52.0.0"] }),
      ).to.deep.equal([
        'extraServerArgs[0]: --cluster-cidr "10.52.0.0" has no prefix length (expected a CIDR such as 10.10.10.100/24)',
      ]);
    });

    it("leaves a network the secret server fragment sets to the fragment", () => {
      const raw = haproxyStack();
      raw.agents = [host("agent-1", "10.42.0.7")];
      expect(problemsOf(raw, { serverSecretConfig: "cluster-cidr: 10.52.0.0/16\n" })).to.deep.equal(
        [],
      );
    });
  });

  describe("nginxMode docker: Docker's default bridge network", () => {
    it("warns about a server or the Nginx host inside 172.17.0.0/16, and only in docker mode", () => {
      const raw = nginxStack();
      raw.servers = [
        host("server-1", "172.17.0.50"),
        host("server-2", "10.10.10.51"),
        host("server-3", "10.10.10.52"),
      ];
      raw.agents = [host("agent-1", "172.17.5.1")];
      raw.lbHosts = [host("lb-1", "172.17.200.1")];
      const why = (address: string) =>
        `${address} is inside Docker's default bridge network 172.17.0.0/16: with nginxMode docker it is unreachable from the Nginx host unless that host's Docker uses another bridge network ("bip" in /etc/docker/daemon.json)`;
      expect(accepted({ ...raw, nginxMode: "docker" }).warnings).to.deep.equal([
        `servers[0].address: ${why("172.17.0.50")}`,
        `lbHosts[0].address: ${why("172.17.200.1")}`,
      ]);
      expect(accepted(raw).warnings).to.deep.equal([]);
    });
  });

  describe("servers and agents: one address family", () => {
    it("refuses an agent of the other family, naming the family to use", () => {
      const raw = haproxyStack();
      raw.agents = [host("agent-1", "10.10.10.101"), host("agent-2", "fd00:10::102")];
      expect(problemsOf(raw)).to.deep.equal([
        "agents[1].address: fd00:10::102 is IPv6, but servers[0].address is IPv4: the K3s nodes of one cluster use one address family (each address is the node's node-ip); give every server and agent an IPv4 address",
      ]);
    });

    it("lets the load balancers be of the other family", () => {
      const raw = ipv6Stack();
      accepted({
        ...raw,
        lbHosts: [
          host("lb-1", "10.10.10.98", { priority: 200 }),
          host("lb-2", "10.10.10.99", { priority: 100 }),
        ],
        vip: "10.10.10.100/24",
      });
    });
  });
});
