/**
 * The HAProxy + KeepAlived pair under mocks: one LB host at a time (lb-2 after lb-1, and only once
 * lb-1 serves on its own address), and KeepAlived's check as an unprivileged user.
 */
import { expect } from "chai";
import { KEEPALIVED_SCRIPT_USER } from "../components/lb/haproxy-pair/keepalivedConf";
import { dependsOn } from "../harness/program/graph";
import { ProgramRun, runProgram } from "../harness/program/mocks";
import { commands, hostOf, step, stdinOf } from "../harness/program/queries";
import { unwrapCommandLine } from "../harness/program/scripts";
import { testStackConfig } from "../harness/program/stacks";

const STEPS = ["haproxy", "keepalived-check", "keepalived"];
const lbSteps = (host: string) => STEPS.map((s) => `lb-${host}-${s}`);
const script = (run: ProgramRun, name: string) =>
  unwrapCommandLine(String(step(run, name).inputs.create));
// lb-2's haproxy step, which changes the backends, also checks /ping through lb-1 once a server
// answers; its other steps check that lb-1 answers, and carry no server list (a new server
// changes only haproxy.cfg, so it re-runs only that step).
const PEER = "\npeer='lb-1'\npeer_at='10.10.10.98:6443'\n";
const PEER_CHECK: Record<string, string> = {
  haproxy: `${PEER}peer_servers='10.10.10.50:6443 10.10.10.51:6443 10.10.10.52:6443'\n`,
  "keepalived-check": PEER,
  keepalived: PEER,
};
/** The script's call of lb-lib.sh's peer check, which its parameters feed. */
const PEER_CALL = 'peer_serves_first "$peer" "$peer_at"';

describe("HaproxyLbPair: one LB host at a time", function () {
  this.timeout(120_000);
  let run: ProgramRun;
  before(async () => {
    run = await runProgram(testStackConfig("dev"), [], "lbpair");
  });

  it("runs every lb-2 step after every lb-1 step, and no lb-1 step after an lb-2 step but the KeepAlived resume", () => {
    for (const two of lbSteps("lb-2")) {
      for (const one of lbSteps("lb-1")) {
        expect(dependsOn(run, two, one), `${two} after ${one}`).to.equal(true);
        expect(dependsOn(run, one, two), `${one} after ${two}`).to.equal(false);
      }
    }
  });

  it("holds lb-1's KeepAlived across a VRRP change lb-2 cannot hear, and starts it after every lb-2 step", () => {
    expect(script(run, "lb-lb-1-keepalived")).to.include("\nroll_vip='10.10.10.100:6443'\n");
    expect(script(run, "lb-lb-1-keepalived")).to.include("the other LB host changes next");
    // lb-2 changes last: a plain reload.
    expect(script(run, "lb-lb-2-keepalived")).to.include("\nroll_vip=''\n");
    const resume = "lb-lb-1-keepalived-resume";
    for (const two of lbSteps("lb-2")) {
      expect(dependsOn(run, resume, two), `${resume} after ${two}`).to.equal(true);
    }
    expect(script(run, resume)).to.include("svc start keepalived");
    // It re-runs whenever lb-1's keepalived.conf changes (a change that may have held it).
    expect(script(run, resume).split("\n")[0]).to.match(
      /^# k3s-ha re-runs this step when these change: keepalived.conf sha256:[0-9a-f]{16}$/,
    );
  });

  it("starts each of lb-2's steps by checking that lb-1 serves on its own address, not the VIP", () => {
    for (const s of STEPS) {
      const name = `lb-lb-2-${s}`;
      const text = script(run, name);
      expect(text, name).to.include(PEER_CHECK[s]);
      // before anything else the step does
      expect(text.indexOf(PEER_CALL), name).to.be.greaterThan(0);
      expect(text.indexOf(PEER_CALL), name).to.be.lessThan(text.indexOf("\nensure_packages "));
      expect(text, name).to.not.include("10.10.10.100");
    }
    for (const name of lbSteps("lb-1")) expect(script(run, name), name).to.include("\npeer=''\n");
  });

  it("checks no peer in delete scripts (a destroy removes lb-2 first and needs lb-1 for nothing)", () => {
    for (const name of [...lbSteps("lb-1"), ...lbSteps("lb-2")]) {
      const del = unwrapCommandLine(String(step(run, name).inputs.delete));
      expect(del, name).to.not.include("peer_");
    }
  });

  it("creates the check script's user and names it in keepalived.conf", () => {
    for (const host of ["lb-1", "lb-2"]) {
      const check = script(run, `lb-${host}-keepalived-check`);
      expect(check).to.include(`\nuser='${KEEPALIVED_SCRIPT_USER}'\n`);
      expect(check).to.include(
        'useradd --system --user-group --no-create-home --no-log-init --home-dir /nonexistent --shell /usr/sbin/nologin "$user"',
      );
      expect(stdinOf(run, `lb-${host}-keepalived`)).to.include(
        `\n  script_user ${KEEPALIVED_SCRIPT_USER}\n`,
      );
      expect(script(run, `lb-${host}-keepalived`)).to.include(
        'write_file "$KEEPALIVED_CONF" 0644 keepalived_test',
      );
      expect(script(run, `lb-${host}-keepalived`)).to.include(
        "\nKEEPALIVED_CONF=/etc/keepalived/keepalived.conf\n",
      );
    }
  });

  it("checks unicast adverts' source against the peer in unicast mode only", async () => {
    expect(stdinOf(run, "lb-lb-1-keepalived")).to.not.include("unicast");
    const unicast = await runProgram(
      { ...testStackConfig("dev"), "k3s-ha:vrrpUnicast": true },
      [],
      "lbpair-unicast",
    );
    for (const [host, peer] of [
      ["lb-1", "10.10.10.99"],
      ["lb-2", "10.10.10.98"],
    ]) {
      expect(stdinOf(unicast, `lb-${host}-keepalived`)).to.include(
        `  unicast_peer {\n    ${peer}\n  }\n  # Ignore adverts whose source address is not one of the peers above.\n  check_unicast_src\n`,
      );
    }
  });

  it("names no other LB host in lb-1's scripts: renaming lb-2 changes none of them", async () => {
    const config = testStackConfig("dev");
    const hosts = config["k3s-ha:lbHosts"] as Record<string, unknown>[];
    const renamed = await runProgram(
      { ...config, "k3s-ha:lbHosts": [hosts[0], { ...hosts[1], name: "lb-b" }] },
      [],
      "lbpair-renamed",
    );
    for (const name of [...lbSteps("lb-1"), "lb-lb-1-keepalived-resume", "lb-lb-1-supervise"]) {
      expect(script(renamed, name), name).to.equal(script(run, name));
      expect(stdinOf(renamed, name), name).to.equal(stdinOf(run, name));
    }
  });

  it("the first host in lbHosts goes first, whatever its priority", async () => {
    const config = testStackConfig("dev");
    const hosts = config["k3s-ha:lbHosts"] as Record<string, unknown>[];
    const swapped = await runProgram(
      { ...config, "k3s-ha:lbHosts": [hosts[1], hosts[0]] },
      [],
      "lbpair-swapped",
    );
    expect(dependsOn(swapped, "lb-lb-1-haproxy", "lb-lb-2-keepalived")).to.equal(true);
    expect(dependsOn(swapped, "lb-lb-2-haproxy", "lb-lb-1-keepalived")).to.equal(false);
    expect(script(swapped, "lb-lb-1-haproxy")).to.include(
      "\npeer='lb-2'\npeer_at='10.10.10.99:6443'\n",
    );
  });
});

describe("NginxLb: one host, nothing to order", function () {
  this.timeout(120_000);
  it("configures Nginx on its host without a peer check", async () => {
    const run = await runProgram(testStackConfig("staging"), [], "lbpair-nginx");
    const lb = commands(run).filter((c) => hostOf(c) === "10.10.10.98");
    expect(lb.map((c) => c.name).sort()).to.deep.equal(["lb-nginx", "lb-supervise"]);
    expect(script(run, "lb-nginx")).to.not.include("peer_");
  });
});
