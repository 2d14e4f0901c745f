import { expect } from "chai";
import { defaultOf } from "../components/config/keys";
import { ClusterConfig } from "../components/config/types";
import { ConfigError } from "../components/config/errors";
import { validateClusterConfig as validateRaw } from "../components/cluster/validate";
import { RawClusterConfig } from "../components/config/keys";
import { isShellSafeToken } from "../components/config/shellWord";
import type { StackSecrets } from "../components/config/types";
import { fakeHostKey } from "../harness/program/stacks";

/** A real ed25519 public key (from ssh-keygen), to pin as a host key. */
const ED25519_HOST_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK2YaSSAlpWnPZZ6IPP6YrBt5M6i7pPIKRGhI0LqEujZ test";
const SHELL_SAFE = "(allowed: letters, digits and . _ - + = : , / @ %)";

/** The topology of the K3s page: three servers, an HAProxy + KeepAlived pair, three agents. */
function devTopology(): RawClusterConfig & Record<string, unknown> {
  return {
    k3sVersion: "v1.27.3+k3s1",
    servers: [
      { name: "server-1", address: "10.10.10.50" },
      { name: "server-2", address: "10.10.10.51" },
      { name: "server-3", address: "10.10.10.52" },
    ],
    agents: [
      { name: "agent-1", address: "10.10.10.101" },
      { name: "agent-2", address: "10.10.10.102" },
      { name: "agent-3", address: "10.10.10.103" },
    ],
    lbKind: "haproxy",
    lbHosts: [
      { name: "lb-1", address: "10.10.10.98", priority: 200 },
      { name: "lb-2", address: "10.10.10.99", priority: 100 },
    ],
    vip: "10.10.10.100/24",
    vrrpInterface: "eth1",
  };
}

/**
 * Every host (and the bastion) without a hostKey gets one, as after `npm run hostkeys`: the
 * requirement has its own tests, which call validateRaw.
 */
function pinned(raw: RawClusterConfig): RawClusterConfig {
  const out: Record<string, unknown> = { ...raw };
  for (const list of ["servers", "agents", "lbHosts"]) {
    const hosts: unknown = out[list];
    if (Array.isArray(hosts))
      out[list] = hosts.map((h: unknown) =>
        typeof h === "object" && h !== null && !("hostKey" in h)
          ? { ...h, hostKey: fakeHostKey(String((h as { name?: unknown }).name)) }
          : h,
      );
  }
  const bastion = out.sshBastion;
  if (typeof bastion === "object" && bastion !== null && !("hostKey" in bastion))
    out.sshBastion = { ...bastion, hostKey: fakeHostKey("bastion") };
  return out;
}

function validateClusterConfig(raw: RawClusterConfig, secrets?: StackSecrets): ClusterConfig {
  return validateRaw(pinned(raw), secrets);
}

function nginxTopology(): RawClusterConfig & Record<string, unknown> {
  const { vip: _vip, vrrpInterface: _iface, ...rest } = devTopology();
  return { ...rest, lbKind: "nginx", lbHosts: [{ name: "lb-1", address: "10.10.10.98" }] };
}

/** The dev topology with one host entry replaced or extended. */
function withHost(list: "servers" | "agents" | "lbHosts", index: number, host: object) {
  const raw = devTopology();
  const hosts = [...(raw[list] as object[])];
  hosts[index] = { ...hosts[index], ...host };
  return { ...raw, [list]: hosts };
}

/** Validates `raw`, which must fail, and returns the ConfigError it threw. */
function errorOf(raw: RawClusterConfig): ConfigError {
  let caught: unknown;
  try {
    validateClusterConfig(raw);
  } catch (error) {
    caught = error;
  }
  expect(caught, "validateClusterConfig should throw").to.be.instanceOf(ConfigError);
  return caught as ConfigError;
}

function problemsOf(raw: RawClusterConfig): string[] {
  return errorOf(raw).problems;
}

/** What an LB host on a server's address is told (components/host/hostEntry.ts). */
const LB_ON_SERVER =
  "a load balancer cannot run on a K3s server, since both listen on port 6443 there (the load balancer for the API, K3s's API server itself); put the load balancer on another machine (with one machine to spare, lbKind: nginx on it), or, with none, use a VIP the servers hold themselves (kube-vip, which this program does not set up)";
/** What 2 servers are told without allowTwoServers (components/k3s/nodesSection.ts). */
const TWO_SERVERS =
  "2 servers tolerate no server failure, and either one down stops the cluster (twice as often as 1); use 3 servers (1 server tolerates 0 failures, 2 tolerate 0, 3 tolerate 1, 4 tolerate 1, 5 tolerate 2), or 1, or set allowTwoServers: true to run 2 knowingly (e.g. while a server is replaced)";

describe("validateClusterConfig", () => {
  describe("valid topologies", () => {
    it("accepts the dev topology and applies every default", () => {
      const config = validateClusterConfig(devTopology());
      const expected: ClusterConfig = {
        ssh: { user: defaultOf("sshUser"), port: defaultOf("sshPort"), trustAnyHostKey: false },
        k3s: {
          version: "v1.27.3+k3s1",
          installScriptUrl: defaultOf("installScriptUrl"),
          extraServerArgs: [],
          extraAgentArgs: [],
          extraTlsSans: [],
        },
        servers: [50, 51, 52].map((n, i) => ({
          name: `server-${i + 1}`,
          address: `10.10.10.${n}`,
          hostKey: fakeHostKey(`server-${i + 1}`),
          labels: {},
          taints: [],
        })),
        agents: [101, 102, 103].map((n, i) => ({
          name: `agent-${i + 1}`,
          address: `10.10.10.${n}`,
          hostKey: fakeHostKey(`agent-${i + 1}`),
          labels: {},
          taints: [],
        })),
        loadBalancer: {
          kind: "haproxy",
          vip: "10.10.10.100",
          vipPrefixLength: 24,
          interface: defaultOf("vrrpInterface"),
          virtualRouterId: defaultOf("vrrpRouterId"),
          unicast: defaultOf("vrrpUnicast"),
          nopreempt: defaultOf("vrrpNopreempt"),
          advertIntervalMs: defaultOf("vrrpAdvertIntervalMs"),
          hosts: [
            { name: "lb-1", address: "10.10.10.98", hostKey: fakeHostKey("lb-1"), priority: 200 },
            { name: "lb-2", address: "10.10.10.99", hostKey: fakeHostKey("lb-2"), priority: 100 },
          ],
        },
        upgrade: {
          drainBeforeUpgrade: defaultOf("drainBeforeUpgrade"),
          drainTimeoutSeconds: defaultOf("drainTimeoutSeconds"),
          agentBatchSize: defaultOf("agentBatchSize"),
        },
        warnings: [],
      };
      expect(config).to.deep.equal(expected);
      expect([defaultOf("sshUser"), defaultOf("sshPort"), defaultOf("vrrpRouterId")]).to.deep.equal(
        ["root", 22, 51],
      );
      expect([
        defaultOf("vrrpInterface"),
        defaultOf("vrrpUnicast"),
        defaultOf("vrrpNopreempt"),
      ]).to.deep.equal(["eth1", false, true]);
    });

    it("accepts an nginx topology with the native default and no VRRP settings", () => {
      const config = validateClusterConfig(nginxTopology());
      expect(config.loadBalancer).to.deep.equal({
        kind: "nginx",
        mode: "native",
        image: defaultOf("nginxImage"),
        hosts: [
          { name: "lb-1", address: "10.10.10.98", hostKey: fakeHostKey("lb-1"), priority: 0 },
        ],
      });
      expect(config.warnings).to.deep.equal([]);
    });

    it("accepts nginx in docker with a pinned image", () => {
      const image = "registry.example.com:5000/library/nginx:1.25@sha256:" + "a".repeat(64);
      const config = validateClusterConfig({
        ...nginxTopology(),
        nginxMode: "docker",
        nginxImage: image,
      });
      expect(config.loadBalancer).to.include({ kind: "nginx", mode: "docker", image });
    });

    it("keeps every explicit setting, and reads numbers and booleans given as strings", () => {
      const config = validateClusterConfig({
        ...devTopology(),
        sshUser: "deploy",
        sshPort: "2222",
        sshPrivateKeyPath: "~/.ssh/id_ed25519",
        sshBastion: { host: "bastion.example.com", hostKey: ED25519_HOST_KEY },
        k3sVersion: "v1.30.0-rc1+k3s1",
        installScriptUrl: "https://rancher-mirror.rancher.cn/k3s/k3s-install.sh",
        installScriptSha256: "AB".repeat(32),
        installMirror: "cn",
        extraServerArgs: ["--disable=traefik", "--flannel-backend=wireguard-native"],
        extraAgentArgs: ["--kubelet-arg=max-pods=200"],
        vrrpInterface: "ens18.10",
        vrrpRouterId: 77,
        vrrpUnicast: "true",
        vrrpNopreempt: false,
        agents: [
          {
            name: "agent-1",
            address: "10.10.10.101",
            hostKey: ED25519_HOST_KEY,
            labels: { "topology.kubernetes.io/zone": "rack-1", "example.com/gpu": "", tier: "web" },
            taints: ["dedicated=gpu:NoSchedule", "example.com/spot:PreferNoSchedule"],
          },
        ],
      });
      expect(config.ssh).to.deep.equal({
        user: "deploy",
        port: 2222,
        privateKeyPath: "~/.ssh/id_ed25519",
        trustAnyHostKey: false,
        bastion: {
          host: "bastion.example.com",
          user: "deploy",
          port: 22,
          hostKey: ED25519_HOST_KEY,
        },
      });
      expect(config.k3s).to.deep.equal({
        version: "v1.30.0-rc1+k3s1",
        installScriptUrl: "https://rancher-mirror.rancher.cn/k3s/k3s-install.sh",
        installScriptSha256: "ab".repeat(32),
        installMirror: "cn",
        extraServerArgs: ["--disable=traefik", "--flannel-backend=wireguard-native"],
        extraAgentArgs: ["--kubelet-arg=max-pods=200"],
        extraTlsSans: [],
      });
      expect(config.agents).to.deep.equal([
        {
          name: "agent-1",
          address: "10.10.10.101",
          hostKey: ED25519_HOST_KEY,
          labels: { "topology.kubernetes.io/zone": "rack-1", "example.com/gpu": "", tier: "web" },
          taints: ["dedicated=gpu:NoSchedule", "example.com/spot:PreferNoSchedule"],
        },
      ]);
      expect(config.loadBalancer).to.include({
        interface: "ens18.10",
        virtualRouterId: 77,
        unicast: true,
        nopreempt: false,
      });
    });

    it("accepts an IPv6 topology", () => {
      const v6 = (n: number) => `fd00:10::${n}`;
      const config = validateClusterConfig({
        ...devTopology(),
        servers: [{ name: "server-1", address: v6(50) }],
        agents: [],
        lbHosts: [
          { name: "lb-1", address: v6(98), priority: 200 },
          { name: "lb-2", address: v6(99), priority: 100 },
        ],
        vip: "fd00:10::100/64",
      });
      expect(config.loadBalancer).to.include({ vip: "fd00:10::100", vipPrefixLength: 64 });
    });
  });

  describe("addresses and names", () => {
    it("reports a malformed address with its path and value", () => {
      expect(problemsOf(withHost("servers", 1, { address: "10.10.10.5x" }))).to.deep.equal([
        'servers[1].address: "10.10.10.5x" is not an IPv4 or IPv6 address',
      ]);
    });

    it("rejects the short and hex IPv4 forms ipaddr.isValid lets through", () => {
      expect(problemsOf(withHost("agents", 0, { address: "10" }))).to.deep.equal([
        'agents[0].address: "10" is not an IPv4 or IPv6 address',
      ]);
      expect(problemsOf(withHost("agents", 0, { address: "0x0a.10.10.101" }))).to.deep.equal([
        'agents[0].address: "0x0a.10.10.101" is not an IPv4 or IPv6 address',
      ]);
    });

    it("rejects addresses that cannot belong to a host, and IPv6 zones", () => {
      expect(problemsOf(withHost("agents", 2, { address: "0.0.0.0" }))).to.deep.equal([
        'agents[2].address: "0.0.0.0" is the unspecified address, not a host address',
      ]);
      expect(problemsOf(withHost("agents", 2, { address: "fe80::1%eth1" }))).to.deep.equal([
        'agents[2].address: "fe80::1%eth1" has an IPv6 zone index, which is not supported',
      ]);
    });

    it("reports a missing address and a missing name", () => {
      const raw = devTopology();
      raw.agents = [{ name: "agent-1" }, { address: "10.10.10.102" }];
      expect(problemsOf(raw)).to.deep.equal([
        "agents[0].address: missing (expected an IPv4 or IPv6 address)",
        "agents[1].name: missing (expected an RFC 1123 label such as server-1)",
      ]);
    });

    it("requires node names to be RFC 1123 labels and says which character is wrong", () => {
      expect(problemsOf(withHost("servers", 0, { name: "Server_1" }))).to.deep.equal([
        'servers[0].name: "Server_1" is not a valid node name (RFC 1123 label): contains "S" (only lowercase letters, digits and "-")',
      ]);
      expect(problemsOf(withHost("lbHosts", 0, { name: "lb-1;reboot" }))).to.deep.equal([
        'lbHosts[0].name: "lb-1;reboot" is not a valid node name (RFC 1123 label): contains ";" (only lowercase letters, digits and "-")',
      ]);
      expect(problemsOf(withHost("agents", 0, { name: "-agent" }))).to.deep.equal([
        'agents[0].name: "-agent" is not a valid node name (RFC 1123 label): must start and end with a lowercase letter or digit',
      ]);
      expect(problemsOf(withHost("agents", 0, { name: "a".repeat(64) }))).to.deep.equal([
        'agents[0].name: "' +
          "a".repeat(64) +
          '" is not a valid node name (RFC 1123 label): is 64 characters long (at most 63)',
      ]);
    });

    it("reports duplicate names across servers, agents and lbHosts with both paths", () => {
      expect(problemsOf(withHost("agents", 1, { name: "server-2" }))).to.deep.equal([
        'agents[1].name: "server-2" duplicates servers[1].name',
      ]);
      expect(problemsOf(withHost("lbHosts", 0, { name: "agent-3" }))).to.deep.equal([
        'lbHosts[0].name: "agent-3" duplicates agents[2].name',
      ]);
    });

    it("reports duplicate addresses, also when IPv6 is written two ways", () => {
      expect(problemsOf(withHost("lbHosts", 1, { address: "10.10.10.52" }))).to.deep.equal([
        `lbHosts[1].address: "10.10.10.52" is also servers[2].address: ${LB_ON_SERVER}`,
      ]);
      const raw = devTopology();
      raw.servers = ["fd00::32", "fd00::33", "fd00::34"].map((address, i) => ({
        name: `server-${i + 1}`,
        address,
      }));
      raw.agents = [
        { name: "agent-1", address: "fd00::65" },
        { name: "agent-2", address: "fd00:0:0::0065" },
      ];
      expect(problemsOf(raw)).to.deep.equal([
        'agents[1].address: "fd00:0:0::0065" duplicates agents[0].address',
      ]);
    });
  });

  describe("cluster addresses", () => {
    it("refuses loopback and IPv4-mapped addresses for hosts and the VIP, which other hosts cannot use", () => {
      expect(problemsOf(withHost("servers", 1, { address: "127.0.0.2" }))).to.deep.equal([
        'servers[1].address: "127.0.0.2" is a loopback address: the other hosts cannot reach this host there',
      ]);
      expect(problemsOf(withHost("agents", 0, { address: "::ffff:10.10.10.101" }))).to.deep.equal([
        'agents[0].address: "::ffff:10.10.10.101" is an IPv4-mapped IPv6 address; write the IPv4 address 10.10.10.101',
      ]);
      expect(problemsOf({ ...devTopology(), vip: "127.0.0.100/8" })).to.deep.equal([
        'vip: "127.0.0.100/8" is a loopback address: the other hosts cannot reach this host there',
      ]);
      // A bastion may sit on loopback behind a tunnel.
      expect(() =>
        validateClusterConfig({ ...devTopology(), sshBastion: { host: "127.0.0.1", port: 2222 } }),
      ).to.not.throw();
    });
  });

  describe("server count", () => {
    it("requires at least one server", () => {
      expect(problemsOf({ ...devTopology(), servers: [] })).to.deep.equal([
        "servers: at least one server is required",
      ]);
      expect(problemsOf({ ...devTopology(), servers: undefined })).to.deep.equal([
        "servers: at least one server is required",
      ]);
    });

    it("warns, without failing, about an even number of servers from 4", () => {
      const four = [50, 51, 52, 53].map((n) => ({ name: `server-${n}`, address: `10.10.10.${n}` }));
      const raw = { ...devTopology(), servers: four };
      expect(validateClusterConfig(raw).warnings).to.deep.equal([
        "servers: 4 servers tolerate 1 failure, no more than 3 would; use an odd number (etcd needs a majority for quorum)",
      ]);
    });

    it("warns that one server is not highly available, saying what 1 to 5 servers tolerate", () => {
      const raw = devTopology();
      raw.servers = [{ name: "server-1", address: "10.10.10.50" }];
      expect(validateClusterConfig(raw).warnings).to.deep.equal([
        "servers: 1 server tolerates no server failure; use 3 for high availability (1 server tolerates 0 failures, 2 tolerate 0, 3 tolerate 1, 4 tolerate 1, 5 tolerate 2)",
      ]);
    });
  });

  describe("VIP", () => {
    it("requires a VIP for haproxy", () => {
      expect(problemsOf({ ...devTopology(), vip: undefined })).to.deep.equal([
        "vip: missing (expected a virtual IP in CIDR form, e.g. 10.10.10.100/24)",
      ]);
    });

    it("reports malformed CIDRs", () => {
      expect(problemsOf({ ...devTopology(), vip: "10.10.10.100" })).to.deep.equal([
        'vip: "10.10.10.100" has no prefix length (expected a CIDR such as 10.10.10.100/24)',
      ]);
      expect(problemsOf({ ...devTopology(), vip: "10.10.10.300/24" })).to.deep.equal([
        'vip: "10.10.10.300/24" is not a CIDR: its address is not an IPv4 or IPv6 address',
      ]);
      expect(problemsOf({ ...devTopology(), vip: "10.10.10.100/33" })).to.deep.equal([
        'vip: "10.10.10.100/33" is not a CIDR: the prefix length must be an integer from 0 to 32',
      ]);
      expect(problemsOf({ ...devTopology(), vip: "10.10.10.100/2x" })).to.deep.equal([
        'vip: "10.10.10.100/2x" is not a CIDR: the prefix length must be an integer from 0 to 32',
      ]);
    });

    it("rejects a VIP equal to any host's address", () => {
      expect(problemsOf({ ...devTopology(), vip: "10.10.10.51/24" })).to.deep.equal([
        "vip: 10.10.10.51 is also servers[1].address; the VIP must be an address no host has",
      ]);
      expect(problemsOf({ ...devTopology(), vip: "10.10.10.103/24" })).to.deep.equal([
        "vip: 10.10.10.103 is also agents[2].address; the VIP must be an address no host has",
      ]);
      expect(problemsOf({ ...devTopology(), vip: "10.10.10.98/24" })).to.deep.equal([
        "vip: 10.10.10.98 is also lbHosts[0].address; the VIP must be an address no host has",
      ]);
    });

    it("rejects a VIP whose subnet does not hold every LB host", () => {
      expect(problemsOf({ ...devTopology(), vip: "10.10.10.106/29" })).to.deep.equal([
        "vip: lbHosts[0].address 10.10.10.98 is outside the VIP's subnet 10.10.10.104/29; KeepAlived can only raise the VIP on an interface in that subnet",
        "vip: lbHosts[1].address 10.10.10.99 is outside the VIP's subnet 10.10.10.104/29; KeepAlived can only raise the VIP on an interface in that subnet",
      ]);
      expect(problemsOf(withHost("lbHosts", 1, { address: "10.10.20.99" }))).to.deep.equal([
        "vip: lbHosts[1].address 10.10.20.99 is outside the VIP's subnet 10.10.10.0/24; KeepAlived can only raise the VIP on an interface in that subnet",
      ]);
    });

    it("rejects the subnet's network and broadcast addresses", () => {
      expect(problemsOf({ ...devTopology(), vip: "10.10.10.0/24" })).to.deep.equal([
        "vip: 10.10.10.0 is the network address of 10.10.10.0/24",
      ]);
      expect(problemsOf({ ...devTopology(), vip: "10.10.10.255/24" })).to.deep.equal([
        "vip: 10.10.10.255 is the broadcast address of 10.10.10.0/24",
      ]);
    });

    it("rejects a VIP with nginx, which has none", () => {
      expect(problemsOf({ ...nginxTopology(), vip: "10.10.10.100/24" })).to.deep.equal([
        "vip: applies only to lbKind haproxy (nginx has no virtual IP; agents join through the nginx host's address)",
      ]);
    });
  });

  describe("load balancer", () => {
    it("requires lbKind and lists the allowed values", () => {
      expect(problemsOf({ ...devTopology(), lbKind: undefined })).to.deep.equal([
        'lbKind: missing (expected one of "haproxy", "nginx")',
      ]);
      expect(problemsOf({ ...devTopology(), lbKind: "envoy" })).to.deep.equal([
        'lbKind: expected one of "haproxy", "nginx", got "envoy"',
      ]);
    });

    it("needs exactly two hosts for haproxy", () => {
      const raw = devTopology();
      raw.lbHosts = (raw.lbHosts as object[]).slice(0, 1);
      expect(problemsOf(raw)).to.deep.equal(["lbHosts: haproxy takes exactly two hosts, got 1"]);
      expect(problemsOf({ ...devTopology(), lbHosts: undefined })).to.deep.equal([
        "lbHosts: haproxy takes exactly two hosts, got 0",
      ]);
    });

    it("needs exactly one host for nginx", () => {
      const raw = nginxTopology();
      raw.lbHosts = [
        { name: "lb-1", address: "10.10.10.98" },
        { name: "lb-2", address: "10.10.10.99" },
      ];
      expect(problemsOf(raw)).to.deep.equal(["lbHosts: nginx takes exactly one host, got 2"]);
    });

    it("requires distinct integer priorities from 1 to 254 for haproxy", () => {
      expect(problemsOf(withHost("lbHosts", 1, { priority: undefined }))).to.deep.equal([
        "lbHosts[1].priority: missing (expected a VRRP priority for haproxy, an integer from 1 to 254)",
      ]);
      expect(problemsOf(withHost("lbHosts", 0, { priority: 255 }))).to.deep.equal([
        "lbHosts[0].priority: expected an integer from 1 to 254, got 255",
      ]);
      expect(problemsOf(withHost("lbHosts", 0, { priority: 150.5 }))).to.deep.equal([
        "lbHosts[0].priority: expected an integer from 1 to 254, got 150.5",
      ]);
      expect(problemsOf(withHost("lbHosts", 1, { priority: 200 }))).to.deep.equal([
        "lbHosts[1].priority: 200 equals lbHosts[0].priority; the two priorities must differ",
      ]);
    });

    it("rejects a priority on an nginx host", () => {
      const raw = nginxTopology();
      raw.lbHosts = [{ name: "lb-1", address: "10.10.10.98", priority: 100 }];
      expect(problemsOf(raw)).to.deep.equal([
        "lbHosts[0].priority: applies only to lbKind haproxy",
      ]);
    });

    it("checks the VRRP router id range and type", () => {
      for (const bad of [0, 256, 51.5]) {
        expect(problemsOf({ ...devTopology(), vrrpRouterId: bad })).to.deep.equal([
          `vrrpRouterId: expected an integer from 1 to 255, got ${bad}`,
        ]);
      }
      expect(problemsOf({ ...devTopology(), vrrpRouterId: "5l" })).to.deep.equal([
        'vrrpRouterId: expected an integer from 1 to 255, got "5l"',
      ]);
    });

    it("checks the VRRP advertisement interval: floor, ceiling, 10 ms steps", () => {
      for (const bad of [0, 90, 40_960, 250.5]) {
        expect(problemsOf({ ...devTopology(), vrrpAdvertIntervalMs: bad })).to.deep.equal([
          `vrrpAdvertIntervalMs: expected an integer from 100 to 40950, got ${bad}`,
        ]);
      }
      expect(problemsOf({ ...devTopology(), vrrpAdvertIntervalMs: 255 })).to.deep.equal([
        "vrrpAdvertIntervalMs: 255 must be a whole number of milliseconds in steps of 10 (VRRPv3 counts centiseconds)",
      ]);
      const lb = validateClusterConfig({
        ...devTopology(),
        vrrpAdvertIntervalMs: "500",
      }).loadBalancer;
      expect(lb.kind === "haproxy" && lb.advertIntervalMs).to.equal(500);
      expect(problemsOf({ ...nginxTopology(), vrrpAdvertIntervalMs: 500 })).to.deep.equal([
        "vrrpAdvertIntervalMs: applies only to lbKind haproxy",
      ]);
    });

    it("checks the VRRP interface name", () => {
      expect(problemsOf({ ...devTopology(), vrrpInterface: "eth1 up" })).to.deep.equal([
        'vrrpInterface: "eth1 up" is not a valid interface name: contains a space (only letters, digits, "_", "." and "-")',
      ]);
      expect(problemsOf({ ...devTopology(), vrrpInterface: "eth1:0" })).to.deep.equal([
        'vrrpInterface: "eth1:0" is an alias label (the ifconfig name of a second address on eth1), not an interface: KeepAlived adds the VIP to the interface itself; use "eth1"',
      ]);
      expect(problemsOf({ ...devTopology(), vrrpInterface: "enp0s31f6.100000" })).to.deep.equal([
        'vrrpInterface: "enp0s31f6.100000" is not a valid interface name: is 16 characters long (Linux allows at most 15)',
      ]);
    });

    it("rejects settings of the other load-balancer kind unless they hold the default", () => {
      expect(problemsOf({ ...nginxTopology(), vrrpRouterId: 52, vrrpUnicast: true })).to.deep.equal(
        [
          "vrrpRouterId: applies only to lbKind haproxy",
          "vrrpUnicast: applies only to lbKind haproxy",
        ],
      );
      expect(problemsOf({ ...devTopology(), nginxMode: "docker" })).to.deep.equal([
        "nginxMode: applies only to lbKind nginx",
      ]);
      expect(problemsOf({ ...devTopology(), nginxImage: "nginx:1.25" })).to.deep.equal([
        "nginxImage: applies only to lbKind nginx",
      ]);
    });

    it("accepts the Pulumi.yaml project defaults, which every stack receives, for both kinds", () => {
      // What index.ts passes when a stack sets none of these keys.
      const projectDefaults = {
        vrrpInterface: "eth1",
        vrrpRouterId: 51,
        vrrpUnicast: false,
        vrrpNopreempt: true,
        nginxMode: "native",
        nginxImage: "nginx:stable",
      };
      const haproxy = validateClusterConfig({ ...devTopology(), ...projectDefaults });
      expect(haproxy).to.deep.equal(validateClusterConfig(devTopology()));
      const nginx = validateClusterConfig({ ...nginxTopology(), ...projectDefaults });
      expect(nginx).to.deep.equal(validateClusterConfig(nginxTopology()));
    });

    it("type-checks the settings of the other kind too", () => {
      expect(problemsOf({ ...nginxTopology(), vrrpRouterId: "x" })).to.deep.equal([
        'vrrpRouterId: expected an integer from 1 to 255, got "x"',
      ]);
    });

    it("checks nginx mode and image", () => {
      expect(problemsOf({ ...nginxTopology(), nginxMode: "podman" })).to.deep.equal([
        'nginxMode: expected one of "native", "docker", got "podman"',
      ]);
      expect(
        problemsOf({ ...nginxTopology(), nginxMode: "docker", nginxImage: "Nginx:stable" }),
      ).to.deep.equal([
        'nginxImage: "Nginx:stable" is not a Docker image reference (expected [registry/]repository[:tag][@digest] with a lowercase repository, e.g. nginx:stable)',
      ]);
      expect(
        problemsOf({
          ...nginxTopology(),
          nginxMode: "docker",
          nginxImage: "nginx:stable --privileged",
        }),
      ).to.deep.equal([
        `nginxImage: "nginx:stable --privileged" contains a space, which is not shell-safe ${SHELL_SAFE}`,
      ]);
      expect(problemsOf({ ...nginxTopology(), nginxImage: "nginx:1.25" })).to.deep.equal([
        'nginxImage: applies only to nginxMode "docker"',
      ]);
    });
  });

  describe("K3s settings", () => {
    it("requires a K3s version and checks its form", () => {
      expect(problemsOf({ ...devTopology(), k3sVersion: undefined })).to.deep.equal([
        "k3sVersion: missing (expected a K3s release such as v1.27.3+k3s1)",
      ]);
      for (const bad of ["1.27.3", "v1.27.3", "v1.27+k3s1", "latest"]) {
        expect(problemsOf({ ...devTopology(), k3sVersion: bad })).to.deep.equal([
          `k3sVersion: "${bad}" is not a K3s version (expected e.g. v1.27.3+k3s1 or v1.30.0-rc1+k3s1)`,
        ]);
      }
    });

    it("requires an http(s) install script URL without credentials", () => {
      expect(problemsOf({ ...devTopology(), installScriptUrl: "ftp://get.k3s.io" })).to.deep.equal([
        'installScriptUrl: "ftp://get.k3s.io" is not an http(s) URL',
      ]);
      expect(problemsOf({ ...devTopology(), installScriptUrl: "get.k3s.io" })).to.deep.equal([
        'installScriptUrl: "get.k3s.io" is not a URL (expected e.g. https://get.k3s.io)',
      ]);
      expect(
        problemsOf({ ...devTopology(), installScriptUrl: "https://bob:hunter2@get.k3s.io" }),
      ).to.deep.equal([
        "installScriptUrl: must not contain a user name or password: it would be logged with every command that fetches it",
      ]);
      expect(
        problemsOf({ ...devTopology(), installScriptUrl: "https://get.k3s.io/?a=1&b=2" }),
      ).to.deep.equal([
        `installScriptUrl: "https://get.k3s.io/?a=1&b=2" contains "?", which is not shell-safe ${SHELL_SAFE}`,
      ]);
    });

    it("refuses a plain-http install script without a checksum", () => {
      const raw = { ...devTopology(), installScriptUrl: "http://mirror.lan/k3s.sh" };
      expect(problemsOf(raw)).to.deep.equal([
        `installScriptUrl: "http://mirror.lan/k3s.sh" is plain http and installScriptSha256 is not set: anyone on the path could change the script, which runs as root on every K3s host; use https, or set installScriptSha256 to the script's sha256 (sha256sum on a copy you checked)`,
      ]);
      const pinned = { ...raw, installScriptSha256: "0".repeat(64) };
      expect(validateClusterConfig(pinned).warnings).to.deep.equal([]);
    });

    it("checks the install script checksum", () => {
      expect(problemsOf({ ...devTopology(), installScriptSha256: "abc123" })).to.deep.equal([
        'installScriptSha256: expected 64 hexadecimal digits, got "abc123"',
      ]);
    });

    it("requires shell-safe extra arguments and names the bad character", () => {
      const cases: [string, string][] = [
        ["--kubelet-arg=a b", "a space"],
        ['--kubelet-arg="x"', 'a double quote (")'],
        ["--kubelet-arg='x'", "a single quote (')"],
        ["--default-local-storage-path=$HOME", '"$"'],
        ["--kubelet-arg=`hostname`", "a backtick (`)"],
        ["--disable=traefik;reboot", '";"'],
        ["--x=a|b", '"|"'],
        ["--x=a&b", '"&"'],
        ["--x=<in", '"<"'],
        ["--x=>out", '">"'],
        ["--x=a\nb", "a newline"],
        ["--x=*", '"*"'],
        ["--x=~", '"~"'],
      ];
      for (const [arg, char] of cases) {
        const shown = arg.includes("\n")
          ? `a string of ${arg.length} characters (not shown)`
          : JSON.stringify(arg);
        expect(problemsOf({ ...devTopology(), extraAgentArgs: [arg] })).to.deep.equal([
          `extraAgentArgs[0]: ${shown} contains ${char}, which is not shell-safe ${SHELL_SAFE}`,
        ]);
      }
    });

    it("rejects token flags among the extra arguments without echoing them", () => {
      expect(
        problemsOf({
          ...devTopology(),
          extraServerArgs: ["--disable=traefik", "--token=lb-cluster-gd"],
        }),
      ).to.deep.equal([
        "extraServerArgs[1]: --token carries a secret, which as an argument reaches the systemd unit and the process's command line (ps); use the secret stack key token (pulumi config set --secret token ...)",
      ]);
    });

    it("refuses every spelling of flags that carry secrets, and flags the program sets, naming the key to use", () => {
      const args = [
        "-token=x1",
        "--t=x2",
        "-agent-token=x3",
        "--vpn-auth=name=tailscale,joinKey=x4",
        "--etcd-s3-session-token=x5",
        "--datastore-endpoint=postgres://u:x6@db:5432/k3s",
        "--token-file=/tmp/t",
        "--server=https://10.10.10.50:6443",
        "-s",
        "--cluster-init",
        "--cluster-reset",
        "--write-kubeconfig-mode=0644",
        "--tls-san=k3s.example.com",
        "--node-label=a=b",
        "--disable=traefik",
      ];
      const problems = problemsOf({ ...devTopology(), extraServerArgs: args });
      expect(problems.map((p) => p.split(":")[0])).to.deep.equal(
        args.slice(0, -1).map((_, i) => `extraServerArgs[${i}]`),
      );
      const [
        token,
        ,
        ,
        vpnAuth,
        ,
        datastore,
        tokenFile,
        server,
        ,
        ,
        reset,
        kubeconfigMode,
        tlsSan,
      ] = problems.map((p) => p.slice(p.indexOf(": ") + 2));
      expect(token).to.match(/^--token carries a secret, .* use the secret stack key token /);
      expect(vpnAuth).to.match(
        /^--vpn-auth carries a secret, .* use serverSecretConfig \/ agentSecretConfig/,
      );
      expect(datastore).to.contain("the program runs embedded etcd");
      expect(tokenFile).to.equal(
        "--token-file is set by the program; use token / agentToken: the program writes the token files (0600) itself",
      );
      expect(server).to.match(
        /^--server is set by the program; use nothing: servers join server-1/,
      );
      expect(reset).to.contain("a one-off recovery run by hand on one server");
      expect(kubeconfigMode).to.contain("the secret stack output kubeconfig");
      expect(tlsSan).to.equal("--tls-san is set by the program; use extraTlsSans");
      for (const secret of ["x1", "x2", "x3", "x4", "x5", "x6"])
        expect(problems.join("\n")).to.not.match(new RegExp(`\\b${secret}\\b`));
    });

    it("checks the secret config fragments: a YAML mapping of settings the program does not set, never shown", () => {
      const problems = (secrets: StackSecrets) => {
        try {
          validateClusterConfig(devTopology(), secrets);
          return [];
        } catch (e) {
          return (e as ConfigError).problems;
        }
      };
      expect(
        problems({
          serverSecretConfig:
            "vpn-auth: name=tailscale,joinKey=s3cr3t\netcd-s3-secret-key: s3cr3t\n",
          agentSecretConfig: "vpn-auth: name=tailscale,joinKey=s3cr3t\n",
        }),
      ).to.deep.equal([]);
      const bad = problems({
        serverSecretConfig: "token: s3cr3t\ntls-san+: [a.example.com]\nnode-label: {a: s3cr3t}\n",
        agentSecretConfig: "vpn-auth: [s3cr3t\n",
      });
      expect(bad).to.deep.equal([
        "serverSecretConfig: token is set by the program; use the secret stack key token (pulumi config set --secret token ...)",
        "serverSecretConfig: tls-san is set by the program; use extraTlsSans",
        "serverSecretConfig: node-label is set by the program; use labels on the host's entry",
        "serverSecretConfig: node-label: expected a value or a list of values (value not shown)",
        "agentSecretConfig: is not valid YAML (value not shown: it is a secret)",
      ]);
      expect(bad.join("\n")).to.not.contain("s3cr3t");
      expect(problems({ serverSecretConfig: "- s3cr3t\n" })).to.deep.equal([
        "serverSecretConfig: expected a YAML mapping of K3s settings such as `vpn-auth: ...` (value not shown)",
      ]);
    });

    it("checks the tokens' form without ever showing them", () => {
      const problems = (secrets: { token?: string; agentToken?: string }) => {
        try {
          validateClusterConfig(devTopology(), secrets);
          return [];
        } catch (err) {
          return (err as ConfigError).problems;
        }
      };
      const full = `K10${"a".repeat(64)}::server:s3cret-password`;
      expect(problems({ token: "0123456789abcdef", agentToken: "fedcba9876543210" })).to.deep.equal(
        [],
      );
      const found = problems({ token: full, agentToken: "abcdef.0123456789abcdef" });
      expect(found).to.have.length(2);
      expect(found[0]).to.match(/^token: is in the secure form .* give the password alone/);
      expect(found[1]).to.match(/^agentToken: has the form of a Kubernetes bootstrap token/);
      expect(problems({ token: "has space" })[0]).to.match(/^token: holds white space/);
      expect(problems({ token: "" })[0]).to.match(/^token: is empty/);
      expect(problems({ token: "same-1", agentToken: "same-1" })).to.deep.equal([
        "agentToken: equals token: an agent token is meant to differ from the server token",
      ]);
      for (const p of [...found, ...problems({ token: "has space" })]) {
        expect(p).to.not.contain("s3cret");
        expect(p).to.not.contain("has space");
        expect(p).to.not.contain("0123456789abcdef");
      }
    });

    it("refuses installMirror with the default install script, which ignores it", () => {
      expect(problemsOf({ ...devTopology(), installMirror: "cn" })).to.deep.equal([
        "installMirror: does nothing with the default installScriptUrl (https://get.k3s.io ignores INSTALL_K3S_MIRROR); set installScriptUrl to https://rancher-mirror.rancher.cn/k3s/k3s-install.sh as well, or remove installMirror",
      ]);
      const china = validateClusterConfig({
        ...devTopology(),
        installMirror: "cn",
        installScriptUrl: "https://rancher-mirror.rancher.cn/k3s/k3s-install.sh",
      });
      expect(china.warnings).to.deep.equal([]);
      const copy = validateClusterConfig({
        ...devTopology(),
        installMirror: "cn",
        installScriptUrl: "https://mirror.example.com/k3s-install.sh",
      });
      expect(copy.warnings).to.deep.equal([
        "installMirror: only the China mirror's install script (https://rancher-mirror.rancher.cn/k3s/k3s-install.sh) reads INSTALL_K3S_MIRROR; make sure the script at installScriptUrl does",
      ]);
    });

    it("requires a shell-safe install mirror", () => {
      expect(problemsOf({ ...devTopology(), installMirror: "cn && curl x" })).to.deep.equal([
        `installMirror: "cn && curl x" contains a space, which is not shell-safe ${SHELL_SAFE}`,
      ]);
    });
  });

  describe("labels and taints", () => {
    it("checks label keys, prefixes and values", () => {
      const labels = {
        "bad key": "x",
        "Example.com/gpu": "x",
        "example.com/": "x",
        ["n".repeat(64)]: "x",
        tier: "front end",
        zone: "-a",
      };
      expect(problemsOf(withHost("agents", 0, { labels }))).to.deep.equal([
        'agents[0].labels["bad key"]: not a valid label key: name contains a space (only letters, digits, "-", "_" and ".")',
        'agents[0].labels["Example.com/gpu"]: not a valid label key: prefix contains "E" (only lowercase letters, digits, "-" and ".")',
        'agents[0].labels["example.com/"]: not a valid label key: has an empty name',
        `agents[0].labels.${"n".repeat(64)}: not a valid label key: name is 64 characters long (at most 63)`,
        'agents[0].labels.tier: "front end" is not a valid label value: contains a space (only letters, digits, "-", "_" and ".")',
        'agents[0].labels.zone: "-a" is not a valid label value: must start and end with a letter or digit',
      ]);
    });

    it("requires label values to be strings and labels to be an object", () => {
      expect(problemsOf(withHost("agents", 0, { labels: { rack: 7 } }))).to.deep.equal([
        "agents[0].labels.rack: expected a string, got 7",
      ]);
      expect(problemsOf(withHost("agents", 0, { labels: ["rack=7"] }))).to.deep.equal([
        "agents[0].labels: expected an object of label keys to values, got an array",
      ]);
    });

    it("rejects kubernetes.io labels the kubelet refuses to set on itself", () => {
      const labels = {
        "node-role.kubernetes.io/worker": "true",
        "node.kubernetes.io/pool": "a",
        "kubelet.kubernetes.io/x": "b",
        "topology.kubernetes.io/zone": "z1",
      };
      expect(problemsOf(withHost("agents", 0, { labels }))).to.deep.equal([
        'agents[0].labels["node-role.kubernetes.io/worker"]: is in a kubernetes.io/k8s.io namespace the kubelet may not set on its own node, so it would refuse to start (allowed there: [*.]kubelet.kubernetes.io/*, [*.]node.kubernetes.io/* and well-known keys such as topology.kubernetes.io/zone); apply it with kubectl after the node joins',
      ]);
    });

    it("checks taint syntax and effects", () => {
      const taints = [
        "dedicated=gpu",
        "dedicated=gpu:NoRun",
        ":NoSchedule",
        "bad key:NoSchedule",
        "k=bad value:NoExecute",
        "k=v:NoSchedule",
        "k=w:NoSchedule",
      ];
      expect(problemsOf(withHost("servers", 0, { taints }))).to.deep.equal([
        'servers[0].taints[0]: "dedicated=gpu" is not a valid taint: has no ":Effect" suffix (expected key[=value]:NoSchedule|PreferNoSchedule|NoExecute)',
        'servers[0].taints[1]: "dedicated=gpu:NoRun" is not a valid taint: has an effect that is not one of NoSchedule, PreferNoSchedule, NoExecute',
        'servers[0].taints[2]: ":NoSchedule" is not a valid taint: has no key (expected key[=value]:NoSchedule|PreferNoSchedule|NoExecute)',
        'servers[0].taints[3]: "bad key:NoSchedule" is not a valid taint: key name contains a space (only letters, digits, "-", "_" and ".")',
        'servers[0].taints[4]: "k=bad value:NoExecute" is not a valid taint: value contains a space (only letters, digits, "-", "_" and ".")',
        "servers[0].taints[6]: repeats the key and effect of servers[0].taints[5]",
      ]);
    });

    it("requires taints to be an array of strings", () => {
      expect(problemsOf(withHost("servers", 0, { taints: "a:NoSchedule" }))).to.deep.equal([
        'servers[0].taints: expected an array of taints such as dedicated=gpu:NoSchedule, got "a:NoSchedule"',
      ]);
      expect(problemsOf(withHost("servers", 0, { taints: [{ key: "a" }] }))).to.deep.equal([
        "servers[0].taints[0]: expected a taint string, got an object",
      ]);
    });
  });

  describe("types, keys and SSH settings", () => {
    it("names the field and the expected type", () => {
      expect(problemsOf({ ...devTopology(), sshPort: "22x" })).to.deep.equal([
        'sshPort: expected an integer from 1 to 65535, got "22x"',
      ]);
      expect(problemsOf({ ...devTopology(), sshPort: 0 })).to.deep.equal([
        "sshPort: expected an integer from 1 to 65535, got 0",
      ]);
      expect(problemsOf({ ...devTopology(), servers: "server-1" })).to.deep.equal([
        'servers: expected an array of hosts {name, address, ...}, got "server-1"',
      ]);
      expect(problemsOf({ ...devTopology(), agents: { name: "agent-1" } })).to.deep.equal([
        "agents: expected an array of hosts {name, address, ...}, got an object",
      ]);
      expect(problemsOf({ ...devTopology(), vrrpUnicast: "yes" })).to.deep.equal([
        'vrrpUnicast: expected true or false, got "yes"',
      ]);
      expect(problemsOf(withHost("servers", 2, { address: 10 }))).to.deep.equal([
        "servers[2].address: expected an IPv4 or IPv6 address, got 10",
      ]);
      expect(problemsOf({ ...devTopology(), extraServerArgs: "--disable=traefik" })).to.deep.equal([
        'extraServerArgs: expected an array of strings such as --disable=traefik, got "--disable=traefik"',
      ]);
      const raw = devTopology();
      raw.agents = ["agent-1"];
      expect(problemsOf(raw)).to.deep.equal([
        'agents[0]: expected a host object {name, address, ...}, got "agent-1"',
      ]);
    });

    it("reports unknown keys in host objects and suggests the likely key", () => {
      const raw = devTopology();
      raw.servers = [{ name: "server-1", adress: "10.10.10.50", address: "10.10.10.50", prio: 1 }];
      expect(problemsOf(raw)).to.deep.equal([
        'servers[0].adress: unknown key (did you mean "address"?)',
        "servers[0].prio: unknown key (allowed: name, address, hostKey, labels, taints)",
      ]);
      expect(problemsOf(withHost("lbHosts", 0, { priorty: 200 }))).to.deep.equal([
        'lbHosts[0].priorty: unknown key (did you mean "priority"?)',
      ]);
    });

    it("reports unknown top-level settings by name only", () => {
      const raw = { ...devTopology(), vrrpIntreface: "eth1", agentToken: "K10abcdef::node:x" };
      expect(problemsOf(raw)).to.deep.equal([
        'vrrpIntreface: unknown key (did you mean "vrrpInterface"?)',
        "agentToken: unknown key (not a setting this program reads)",
      ]);
    });

    it("checks the SSH user, private key path and bastion", () => {
      expect(problemsOf({ ...devTopology(), sshUser: "root;id" })).to.deep.equal([
        'sshUser: "root;id" is not a valid user name: contains ";" (only letters, digits, "_", "." and "-")',
      ]);
      expect(
        problemsOf({ ...devTopology(), sshBastion: { user: "jump", port: 70000 } }),
      ).to.deep.equal([
        "sshBastion.host: missing (expected an IP address or DNS host name)",
        "sshBastion.port: expected an integer from 1 to 65535, got 70000",
      ]);
      expect(problemsOf({ ...devTopology(), sshBastion: { host: "10.10.10.256" } })).to.deep.equal([
        'sshBastion.host: "10.10.10.256" is not an IPv4 or IPv6 address',
      ]);
      expect(problemsOf({ ...devTopology(), sshBastion: "jump@host" })).to.deep.equal([
        'sshBastion: expected an object {host, user?, port?, hostKey?}, got "jump@host"',
      ]);
    });

    it("checks pinned host keys", () => {
      expect(problemsOf(withHost("servers", 0, { hostKey: "AAAAC3NzaC1lZDI1NTE5" }))).to.deep.equal(
        [
          'servers[0].hostKey: is not a public host key (expected "<type> <base64> [comment]" as in known_hosts, e.g. "ssh-ed25519 AAAA...")',
        ],
      );
      const rsaLabelledEd25519 = ED25519_HOST_KEY.replace("ssh-ed25519", "ssh-rsa");
      expect(problemsOf(withHost("servers", 0, { hostKey: rsaLabelledEd25519 }))).to.deep.equal([
        "servers[0].hostKey: has key data that does not decode to a key of type ssh-rsa",
      ]);
      expect(
        problemsOf(withHost("servers", 0, { hostKey: "ssh-dss AAAAB3NzaC1kc3M=" })),
      ).to.deep.equal([
        "servers[0].hostKey: has an unsupported key type (expected one of ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa)",
      ]);
    });
  });

  describe("SSH host keys", () => {
    const unpinnedProblems = (raw: RawClusterConfig): string[] => {
      try {
        validateRaw(raw);
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    };
    const HOW =
      "pin them with `npm run hostkeys -- --stack <stack>` (scans the hosts, shows each fingerprint and asks before writing), or set sshTrustAnyHostKey: true to accept any host key knowingly";

    it("refuses hosts and the bastion without a pinned key in one message naming them, saying how to pin", () => {
      const raw = pinned(devTopology()) as Record<string, unknown>;
      const servers = [...(raw.servers as object[])];
      servers[1] = { name: "server-2", address: "10.10.10.51" };
      const lbHosts = [...(raw.lbHosts as object[])];
      lbHosts[0] = { name: "lb-1", address: "10.10.10.98", priority: 200 };
      expect(
        unpinnedProblems({ ...raw, servers, lbHosts, sshBastion: { host: "jump.example.com" } }),
      ).to.deep.equal([
        `hostKey: missing for 3 hosts (server-2, lb-1, the bastion jump.example.com): without a pinned host key SSH accepts any key, and a machine in the middle would receive the cluster token; ${HOW}`,
      ]);
      expect(unpinnedProblems(devTopology())).to.have.length(1);
    });

    it("accepts unpinned hosts only with sshTrustAnyHostKey: true, and warns naming them", () => {
      const raw = { ...pinned(devTopology()), sshTrustAnyHostKey: true } as Record<string, unknown>;
      const agents = [...(raw.agents as object[])];
      agents[2] = { name: "agent-3", address: "10.10.10.103" };
      expect(validateRaw({ ...raw, agents }).warnings).to.deep.equal([
        "sshTrustAnyHostKey: SSH accepts any host key for 1 host(s) (agent-3): a machine in the middle would receive the cluster token",
      ]);
      expect(validateRaw(raw).warnings).to.deep.equal([]);
      expect(unpinnedProblems({ ...devTopology(), sshTrustAnyHostKey: "yes" })).to.include(
        'sshTrustAnyHostKey: expected true or false, got "yes"',
      );
    });
  });

  describe("reporting", () => {
    it("reports every problem at once in one ConfigError", () => {
      const raw = {
        ...devTopology(),
        sshPort: "22x",
        k3sVersion: "1.27",
        lbKind: "haproxy",
        vip: "10.10.10.99/24",
        vrrpRouterId: 300,
      };
      raw.servers = [
        { name: "server-1", address: "10.10.10.5x" },
        { name: "server-1", address: "10.10.10.51" },
      ];
      expect(() => validateClusterConfig(raw)).to.throw(ConfigError);
      const problems = problemsOf(raw);
      expect(problems).to.deep.equal([
        'sshPort: expected an integer from 1 to 65535, got "22x"',
        'k3sVersion: "1.27" is not a K3s version (expected e.g. v1.27.3+k3s1 or v1.30.0-rc1+k3s1)',
        'servers[0].address: "10.10.10.5x" is not an IPv4 or IPv6 address',
        `servers: ${TWO_SERVERS}`,
        'servers[1].name: "server-1" duplicates servers[0].name',
        "vrrpRouterId: expected an integer from 1 to 255, got 300",
        "vip: 10.10.10.99 is also lbHosts[1].address; the VIP must be an address no host has",
      ]);
      expect(errorOf(raw).message).to.equal(
        `invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      );
    });

    it("never echoes a secret planted in the input", () => {
      const token =
        "K10c0ffee0123456789abcdef0123456789abcdef0123456789abcdef01234567::server:4f7e1d";
      const privateKey = [
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
        "-----END OPENSSH PRIVATE KEY-----",
      ].join("\n");
      const password = "hunter2-Sup3rS3cret";
      const raw = devTopology();
      raw.servers = [
        { name: "server-1", address: "10.10.10.50", token, privateKey },
        { name: "server-2", address: "10.10.10.51", hostKey: privateKey },
        { name: token, address: token, labels: { token: password, secret: "x y" } },
      ];
      raw.agents = [{ name: "agent-1", address: "10.10.10.101", taints: [`${token}:NoSchedule`] }];
      raw.sshBastion = { host: "bastion.example.com", password };
      raw.sshPrivateKeyPath = privateKey;
      raw.extraServerArgs = [`--token=${token}`, "--agent-token", password];
      raw.extraAgentArgs = [`--token ${password}`, `--etcd-s3-secret-key=${password}`];
      raw.installScriptUrl = `https://deploy:${password}@get.k3s.io`;
      raw.k3sVersion = token;

      const secretFlag = (flag: string, instead: string) =>
        `${flag} carries a secret, which as an argument reaches the systemd unit and the process's command line (ps); use ${instead}`;
      const TOKEN_KEY = "the secret stack key token (pulumi config set --secret token ...)";
      const hidden = (length: number) => `a string of ${length} characters (not shown)`;
      const problems = problemsOf(raw);
      expect(problems).to.deep.equal([
        "sshPrivateKeyPath: holds key material, not a file path; set the sshPrivateKey secret instead",
        "sshBastion.password: unknown key (allowed: host, user, port, hostKey)",
        `k3sVersion: ${hidden(80)} is not a K3s version (expected e.g. v1.27.3+k3s1 or v1.30.0-rc1+k3s1)`,
        "installScriptUrl: must not contain a user name or password: it would be logged with every command that fetches it",
        `extraServerArgs[0]: ${secretFlag("--token", TOKEN_KEY)}`,
        `extraServerArgs[1]: ${secretFlag("--agent-token", "the secret stack key agentToken (pulumi config set --secret agentToken ...)")}`,
        `extraAgentArgs[0]: ${secretFlag("--token", TOKEN_KEY)}`,
        `extraAgentArgs[1]: ${secretFlag("--etcd-s3-secret-key", "serverSecretConfig / agentSecretConfig (a secret YAML fragment)")}`,
        "servers[0].token: unknown key (allowed: name, address, hostKey, labels, taints)",
        "servers[0].privateKey: unknown key (allowed: name, address, hostKey, labels, taints)",
        "servers[1].hostKey: is a private key; put the host's public key here (as in known_hosts)",
        `servers[2].name: ${hidden(80)} is not a valid node name (RFC 1123 label): is 80 characters long (at most 63)`,
        `servers[2].address: ${hidden(80)} is not an IPv4 or IPv6 address`,
        `servers[2].labels.secret: ${hidden(3)} is not a valid label value: contains a space (only letters, digits, "-", "_" and ".")`,
        `agents[0].taints[0]: ${hidden(91)} is not a valid taint: key name is 80 characters long (at most 63)`,
      ]);
      const secrets = [
        token,
        privateKey,
        password,
        "K10c0ffee",
        "4f7e1d",
        "hunter2",
        "b3BlbnNzaC1rZXkt",
      ];
      const error = errorOf(raw);
      const everything = [error.message, ...error.problems].join("\n");
      for (const secret of secrets) {
        expect(everything, `an error message contains ${secret.slice(0, 6)}...`).not.to.include(
          secret,
        );
      }
    });
  });

  describe("isShellSafeToken", () => {
    it("accepts flags, addresses and image references and rejects shell syntax", () => {
      for (const ok of [
        "--disable=traefik",
        "--node-ip=10.0.0.1",
        "nginx:stable",
        "cn",
        "a,b@c%d+e",
      ]) {
        expect(isShellSafeToken(ok), ok).to.equal(true);
      }
      for (const bad of [
        "",
        "a b",
        "$x",
        "`x`",
        "a;b",
        "a|b",
        "a&b",
        "<a",
        ">a",
        "'a'",
        '"a"',
        "a\nb",
        "*",
        "~",
        "é",
        5,
      ]) {
        expect(isShellSafeToken(bad), String(bad)).to.equal(false);
      }
    });
  });
});
