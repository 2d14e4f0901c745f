/**
 * Assertions the e2e tests share: a configured cluster, clean hosts, step order, secrets; for day
 * 2: K3s kept (or uninstalled) on every host, membership as the cluster's API lists it, agents
 * joined, versions, load. Each reads the hosts' state (inspect.ts): files, units, processes,
 * systemd's journal, what a client sees, the K3s API; none reads a stand-in's record.
 */
import { expect } from "chai";
import { createHash } from "crypto";
import * as fs from "fs";
import { parse } from "yaml";
import { KEEPALIVED_SCRIPT_USER } from "../../components/lb/haproxy-pair/keepalivedConf";
import { supervisionDropInPath } from "../../components/lb/supervision";
import { sleep } from "../shared/sh";
import {
  AGENTS,
  AgentName,
  HOST_ADDRESSES,
  K3sNodeName,
  LB_HOSTS,
  SERVERS,
  ServerName,
  VIP,
} from "./constants";
import { Evaluation, StepRecord } from "./executor";
import { E2eHost } from "./host";
import { E2eLab } from "./lab";
import {
  K3S_AGENT_CA,
  K3S_BINARY,
  K3S_CONFIG_DIR,
  K3S_DATA_DIR,
  K3S_SERVER_CA,
  K3sUnit,
  bornAtMs,
  clusterNodes,
  curlFrom,
  curlVerified,
  etcdMemberNodes,
  etcdMembers,
  exists,
  fileMode,
  fileText,
  hostAddresses,
  installedFiles,
  k3sConfig,
  k3sFailures,
  k3sPids,
  k3sProcess,
  k3sStarts,
  runningDaemons,
  runningVersion,
  servedSans,
  unitExecStart,
  unitJournal,
  unitStatus,
} from "./inspect";
import { LoadSummary } from "./load";
import { Variant, stackVersion } from "./stack";

export function stepNamed(evaluation: Evaluation, name: string): StepRecord {
  const step = evaluation.steps.find((s) => s.name === name);
  expect(step, `step ${name} ran`).to.not.equal(undefined);
  return step!;
}

/** Step a ended before step b started. */
export function expectBefore(evaluation: Evaluation, a: string, b: string): void {
  const first = stepNamed(evaluation, a);
  const second = stepNamed(evaluation, b);
  expect(first.endedAt, `${a} ends before ${b} starts`).to.be.at.most(second.startedAt);
}

export function registrationAddressOf(variant: Variant): string {
  return variant === "haproxy" ? VIP : HOST_ADDRESSES["lb-1"];
}

/** What test 1 (and 2, 4, 7) prove about a finished up. */
export async function expectConfiguredCluster(
  lab: E2eLab,
  evaluation: Evaluation,
  variant: Variant,
): Promise<void> {
  expect(evaluation.errors, "no step failed").to.deep.equal([]);
  const registration = registrationAddressOf(variant);
  const registrationUrl = `https://${registration}:6443`;
  const server1Url = `https://${HOST_ADDRESSES["server-1"]}:6443`;

  // Order the hosts saw: servers one at a time, the gate before every agent.
  expectBefore(evaluation, "server-1-install", "server-2-install");
  expectBefore(evaluation, "server-2-install", "server-3-install");
  for (const agent of AGENTS) {
    expectBefore(evaluation, "registration-gate", `${agent}-install`);
    for (const server of SERVERS) expectBefore(evaluation, `${server}-install`, `${agent}-install`);
  }

  // What runs on each node: the installer's unit for the role, its main process running the
  // stack's version, the configuration the program wrote.
  const version = stackVersion(variant);
  const clusterCa = fileText(lab.host("server-1"), K3S_SERVER_CA);
  for (const name of SERVERS) {
    const host = lab.host(name);
    await expectK3sRunning(host, "k3s", version);
    const config = k3sConfig(host);
    expect(config["tls-san"], `${name}'s tls-san`).to.include(registration);
    // What a client sees: the certificate this server serves names the registration address.
    expect(await servedSans(lab.host("agent-1"), host.address), `${name}'s certificate`).to.include(
      `IP:${registration}`,
    );
    if (name === "server-1") {
      expect(config.server, "server-1 starts the cluster").to.equal(undefined);
      expect(config["cluster-init"]).to.equal(true);
    } else {
      expect(config.server, `${name} joins server-1 directly`).to.equal(server1Url);
      // It bootstrapped from the cluster: it serves the cluster's CA, not one of its own.
      expect(fileText(host, K3S_SERVER_CA), `${name}'s server CA is server-1's`).to.equal(
        clusterCa,
      );
      expect(await curlFrom(lab.host("agent-1"), `https://${host.address}:6443/cacerts`)).to.equal(
        clusterCa,
      );
    }
  }
  expect(
    await etcdMemberNodes(lab),
    "etcd members: server-1 and the servers that joined it",
  ).to.deep.equal([...SERVERS].sort());

  const apiNodes = new Map((await clusterNodes(lab)).map((n) => [n.name, n]));
  for (const name of AGENTS) {
    const host = lab.host(name);
    await expectK3sRunning(host, "k3s-agent", version);
    expect(k3sConfig(host).server, `${name}'s config names the registration address`).to.equal(
      registrationUrl,
    );
    expect(
      flagValue(apiNodes.get(name)?.nodeArgs ?? [], "--server"),
      `${name}'s K3s started with the registration address (its node's k3s.io/node-args)`,
    ).to.equal(registrationUrl);
    // The CA the agent trusts is the cluster's, and it verifies the load balancer's certificate.
    expect(fileText(host, K3S_AGENT_CA), `${name} trusts server-1's CA`).to.equal(clusterCa);
    expect(
      await curlVerified(host, `${registrationUrl}/ping`, K3S_AGENT_CA),
      `${name} verifies the registration address's certificate`,
    ).to.equal("pong");
  }

  // The registration address answers /ping from an agent host, through the load balancer.
  expect(await curlFrom(lab.host("agent-1"), `${registrationUrl}/ping`)).to.equal("pong");

  if (variant === "haproxy") {
    const holders: string[] = [];
    for (const lb of LB_HOSTS) {
      const host = lab.host(lb);
      expect(host.pids("haproxy"), `haproxy runs on ${lb}`).to.have.length.greaterThan(0);
      expect(host.pids("keepalived"), `keepalived runs on ${lb}`).to.have.length.greaterThan(0);
      if ((await hostAddresses(host)).includes(VIP)) holders.push(lb);
      expect(await scriptUserEntry(host), `${lb} has the check script's user`).to.match(
        /:\/nonexistent:\/usr\/sbin\/nologin$/,
      );
    }
    expect(holders, "exactly one LB host holds the VIP").to.have.length(1);
    // One LB host at a time: every lb-2 step after every lb-1 step.
    for (const one of LB_STEPS) {
      for (const two of LB_STEPS) expectBefore(evaluation, `lb-lb-1-${one}`, `lb-lb-2-${two}`);
    }
  } else {
    expect(lab.host("lb-1").pids("nginx"), "nginx runs on lb-1").to.have.length.greaterThan(0);
  }

  await expectKubeconfigWorks(lab, evaluation, registrationUrl, [...SERVERS, ...AGENTS]);
}

/**
 * The kubeconfig output points at the registration address and works from an agent host: the
 * API it reaches lists exactly these nodes, every one Ready.
 */
export async function expectKubeconfigWorks(
  lab: E2eLab,
  evaluation: Evaluation,
  registrationUrl: string,
  nodeNames: readonly string[],
): Promise<void> {
  const kubeconfig = (evaluation.outputs.kubeconfig as { secret: string }).secret;
  expect(evaluation.outputs.kubeconfig, "kubeconfig is a secret output").to.have.property("secret");
  const doc = parse(kubeconfig) as { clusters: { cluster: { server: string } }[] };
  expect(doc.clusters[0].cluster.server).to.equal(registrationUrl);
  const agent = lab.host("agent-1");
  fs.writeFileSync(agent.hostPath("/tmp/kubeconfig"), kubeconfig, { mode: 0o600 });
  const nodes = await agent
    .exec("env", [
      "KUBECONFIG=/tmp/kubeconfig",
      "k3s",
      "kubectl",
      "get",
      "nodes",
      "-o",
      'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
    ])
    .finally(() => fs.rmSync(agent.hostPath("/tmp/kubeconfig")));
  expect(nodes.trim().split("\n").sort()).to.deep.equal(nodeNames.map((n) => `${n}=True`).sort());
}

/** The value after `name` in an argument list ("--server", "https://..."), or undefined. */
export function flagValue(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

/**
 * The host runs K3s as the installer sets it up for `unit`: its unit file starts `k3s server` (or
 * `agent`), enabled and active (a Type=notify unit: its main process said it is ready), the main
 * process runs that command from the binary on disk, and both are `version`.
 */
export async function expectK3sRunning(
  host: E2eHost,
  unit: K3sUnit,
  version: string,
): Promise<void> {
  const command = unit === "k3s" ? "server" : "agent";
  expect(unitExecStart(host, unit)?.slice(0, 2), `${host.name}'s ${unit}.service`).to.deep.equal([
    K3S_BINARY,
    command,
  ]);
  const status = await unitStatus(host, unit);
  expect(status, `${host.name}'s ${unit} unit`).to.deep.include({
    activeState: "active",
    unitFileState: "enabled",
  });
  const running = await k3sProcess(host);
  expect(running?.argv.slice(0, 2), `${host.name}'s K3s process`).to.deep.equal([
    K3S_BINARY,
    command,
  ]);
  expect(await runningVersion(host), `${host.name}'s K3s`).to.deep.equal({
    binary: version,
    process: version,
    service: unit,
  });
}

/** The steps of each host of the HAProxy + KeepAlived pair (lb-<host>-<step>). */
export const LB_STEPS = ["haproxy", "keepalived-check", "keepalived", "supervise"] as const;

/** The passwd entry of the user KeepAlived runs the check script as on `host` ("" if none). */
export async function scriptUserEntry(host: E2eHost): Promise<string> {
  const out = await host.exec("getent", ["passwd", KEEPALIVED_SCRIPT_USER], {
    allowFailure: true,
  });
  return out.trim();
}

/** Token and kubeconfig files are 0600 wherever they exist. */
export function expectPrivateSecretFiles(lab: E2eLab): void {
  const files = [
    "/etc/rancher/k3s/cluster-token",
    "/etc/rancher/k3s/agent-token",
    "/etc/rancher/k3s/k3s.yaml",
    "/var/lib/rancher/k3s/server/token",
    "/var/lib/rancher/k3s/server/agent-token",
  ];
  let checked = 0;
  for (const name of [...SERVERS, ...AGENTS]) {
    const host = lab.host(name);
    for (const file of files) {
      if (!exists(host, file)) continue;
      checked++;
      expect(fileMode(host, file), `${name}:${file}`).to.equal("0600");
    }
  }
  expect(checked, "secret files checked").to.be.greaterThan(SERVERS.length * 3);
}

/** Distribution files the lab hosts start with: what a delete must put back. */
function sha(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** How long a stopped daemon may take to exit after the step that stopped it returned. */
export const DAEMON_EXIT_GRACE_MS = 5_000;

/** What test 5 proves after every delete ran: no K3s, no LB config, no daemons, no VIP. */
export async function expectCleanHosts(lab: E2eLab): Promise<void> {
  for (const name of [...SERVERS, ...AGENTS, ...LB_HOSTS]) {
    const host = lab.host(name);
    // Debian's keepalived init script signals the daemon and returns; it exits within a moment.
    const deadline = Date.now() + DAEMON_EXIT_GRACE_MS;
    while (runningDaemons(host).length > 0 && Date.now() < deadline) await sleep(100);
    expect(runningDaemons(host), `daemons left on ${name}`).to.deep.equal([]);
    for (const p of [
      "/usr/local/bin/k3s",
      "/usr/local/bin/kubectl",
      "/usr/local/bin/k3s-killall.sh",
      "/usr/local/bin/k3s-uninstall.sh",
      "/usr/local/bin/k3s-agent-uninstall.sh",
      "/etc/init.d/k3s",
      "/etc/init.d/k3s-agent",
      "/usr/local/bin/crictl",
      "/usr/local/bin/ctr",
      "/etc/systemd/system/k3s.service",
      "/etc/systemd/system/k3s.service.env",
      "/etc/systemd/system/k3s-agent.service",
      "/etc/systemd/system/k3s-agent.service.env",
      "/etc/systemd/system/multi-user.target.wants/k3s.service",
      "/etc/systemd/system/multi-user.target.wants/k3s-agent.service",
      "/etc/rancher/k3s",
      "/var/lib/rancher/k3s",
      "/etc/keepalived/keepalived.conf",
      "/etc/keepalived/check_haproxy.sh",
      "/etc/haproxy/haproxy.cfg.k3s-ha.orig",
      "/etc/nginx/nginx.conf.k3s-ha.orig",
      ...(["keepalived", "haproxy", "nginx"] as const).map(supervisionDropInPath),
    ]) {
      expect(exists(host, p), `${name}:${p} is gone`).to.equal(false);
    }
    const stateDir = host.hostPath("/var/lib/k3s-ha");
    const leftovers = fs.existsSync(stateDir) ? fs.readdirSync(stateDir) : [];
    expect(leftovers, `${name}: the program's state files are gone`).to.deep.equal([]);
    // The distribution's own files are back, byte for byte.
    for (const file of ["/etc/haproxy/haproxy.cfg", "/etc/nginx/nginx.conf"]) {
      expect(sha(host.hostPath(file)), `${name}:${file} is the distribution's`).to.equal(sha(file));
    }
    if (LB_HOSTS.includes(name as (typeof LB_HOSTS)[number])) {
      expect(await hostAddresses(host), `${name} holds no VIP`).to.not.include(VIP);
      // The program created it, so its delete removed it.
      expect(await scriptUserEntry(host), `${name}: the check script's user is gone`).to.equal("");
    }
  }
}

/** The secrets a run handles: tokens (full and password part), the admin credential, the SSH key. */
export function secretsOf(lab: E2eLab, configured: string[] = []): string[] {
  const server1 = lab.host("server-1");
  const full = fs
    .readFileSync(server1.hostPath("/var/lib/rancher/k3s/server/token"), "utf8")
    .trim();
  const admin = fs
    .readFileSync(server1.hostPath("/var/lib/rancher/k3s/server/admin-token"), "utf8")
    .trim();
  const keyLines = fs
    .readFileSync(lab.clientKeyPath, "utf8")
    .split("\n")
    .filter((l) => l.length >= 40 && !l.startsWith("-----"));
  const secrets = [full, full.split("::server:")[1], admin, ...keyLines, ...configured];
  expect(keyLines, "the key has body lines to look for").to.have.length.greaterThan(0);
  return secrets;
}

/** No secret in any sampled argument list or environment, nor in any non-secret step's output. */
export function expectNoLeakedSecrets(
  evaluations: Evaluation[],
  sampler: { containing(s: string): string[]; samples: number },
  secrets: string[],
): void {
  expect(sampler.samples, "the sampler ran").to.be.greaterThan(10);
  for (const secret of secrets) {
    const hint = `${secret.slice(0, 4)}…(${secret.length} chars)`;
    expect(
      sampler.containing(secret),
      `a process's argv or environment held ${hint}`,
    ).to.deep.equal([]);
    for (const evaluation of evaluations) {
      for (const step of evaluation.steps) {
        const shown = step.secret
          ? [step.stderr, step.error ?? ""]
          : [step.stdout, step.stderr, step.error ?? ""];
        for (const text of shown) {
          expect(text.includes(secret), `${step.name}'s recorded output held ${hint}`).to.equal(
            false,
          );
        }
      }
      for (const e of evaluation.errors)
        expect(e.includes(secret), `an error held ${hint}`).to.equal(false);
    }
  }
}

// ---- day 2 ------------------------------------------------------------------------------------

/**
 * None of these K3s hosts lost K3s since `sinceMs`: the installer's binary, unit and uninstall
 * script are there and the unit is active; K3s's data directory is older than `sinceMs` (an
 * uninstall removes it, so an uninstall followed by an install leaves a newer one); and systemd
 * recorded no failure of a K3s unit since (a main process that exited failing, a start job that
 * failed).
 */
export async function expectK3sKept(
  lab: E2eLab,
  names: readonly K3sNodeName[],
  sinceMs: number,
): Promise<void> {
  for (const name of names) {
    const host = lab.host(name);
    const unit: K3sUnit = name.startsWith("server") ? "k3s" : "k3s-agent";
    const files = installedFiles(unit);
    for (const p of [K3S_BINARY, files.unit, files.uninstall]) {
      expect(exists(host, p), `${name}:${p} (an uninstall removes it)`).to.equal(true);
    }
    expect((await unitStatus(host, unit)).activeState, `${name}'s ${unit}`).to.equal("active");
    const born = bornAtMs(host, K3S_DATA_DIR) ?? Infinity;
    expect(
      born < sinceMs,
      `${name}:${K3S_DATA_DIR} made ${new Date(born).toISOString()}, after the edit began ` +
        `(${new Date(sinceMs).toISOString()}): K3s was uninstalled and installed again`,
    ).to.equal(true);
  }
  await expectNoK3sFailure(lab, names, sinceMs);
}

/** systemd recorded no failure of a K3s unit on these hosts since `sinceMs`. */
export async function expectNoK3sFailure(
  lab: E2eLab,
  names: readonly K3sNodeName[],
  sinceMs: number,
): Promise<void> {
  for (const name of names) {
    expect(
      await k3sFailures(lab.host(name), sinceMs),
      `${name}: failures of K3s's unit`,
    ).to.deep.equal([]);
  }
}

/**
 * What an uninstall leaves on a host: no binary, unit, env file, killall or uninstall script, K3s
 * data or config; systemd no longer knows the unit; no K3s process.
 */
export async function expectK3sUninstalled(lab: E2eLab, name: K3sNodeName): Promise<void> {
  const host = lab.host(name);
  const unit: K3sUnit = name.startsWith("server") ? "k3s" : "k3s-agent";
  const files = installedFiles(unit);
  for (const p of [
    K3S_BINARY,
    files.unit,
    files.env,
    files.uninstall,
    files.killall,
    `/etc/systemd/system/multi-user.target.wants/${unit}.service`,
    K3S_DATA_DIR,
    K3S_CONFIG_DIR,
  ]) {
    expect(exists(host, p), `${name}:${p} is gone`).to.equal(false);
  }
  expect((await unitStatus(host, unit)).loadState, `${name}: systemd forgot ${unit}`).to.equal(
    "not-found",
  );
  expect(k3sPids(host), `${name}: K3s processes`).to.deep.equal([]);
}

/** No K3s unit on these hosts was stopped, started or restarted since `sinceMs` (the journal). */
export async function expectNoK3sRestart(
  lab: E2eLab,
  names: readonly K3sNodeName[],
  sinceMs: number,
): Promise<void> {
  for (const name of names) {
    const host = lab.host(name);
    const unit: K3sUnit = name.startsWith("server") ? "k3s" : "k3s-agent";
    const records = (await unitJournal(host, unit, sinceMs))
      .filter((r) => r.kind !== "log")
      .map((r) => r.message);
    expect(records, `${name}: systemd's records of ${unit} since the edit`).to.deep.equal([]);
  }
}

/**
 * The cluster's API lists exactly these nodes, every one Ready, and exactly these servers as etcd
 * members (/db/info), asked on the first of them: what the program's commands left.
 */
export async function expectMembership(
  lab: E2eLab,
  want: { servers: readonly ServerName[]; agents: readonly AgentName[] },
): Promise<void> {
  const via = want.servers[0];
  const nodes = await clusterNodes(lab, via);
  expect(
    nodes.map((n) => n.name),
    "node objects",
  ).to.deep.equal([...want.servers, ...want.agents].sort());
  for (const n of nodes) expect(n.ready, `${n.name} is Ready`).to.equal("True");
  const members = await etcdMembers(lab, via);
  expect(members.map((m) => m.node).sort(), "etcd members").to.deep.equal([...want.servers].sort());
  expect(
    members.filter((m) => m.isLearner).map((m) => m.node),
    "etcd members that do not vote yet",
  ).to.deep.equal([]);
}

/**
 * Longest an agent's start may take to report ready. An agent whose token the cluster refuses
 * tries again every 2 s and stays activating: 6 s is three refusals; a start takes about 1 s in
 * the lab under the day-2 client load (at most 1.4 s seen).
 */
export const AGENT_READY_BOUND_MS = 6_000;

/**
 * Each agent still runs K3s, joined: its unit active, no failure of it and no start slower than
 * AGENT_READY_BOUND_MS since `sinceMs` (an agent whose token the cluster refuses keeps trying and
 * stays activating), its node Ready, and its status updates reaching a server now (its node's
 * last heartbeat moves on within `freshMs`).
 */
export async function expectAgentsJoined(
  lab: E2eLab,
  agents: readonly AgentName[],
  sinceMs: number,
  freshMs = 10_000,
  via: ServerName = "server-1",
): Promise<void> {
  for (const name of agents) {
    const host = lab.host(name);
    const running = await k3sProcess(host);
    expect(
      { unit: running?.unit, state: running?.activeState },
      `${name} runs the K3s agent`,
    ).to.deep.equal({ unit: "k3s-agent", state: "active" });
    expect(await k3sFailures(host, sinceMs), `${name}: failures of K3s's unit`).to.deep.equal([]);
    for (const start of await k3sStarts(host, sinceMs)) {
      expect(
        start.startedAt - start.startingAt,
        `${name}: ms from starting K3s to ready (${new Date(start.startedAt).toISOString()})`,
      ).to.be.at.most(AGENT_READY_BOUND_MS);
    }
  }
  const first = new Map((await clusterNodes(lab, via)).map((n) => [n.name, n]));
  for (const name of agents) {
    expect(first.get(name)?.ready, `${name}'s node is Ready`).to.equal("True");
  }
  // Status updates: each agent's node heartbeat moves on (the agent posts every few seconds).
  const deadline = Date.now() + freshMs;
  let stale = [...agents];
  while (stale.length > 0 && Date.now() < deadline) {
    await sleep(1_000);
    const now = new Map((await clusterNodes(lab, via)).map((n) => [n.name, n]));
    stale = stale.filter(
      (a) => (now.get(a)?.lastHeartbeatMs ?? 0) <= (first.get(a)?.lastHeartbeatMs ?? 0),
    );
  }
  expect(stale, `agents whose status updates reached no server in ${freshMs} ms`).to.deep.equal([]);
}

/** The binary on disk and the running process of each host are `version`. */
export async function expectRunningVersions(
  lab: E2eLab,
  names: readonly K3sNodeName[],
  version: string,
): Promise<void> {
  for (const name of names) {
    const v = await runningVersion(lab.host(name));
    expect(v, `${name}'s K3s`).to.deep.include({ binary: version, process: version });
  }
}

/** The registration address answered throughout: at most `maxFailed` failed new connections. */
export function expectLoadAnswered(summary: LoadSummary, maxFailed = 0): void {
  expect(summary.attempted, "the load made connections").to.be.greaterThan(0);
  expect(
    { failed: summary.failed, causes: summary.causes },
    `failed new connections of ${summary.attempted}`,
  ).to.satisfy((x: { failed: number }) => x.failed <= maxFailed);
}
