/**
 * Stack-file mistakes of issue 17 and the exact message each gets: unpinned hosts, host keys pasted
 * as known_hosts lines, 2 servers, a load balancer on a server, keys outside the project.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../components/config/errors";
import { RawClusterConfig } from "../../components/config/keys";
import { ValidateOptions, validateClusterConfig } from "../../components/cluster/validate";
import { argsFromStack, rawConfigFrom } from "../../components/cluster/stackConfig";
import { fakeHostKey, loadStackConfig, withPinnedHostKeys } from "../../harness/program/stacks";

type Raw = RawClusterConfig & Record<string, unknown>;
type Host = { name: string; address: string; hostKey?: string; priority?: number };

/** Pulumi.dev.yaml as raw config (keys without `k3s-ha:`), every host pinned. */
function dev(): Raw {
  const config = withPinnedHostKeys(loadStackConfig("dev"));
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key.replace(/^k3s-ha:/, ""), value]),
  );
}

function problemsOf(raw: Raw, options: ValidateOptions = {}): string[] {
  try {
    validateClusterConfig(raw, {}, options);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

function hosts(raw: Raw, list: "servers" | "agents" | "lbHosts"): Host[] {
  return (raw[list] as Host[]).map((h) => ({ ...h }));
}

/** A stack's config as the engine hands it to the program: every value a string (JSON for structure). */
function engineValues(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

function argsProblems(values: Record<string, string>, stack = "dev"): string[] {
  try {
    argsFromStack(values, () => undefined, stack);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

const TOLERANCE =
  "1 server tolerates 0 failures, 2 tolerate 0, 3 tolerate 1, 4 tolerate 1, 5 tolerate 2";

describe("stack-file mistakes (issue 17)", () => {
  describe("hosts without a pinned host key", () => {
    const how = (stack: string, them = "them") =>
      `pin ${them} with \`npm run hostkeys -- --stack ${stack}\` (scans the hosts, shows each fingerprint and asks before writing), or set sshTrustAnyHostKey: true to accept any host key knowingly`;

    it("get one message naming every host and the stack's own hostkeys command", () => {
      expect(argsProblems(engineValues(loadStackConfig("dev")), "dev")).to.deep.equal([
        "hostKey: missing for 8 hosts (server-1, server-2, server-3, agent-1, agent-2, agent-3, lb-1, lb-2): " +
          "without a pinned host key SSH accepts any key, and a machine in the middle would receive the cluster token; " +
          how("dev"),
      ]);
    });

    it("name the one host and its field when only one is unpinned", () => {
      const raw = dev();
      const servers = hosts(raw, "servers");
      delete servers[1].hostKey;
      expect(problemsOf({ ...raw, servers }, { stack: "prod" })).to.deep.equal([
        "servers[1].hostKey: missing for server-2: without a pinned host key SSH accepts any key, and a machine in the middle would receive the cluster token; " +
          how("prod", "it"),
      ]);
    });

    it("tell a program passing K3sHaClusterArgs to set hostKey, not to run a stack tool", () => {
      const raw = dev();
      const agents = hosts(raw, "agents");
      delete agents[0].hostKey;
      expect(problemsOf({ ...raw, agents }, { paths: "args" })).to.deep.equal([
        "agents[0].hostKey: missing for agent-1: without a pinned host key SSH accepts any key, and a machine in the middle would receive the cluster token; " +
          "set each host's hostKey to its public key as in known_hosts (checked against the fingerprint the host itself shows), or set ssh.trustAnyHostKey: true to accept any host key knowingly",
      ]);
    });
  });

  describe("a host key pasted as a known_hosts line", () => {
    const key = fakeHostKey("server-1");
    const withKey = (hostKey: string, sshPort?: number): Raw => {
      const raw = dev();
      const servers = hosts(raw, "servers");
      servers[0].hostKey = hostKey;
      return { ...raw, servers, ...(sshPort !== undefined && { sshPort }) };
    };
    const pinnedKey = (raw: Raw) => validateClusterConfig(raw).servers[0].hostKey;

    /** The line ssh-keygen -H makes of `line` (OpenSSH's own hashing, not ours). */
    function hashed(line: string): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-known-hosts-"));
      try {
        const file = path.join(dir, "known_hosts");
        fs.writeFileSync(file, `${line}\n`);
        execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
        return fs.readFileSync(file, "utf8").trim();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }

    it("is taken when its host part names the host: plain, in a list, with a comment", () => {
      expect(pinnedKey(withKey(`10.10.10.50 ${key}`))).to.equal(key);
      expect(pinnedKey(withKey(`server-1,10.10.10.50 ${key} root@server-1`))).to.equal(key);
    });

    it("is taken in the [host]:port form when the port is the stack's sshPort", () => {
      expect(pinnedKey(withKey(`[10.10.10.50]:2222 ${key}`, 2222))).to.equal(key);
      expect(problemsOf(withKey(`[10.10.10.50]:2222 ${key}`))).to.deep.equal([
        "servers[0].hostKey: is a known_hosts line for [10.10.10.50]:2222, not 10.10.10.50: pin 10.10.10.50's own key (npm run hostkeys, or the line `ssh-keygen -F 10.10.10.50` prints), never another host's",
      ]);
    });

    it("is taken hashed (ssh-keygen -H) when the hash is of the host's address", () => {
      expect(pinnedKey(withKey(hashed(`10.10.10.50 ${key}`)))).to.equal(key);
      expect(pinnedKey(withKey(hashed(`[10.10.10.50]:2222 ${key}`), 2222))).to.equal(key);
    });

    it("is refused, never taken, for another host", () => {
      expect(problemsOf(withKey(`192.168.10.11 ${key}`))).to.deep.equal([
        "servers[0].hostKey: is a known_hosts line for 192.168.10.11, not 10.10.10.50: pin 10.10.10.50's own key (npm run hostkeys, or the line `ssh-keygen -F 10.10.10.50` prints), never another host's",
      ]);
      expect(problemsOf(withKey(hashed(`10.10.10.51 ${key}`)))).to.deep.equal([
        "servers[0].hostKey: is a known_hosts line for a hashed host name that is not 10.10.10.50: pin 10.10.10.50's own key (npm run hostkeys, or the line `ssh-keygen -F 10.10.10.50` prints), never another host's",
      ]);
      expect(problemsOf(withKey(`10.10.10.* ${key}`))).to.have.length(1);
      expect(problemsOf(withKey(`@revoked 10.10.10.50 ${key}`))).to.deep.equal([
        "servers[0].hostKey: is a known_hosts line marked @revoked, not a host's own key; put the host's public key here (\"ssh-ed25519 AAAA...\")",
      ]);
    });

    it("is checked against the bastion's host and port", () => {
      const raw = { ...dev(), sshBastion: { host: "jump.example.com", port: 2200 } };
      const bastion = (hostKey: string) => ({ ...raw, sshBastion: { ...raw.sshBastion, hostKey } });
      expect(
        validateClusterConfig(bastion(`[jump.example.com]:2200 ${key}`)).ssh.bastion,
      ).to.include({ hostKey: key });
      expect(problemsOf(bastion(`jump.example.com ${key}`))).to.deep.equal([
        "sshBastion.hostKey: is a known_hosts line for jump.example.com, not [jump.example.com]:2200: pin [jump.example.com]:2200's own key (npm run hostkeys, or the line `ssh-keygen -F [jump.example.com]:2200` prints), never another host's",
      ]);
    });
  });

  describe("server count", () => {
    const twoServers = (extra: Record<string, unknown> = {}): Raw => {
      const raw = dev();
      return { ...raw, servers: hosts(raw, "servers").slice(0, 2), ...extra };
    };

    it("refuses 2 servers, saying what 1 to 5 servers tolerate and how to opt in", () => {
      expect(problemsOf(twoServers())).to.deep.equal([
        `servers: 2 servers tolerate no server failure, and either one down stops the cluster (twice as often as 1); use 3 servers (${TOLERANCE}), or 1, or set allowTwoServers: true to run 2 knowingly (e.g. while a server is replaced)`,
      ]);
    });

    it("takes 2 servers with allowTwoServers: true, with a warning", () => {
      expect(validateClusterConfig(twoServers({ allowTwoServers: true })).warnings).to.deep.equal([
        `servers: 2 servers tolerate no server failure, and either one down stops the cluster (twice as often as 1); use 3 (${TOLERANCE})`,
      ]);
      expect(validateClusterConfig(twoServers({ allowTwoServers: "true" })).servers).to.have.length(
        2,
      );
      expect(problemsOf(twoServers({ allowTwoServers: "yes" }))).to.include(
        'allowTwoServers: expected true or false, got "yes"',
      );
      expect(validateClusterConfig({ ...dev(), allowTwoServers: true }).warnings).to.deep.equal([]);
    });
  });

  describe("a load-balancer host on a server's address", () => {
    it("says both need port 6443 there and what to do with fewer machines", () => {
      const raw = dev();
      const lbHosts = hosts(raw, "lbHosts");
      lbHosts[0].address = "10.10.10.50";
      expect(problemsOf({ ...raw, lbHosts })).to.deep.equal([
        'lbHosts[0].address: "10.10.10.50" is also servers[0].address: a load balancer cannot run on a K3s server, since both listen on port 6443 there ' +
          "(the load balancer for the API, K3s's API server itself); put the load balancer on another machine " +
          "(with one machine to spare, lbKind: nginx on it), or, with none, use a VIP the servers hold themselves " +
          "(kube-vip, which this program does not set up)",
      ]);
    });

    it("keeps the plain duplicate message for an agent's address", () => {
      const raw = dev();
      const lbHosts = hosts(raw, "lbHosts");
      lbHosts[1].address = "10.10.10.101";
      expect(problemsOf({ ...raw, lbHosts })).to.deep.equal([
        'lbHosts[1].address: "10.10.10.101" duplicates agents[0].address',
      ]);
    });
  });

  describe("keys outside the k3s-ha namespace", () => {
    const pinned = () => engineValues(withPinnedHostKeys(loadStackConfig("dev")));

    it("reads a key without a namespace as the project's, as the Pulumi CLI does", () => {
      const values = pinned();
      delete values["k3s-ha:sshUser"];
      values.sshUser = "ubuntu";
      expect(rawConfigFrom(values).sshUser).to.equal("ubuntu");
      const args = argsFromStack(values, () => undefined, "dev");
      expect(args.ssh?.user).to.equal("ubuntu");
    });

    it("refuses a key written both with and without the namespace", () => {
      const values = { ...pinned(), sshUser: "ubuntu" };
      expect(argsProblems(values)).to.deep.equal([
        "sshUser: set twice, as sshUser and k3s-ha:sshUser (a key without a namespace is the project's); keep one",
      ]);
    });

    it("refuses a misspelt namespace, and leaves other packages' config alone", () => {
      const values = { ...pinned(), "k3sha:agentBatchSize": "2", "aws:region": "eu-central-1" };
      expect(argsProblems(values)).to.deep.equal([
        "k3sha:agentBatchSize: the namespace k3sha is not this project's (k3s-ha), so the program would never read the key; write k3s-ha:agentBatchSize (or agentBatchSize)",
      ]);
    });

    it("names an unknown key of the project and the key it likely meant", () => {
      expect(argsProblems({ ...pinned(), "k3s-ha:sshUsr": "ubuntu" })).to.deep.equal([
        'sshUsr: unknown key (did you mean "sshUser"?)',
      ]);
    });
  });
});
