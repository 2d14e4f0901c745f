/**
 * Under mocks: what LB changes touch (docs/day2.md explains the disruption), and extraTlsSans,
 * which lets the servers' certificate carry a new registration address before the move.
 */
import { expect } from "chai";
import { parse } from "yaml";
import { ConfigError } from "../../components/config/errors";
import { validateClusterConfig } from "../../components/cluster/validate";
import { dependsOn } from "../../harness/program/graph";
import { ProgramRun, runProgram } from "../../harness/program/mocks";
import { stdinOf } from "../../harness/program/queries";
import { fakeHostKey, loadStackConfig, withPinnedHostKeys } from "../../harness/program/stacks";
import { SECRET_KEYS, devStack, diffRuns, hostRecordNames } from "./runs";

const SERVERS = ["server-1", "server-2", "server-3"];
const AGENTS = ["agent-1", "agent-2", "agent-3"];
const tlsSan = (run: ProgramRun, server: string) =>
  (parse(stdinOf(run, `${server}-config`)) as { "tls-san": string[] })["tls-san"];
const agentServer = (run: ProgramRun, agent: string) =>
  (parse(stdinOf(run, `${agent}-config`)) as { server: string }).server;

describe("day 2 under mocks: load-balancer changes", function () {
  this.timeout(180_000);
  let baseline: ProgramRun;
  before(async () => {
    baseline = await runProgram(devStack(), SECRET_KEYS, "lbchange");
  });

  describe("extraTlsSans", () => {
    const raw = (extra: unknown) => ({
      ...Object.fromEntries(
        Object.entries(withPinnedHostKeys(loadStackConfig("dev"))).map(([k, v]) => [
          k.split(":")[1],
          v,
        ]),
      ),
      extraTlsSans: extra,
    });

    it("accepts IP addresses and DNS names, and names what is neither", () => {
      const ok = validateClusterConfig(raw(["10.10.10.200", "k8s.example.com", "fd00::10"]));
      expect(ok.k3s.extraTlsSans).to.deep.equal(["10.10.10.200", "k8s.example.com", "fd00::10"]);
      let error: ConfigError | undefined;
      try {
        validateClusterConfig(raw(["Bad_Name", 7]));
      } catch (err) {
        error = err as ConfigError;
      }
      expect(error?.problems).to.deep.equal([
        'extraTlsSans[0]: "Bad_Name" is neither an IP address nor a DNS name: it contains "B" (only lowercase letters, digits, "-" and ".")',
        "extraTlsSans[1]: expected an IP address or DNS name, got 7",
      ]);
    });

    it("adds the names to every server's tls-san after the registration address, restarting servers in turn", async () => {
      const after = await runProgram(
        devStack({ "k3s-ha:extraTlsSans": ["10.10.10.200"] }),
        SECRET_KEYS,
        "lbchange",
      );
      for (const s of SERVERS)
        expect(tlsSan(after, s)).to.deep.equal(["10.10.10.100", "10.10.10.200"]);
      expect(diffRuns(baseline, after).changed).to.deep.equal(
        SERVERS.flatMap((s) => [`${s}-config`, `${s}-install`]).sort(),
      );
    });

    it("keeps the listed order when the names hold the registration address, so a later move restarts no server", async () => {
      const both = ["10.10.10.200", "10.10.10.100"];
      const listed = await runProgram(
        devStack({ "k3s-ha:extraTlsSans": both }),
        SECRET_KEYS,
        "lbchange",
      );
      const moved = await runProgram(
        devStack({ "k3s-ha:extraTlsSans": both, "k3s-ha:vip": "10.10.10.200/24" }),
        SECRET_KEYS,
        "lbchange",
      );
      for (const s of SERVERS) {
        expect(tlsSan(listed, s)).to.deep.equal(both);
        expect(tlsSan(moved, s)).to.deep.equal(both);
      }
      const changed = diffRuns(listed, moved).changed;
      for (const s of SERVERS)
        expect(changed, s).to.not.include.members([`${s}-config`, `${s}-install`]);
    });
  });

  it("moving the VIP rewrites KeepAlived on both LB hosts, tls-san, every agent's server, and re-probes", async () => {
    const after = await runProgram(
      devStack({ "k3s-ha:vip": "10.10.10.200/24" }),
      SECRET_KEYS,
      "lbchange",
    );
    expect(diffRuns(baseline, after).changed).to.deep.equal(
      [
        "lb-lb-1-keepalived",
        // It re-runs with every change of lb-1's keepalived.conf, in case the change held it.
        "lb-lb-1-keepalived-resume",
        "lb-lb-2-keepalived",
        "registration-gate",
        ...SERVERS.flatMap((s) => [`${s}-config`, `${s}-install`, `${s}-membership`]),
        ...AGENTS.flatMap((a) => [`${a}-config`, `${a}-install`, `${a}-membership`]),
      ].sort(),
    );
    for (const a of AGENTS) expect(agentServer(after, a)).to.equal("https://10.10.10.200:6443");
    // Agents restart against the new address only after every server restarted with the new SAN.
    for (const a of AGENTS)
      expect(dependsOn(after, `${a}-install`, "server-3-install")).to.equal(true);
  });

  it("switching haproxy to nginx replaces the LB tier and re-points servers and agents", async () => {
    const nginx: Record<string, unknown> = {
      ...devStack(),
      "k3s-ha:lbKind": "nginx",
      "k3s-ha:lbHosts": [{ name: "lb-3", address: "10.10.10.97", hostKey: fakeHostKey("lb-3") }],
    };
    delete nginx["k3s-ha:vip"];
    delete nginx["k3s-ha:vrrpInterface"];
    delete nginx["k3s-ha:vrrpRouterId"];
    const after = await runProgram(nginx, SECRET_KEYS, "lbchange");
    const diff = diffRuns(baseline, after);
    expect(diff.added).to.deep.equal(
      ["lb", "lb-nginx", "lb-supervise", ...hostRecordNames("lb-3", "10.10.10.97")].sort(),
    );
    expect(diff.removed).to.include.members([
      "lb",
      "lb-lb-1-haproxy",
      "lb-lb-1-keepalived",
      "lb-lb-1-keepalived-resume",
      "lb-lb-2-haproxy",
      "lb-lb-2-keepalived",
    ]);
    for (const s of SERVERS) expect(tlsSan(after, s)).to.deep.equal(["10.10.10.97"]);
    for (const a of AGENTS) expect(agentServer(after, a)).to.equal("https://10.10.10.97:6443");
  });

  it("replacing an LB host under a new name touches no other host; the gate re-probes", async () => {
    const hosts = loadStackConfig("dev")["k3s-ha:lbHosts"] as object[];
    const after = await runProgram(
      devStack({
        "k3s-ha:lbHosts": [hosts[0], { name: "lb-3", address: "10.10.10.97", priority: 100 }],
      }),
      SECRET_KEYS,
      "lbchange",
    );
    const diff = diffRuns(baseline, after);
    expect(diff.added).to.deep.equal(
      [
        "lb-lb-3-haproxy",
        "lb-lb-3-keepalived",
        "lb-lb-3-keepalived-check",
        "lb-lb-3-supervise",
        ...hostRecordNames("lb-3", "10.10.10.97"),
      ].sort(),
    );
    expect(diff.removed).to.deep.equal(
      [
        "lb-lb-2-haproxy",
        "lb-lb-2-keepalived",
        "lb-lb-2-keepalived-check",
        "lb-lb-2-supervise",
        ...hostRecordNames("lb-2", "10.10.10.99"),
      ].sort(),
    );
    // With multicast VRRP lb-1's KeepAlived does not name its peer (with vrrpUnicast it would).
    expect(diff.changed).to.deep.equal(["registration-gate"]);
  });
});
