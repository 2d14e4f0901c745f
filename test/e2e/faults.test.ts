/**
 * Faults on hosts like users' hosts, end to end: the program (its rendered scripts over SSH,
 * planned and stepped by the engine model, harness/e2e/executor.ts) against the lab's systemd hosts (every
 * K3s host and lb-1; lb-2 has no init), one lab and one air-gapped HAProxy cluster for the suite:
 * - an air-gapped upgrade restarts K3s: every node's running process (kubeletVersion) is the new
 *   release, and the earlier release's images tarball is gone;
 * - a stopped K3s at the pinned version is started again by the next up that runs its install;
 * - a K3s that never becomes ready fails its install after the program's bound, naming what it
 *   waited for, and the next server is not touched; without the fault the next up converges;
 * - a reload that fails once fails the up; the next up, with no edit, reloads (HAProxy's own
 *   server list, read from its stats socket);
 * - an SSH session cut (and its processes killed) between the file move and the reload: the next
 *   up reloads;
 * - a reboot of a server, an agent and lb-1: every service comes back by itself, and the next up
 *   runs no host step;
 * - a destroy of the air-gapped cluster leaves the hosts clean (the air-gap files and records too).
 * Each test starts from whatever the earlier ones converged to, so one can run alone (--grep).
 * What it checks is what the hosts show (units, systemd's journal, processes and the binaries they
 * run, files) and what the cluster's API lists.
 */
import { expect } from "chai";
import { K3S_READY_TIMEOUT_SECONDS } from "../../components/k3s/scripts";
import { HAPROXY_CFG_PATH } from "../../components/lb/haproxy-pair/scripts";
import {
  AGENTS,
  BASE_VERSION,
  DAY2_VERSIONS,
  K3S_NODES,
  LB_HOSTS,
  ROTATE_VERSION,
  SERVERS,
  ServerName,
  VIP,
} from "../../harness/e2e/constants";
import {
  expectAgentsJoined,
  expectCleanHosts,
  expectMembership,
  expectNoK3sRestart,
  expectRunningVersions,
  registrationAddressOf,
} from "../../harness/e2e/checks";
import { Evaluation, UpOptions, destroy, up } from "../../harness/e2e/executor";
import {
  RELOAD_BLOCKED,
  airgapSetting,
  haproxyServers,
  imagesFileName,
  imagesOn,
  installReloadFault,
  killSshSessions,
  removeReloadFault,
  setFault,
  setNeverReady,
  unitState,
  waitUnitSettled,
} from "../../harness/e2e/faults";
import {
  clusterNodes,
  curlFrom,
  exists,
  fileText,
  hostAddresses,
  k3sConfig,
  k3sProcess,
  k3sStarts,
  runningVersion,
} from "../../harness/e2e/inspect";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { LabStackOptions, labStack, stackNodes } from "../../harness/e2e/stack";
import { SystemdHost } from "../../harness/e2e/systemd-host";
import { waitFor } from "../../harness/shared/sh";

const STACK = "faults";
const lab = new E2eLab();

/** An air-gapped dev stack at `version` (its files on this machine, no download URL). */
async function airgapped(opts: LabStackOptions, version: string): Promise<LabStackOptions> {
  return {
    ...opts,
    k3sVersion: version,
    extra: {
      airgap: await airgapSetting(version),
      installScriptUrl: undefined,
      installScriptSha256: undefined,
      k3sReleasesUrl: undefined,
    },
  };
}

let current: LabStackOptions = { variant: "haproxy" };

async function run(opts: LabStackOptions, label: string, upOpts: UpOptions = {}) {
  const stack = labStack(lab, opts);
  const evaluation = await up(stack.config, {
    stack: STACK,
    secretKeys: stack.secretKeys,
    printPlan: false,
    ...upOpts,
  });
  console.log(
    `    ${label}: ${evaluation.steps.length} steps, ${evaluation.deletes.length} deletes, errors: ${evaluation.errors.length}`,
  );
  return evaluation;
}

/** An up with no edit: every resource "same" in the plan and the run, no host step, no error. */
async function expectSettled(label: string): Promise<Evaluation> {
  const again = await run(current, `${label}, again with no edit`);
  expect(again.errors, `${label}: errors of the up with no edit`).to.deep.equal([]);
  expect(
    [...again.steps, ...again.deletes].map((s) => s.name),
    `${label}: host steps of the up with no edit`,
  ).to.deep.equal([]);
  const ops = (changes: { op: string }[]) => [...new Set(changes.map((c) => c.op))];
  expect(ops(again.plan?.changes ?? []), `${label}: planned operations`).to.deep.equal(["same"]);
  expect(ops(again.changes), `${label}: operations`).to.deep.equal(["same"]);
  return again;
}

const versionOf = (opts: LabStackOptions) => opts.k3sVersion ?? BASE_VERSION;
const serversOf = (opts: LabStackOptions) => stackNodes(labStack(lab, opts)).servers;

/**
 * The edit that changes the LB tier's files: server-4 added when absent, removed when present;
 * the servers HAProxy serves before and after it.
 */
function toggleServer4(opts: LabStackOptions) {
  const before = serversOf(opts);
  const servers: ServerName[] = before.includes("server-4")
    ? [...SERVERS]
    : [...SERVERS, "server-4"];
  const next: LabStackOptions = { ...opts, servers };
  return { before, next, want: serversOf(next) };
}

/** The up after a failed or cut reload converges: lb-1's step reloads, HAProxy serves `want`. */
async function expectReloadConverges(next: LabStackOptions, want: ServerName[], label: string) {
  const converged = await run(next, label);
  expect(converged.errors, "errors").to.deep.equal([]);
  current = next;
  for (const lb of LB_HOSTS) await expectHaproxyServing(lab.host(lb), want, "serves the new list");
  const step = converged.steps.find((s) => s.name === "lb-lb-1-haproxy");
  expect(step?.stderr, "lb-1's HAProxy step").to.include("haproxy: reloaded");
  await expectMembership(lab, { servers: want, agents: AGENTS });
}

/** HAProxy on the host serves exactly these servers (polled: a reload takes a moment). */
async function expectHaproxyServing(
  host: ReturnType<E2eLab["host"]>,
  want: string[],
  what: string,
) {
  const sorted = [...want].sort();
  let seen: string[] = [];
  await waitFor(
    `${host.name}'s HAProxy to serve ${sorted.join(", ")}`,
    async () => {
      seen = await haproxyServers(host).catch(() => []);
      return JSON.stringify(seen) === JSON.stringify(sorted);
    },
    15_000,
    200,
  ).catch(() => undefined);
  expect(seen, `${host.name}: ${what}`).to.deep.equal(sorted);
}

/** `server <name> ` lines of the host's haproxy.cfg. */
function cfgServers(host: ReturnType<E2eLab["host"]>): string[] {
  return [...fileText(host, HAPROXY_CFG_PATH).matchAll(/^\s+server (\S+) /gm)]
    .map((m) => m[1])
    .sort();
}

/** `check` holds within `ms` (a rebooted node's heartbeats take a moment); then asserted once more. */
async function eventually(check: () => unknown, ms: number): Promise<void> {
  await waitFor(
    "the check to hold",
    async () => {
      try {
        await check();
        return true;
      } catch {
        return false;
      }
    },
    ms,
    500,
  ).catch(() => undefined);
  await check();
}

describe("e2e faults on systemd hosts: never-ready K3s, failed and cut reloads, reboots, air-gapped upgrade", function () {
  this.timeout(300_000);
  let removeSignals = () => {};

  keepJournalsOfFailures(lab);

  before(async function () {
    this.timeout(600_000);
    removeSignals = lab.teardownOnSignals();
    await lab.up(DAY2_VERSIONS);
    current = await airgapped({ variant: "haproxy" }, BASE_VERSION);
    const fresh = await run(current, "fresh air-gapped up");
    expect(fresh.errors, "the fresh up").to.deep.equal([]);
  });

  after(async function () {
    removeSignals();
    await lab.down();
  });

  it("an air-gapped upgrade restarts K3s on every node into the new release (its kubeletVersion) and removes the earlier images tarball", async function () {
    const [from, to] = [versionOf(current), ROTATE_VERSION];
    expect(from, "the suite upgrades from the base release").to.equal(BASE_VERSION);
    for (const name of K3S_NODES) {
      expect(imagesOn(lab.host(name)), `${name}'s images before`).to.deep.equal([
        imagesFileName(from),
      ]);
    }
    const since = Date.now();
    const next = await airgapped(current, to);
    const evaluation = await run(next, `air-gapped upgrade ${from} → ${to}`);
    expect(evaluation.errors, "errors").to.deep.equal([]);
    current = next;
    // Per node, all at once (a failure shows every difference): the binary on disk (which
    // `k3s --version` reads), the binary the running process runs and its node's kubeletVersion,
    // the starts since the edit (systemd's journal), the images dir.
    const kubelet = new Map((await clusterNodes(lab)).map((n) => [n.name, n.kubeletVersion]));
    const seen: Record<string, unknown> = {};
    const want: Record<string, unknown> = {};
    for (const name of K3S_NODES) {
      const host = lab.host(name);
      const { binary, process: running } = await runningVersion(host);
      const starts = (await k3sStarts(host, since)).length;
      const images = imagesOn(host);
      seen[name] = { binary, process: running, kubeletVersion: kubelet.get(name), starts, images };
      want[name] = {
        ...{ binary: to, process: to, kubeletVersion: to },
        ...{ starts: 1, images: [imagesFileName(to)] },
      };
    }
    expect(seen, "every node after the air-gapped upgrade").to.deep.equal(want);
    await expectSettled("air-gapped upgrade");
  });

  it("a stopped K3s at the pinned version is started again by the next up that runs its install step", async function () {
    // Without the fix the install step waits the program's bound, then fails: let it say so.
    this.timeout((K3S_READY_TIMEOUT_SECONDS + 120) * 1000);
    const agent = lab.host("agent-2");
    await agent.exec("systemctl", ["stop", "k3s-agent"]);
    expect((await runningVersion(agent)).process, "agent-2's K3s is stopped").to.equal(null);
    const since = Date.now();
    const next: LabStackOptions = {
      ...current,
      labels: { ...current.labels, "agent-2": { "example.com/was-stopped": "yes" } },
    };
    const evaluation = await run(next, "new labels on agent-2, whose K3s is stopped");
    expect(evaluation.errors, "errors").to.deep.equal([]);
    current = next;
    expect(evaluation.steps.map((s) => s.name)).to.include("agent-2-install");
    await expectRunningVersions(lab, ["agent-2"], versionOf(current));
    expect(await k3sStarts(agent, since), "agent-2's K3s started once").to.have.length(1);
    expect(k3sConfig(agent)["node-label"]).to.deep.equal(["example.com/was-stopped=yes"]);
    const node = (await clusterNodes(lab)).find((n) => n.name === "agent-2");
    expect(node?.labels, "the started K3s took the label").to.include({
      "example.com/was-stopped": "yes",
    });
    await expectAgentsJoined(lab, ["agent-2"], since);
    await expectSettled("stopped K3s");
  });

  it(`a K3s that never becomes ready fails its install step after the program's bound (${K3S_READY_TIMEOUT_SECONDS} s), naming what it waited for; the next server is not touched; without the fault the next up converges`, async function () {
    this.timeout((K3S_READY_TIMEOUT_SECONDS + 300) * 1000);
    const [server1, server2, server3] = SERVERS.map((s) => lab.host(s));
    const version = versionOf(current);
    const arg = "--disable=traefik";
    const next: LabStackOptions = { ...current, extraServerArgs: [arg] };
    setNeverReady(server2, true);
    const since = Date.now();
    const failed = await run(next, `extraServerArgs ${arg}, server-2 never ready`);
    const wallMs = Date.now() - since;

    const step = failed.steps.find((s) => s.name === "server-2-install");
    expect(step?.error, "server-2's install failed").to.match(
      /^server-2-install update on \S+ exited 1/,
    );
    expect(failed.errors.join("\n")).to.include("server-2-install update on");
    // What it waited for, in the step's output (the provider's error carries all of it).
    expect(step!.stderr).to.include(
      `gave up after ${K3S_READY_TIMEOUT_SECONDS} s waiting for k3s to restart and report ready`,
    );
    expect(step!.stderr).to.include("k3s did not report ready; systemctl status k3s:");
    expect(step!.endedAt - step!.startedAt, "server-2's install waited the bound").to.be.at.least(
      K3S_READY_TIMEOUT_SECONDS * 1000,
    );
    expect(wallMs, "the failed up ended within the bound + 120 s").to.be.below(
      (K3S_READY_TIMEOUT_SECONDS + 120) * 1000,
    );
    // systemd still waits for READY=1 (TimeoutStartSec=0): only the program's bound ended it.
    expect(await unitState(server2, "k3s"), "server-2's k3s unit").to.equal("activating");
    // server-1 went first and is back; nothing after server-2 was touched.
    expect(await k3sStarts(server1, since), "server-1 restarted").to.have.length(1);
    expect(failed.steps.map((s) => s.name)).to.not.include("server-3-install");
    await expectNoK3sRestart(lab, ["server-3", ...AGENTS], since);
    expect(
      (await k3sProcess(server3))?.argv,
      "server-3's K3s runs without the argument",
    ).to.not.include(arg);
    await expectRunningVersions(lab, ["server-3", ...AGENTS], version);

    setNeverReady(server2, false);
    const again = Date.now();
    const converged = await run(next, "the same edit, the fault gone");
    expect(converged.errors, "errors").to.deep.equal([]);
    current = next;
    expect(converged.steps.map((s) => s.name)).to.include.members([
      "server-2-install",
      "server-3-install",
    ]);
    for (const server of SERVERS) {
      expect((await k3sProcess(lab.host(server)))?.argv, `${server}'s K3s runs with it`).to.include(
        arg,
      );
    }
    await expectNoK3sRestart(lab, ["server-1"], again);
    await expectRunningVersions(lab, [...SERVERS, ...AGENTS], version);
    await expectMembership(lab, { servers: SERVERS, agents: AGENTS });
    await expectSettled("never-ready K3s");
  });

  it("a reload that fails once fails the up; the next up, with no edit, reloads: HAProxy on lb-1 serves the new server list", async function () {
    const lb1 = lab.host("lb-1");
    const { before, next, want } = toggleServer4(current);
    await installReloadFault(lb1, "haproxy");
    try {
      setFault(lb1, "fail-reload", true);
      const failed = await run(next, "server-4 toggled, lb-1's reload fails");
      expect(failed.errors.join("\n")).to.match(/lb-lb-1-haproxy update on \S+ exited 1/);
      expect(cfgServers(lb1), "lb-1's haproxy.cfg on disk").to.deep.equal([...want].sort());
      await expectHaproxyServing(lb1, before, "serves the old list after the failed reload");
      setFault(lb1, "fail-reload", false);
      await expectReloadConverges(next, want, "the same stack, the fault gone");
    } finally {
      await removeReloadFault(lb1, "haproxy");
    }
    await expectSettled("failed reload");
  });

  it("an SSH session cut between the file move and the reload (its processes killed, the reload never run): the next up reloads", async function () {
    const lb1 = lab.host("lb-1");
    const { before, next, want } = toggleServer4(current);
    await installReloadFault(lb1, "haproxy");
    try {
      setFault(lb1, "block-reload", true);
      const cut = await run(next, "server-4 toggled, lb-1's session cut during its reload", {
        interrupt: { step: "lb-lb-1-haproxy", when: () => exists(lb1, RELOAD_BLOCKED) },
      });
      const step = cut.steps.find((s) => s.name === "lb-lb-1-haproxy");
      expect(step?.interrupted, "lb-1's HAProxy step was cut").to.equal(true);
      expect(cut.errors.join("\n")).to.match(/lb-lb-1-haproxy update on \S+ lost its session/);
      // The session dies on the host too, then the reload it started ends without reloading.
      expect(killSshSessions(lb1), "session processes killed on lb-1").to.not.be.empty;
      setFault(lb1, "block-reload", false);
      await waitUnitSettled(lb1, "haproxy.service");
      expect(await unitState(lb1, "haproxy"), "HAProxy still runs").to.equal("active");
      expect(cfgServers(lb1), "lb-1's haproxy.cfg moved into place").to.deep.equal(
        [...want].sort(),
      );
      await expectHaproxyServing(lb1, before, "serves the old list: the reload never ran");
    } finally {
      await removeReloadFault(lb1, "haproxy");
    }

    await expectReloadConverges(next, want, "the same stack after the cut");
    await expectSettled("cut reload");
  });

  it("a reboot of converged hosts (server-1, agent-1, lb-1): every service comes back by itself; the next up runs no host step", async function () {
    const rebooted = ["server-1", "agent-1", "lb-1"] as const;
    const version = versionOf(current);
    const servers = serversOf(current);
    const since = Date.now();
    await Promise.all(rebooted.map((name) => (lab.host(name) as SystemdHost).reboot()));
    const [server1, agent1, lb1] = rebooted.map((name) => lab.host(name));

    expect(await unitState(server1, "k3s"), "server-1's k3s").to.equal("active");
    expect(await unitState(agent1, "k3s-agent"), "agent-1's k3s-agent").to.equal("active");
    for (const daemon of ["haproxy", "keepalived", "ssh"]) {
      expect(await unitState(lb1, daemon), `lb-1's ${daemon}`).to.equal("active");
    }
    await expectRunningVersions(lab, ["server-1", "agent-1"], version);
    expect(await k3sStarts(server1, since), "server-1's K3s started once").to.have.length(1);
    expect(await k3sStarts(agent1, since), "agent-1's K3s started once").to.have.length(1);
    await expectHaproxyServing(lb1, servers, "serves every server after its reboot");
    const holders: string[] = [];
    for (const lb of LB_HOSTS) {
      if ((await hostAddresses(lab.host(lb))).includes(VIP)) holders.push(lb);
    }
    expect(holders, "one LB host holds the VIP").to.have.length(1);
    const url = `https://${registrationAddressOf("haproxy")}:6443/ping`;
    expect(await curlFrom(lab.host("agent-2"), url), "the VIP answers").to.equal("pong");
    await eventually(() => expectMembership(lab, { servers, agents: AGENTS }), 60_000);
    await expectAgentsJoined(lab, AGENTS, since);

    await expectSettled("reboot");
  });

  it("a destroy of the air-gapped cluster leaves the hosts clean: no K3s, no air-gap files or records, the distribution's configs back", async function () {
    const deletes = await destroy(STACK);
    expect(deletes.filter((d) => d.error).map((d) => d.error)).to.deep.equal([]);
    await expectCleanHosts(lab);
  });
});
