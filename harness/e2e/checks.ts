/**
 * Assertions the e2e tests share: a configured cluster, clean hosts, step order, secrets; for day
 * 2: K3s kept on every host, membership as the datastore records it, agents joined, versions, load.
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
  AgentRecord,
  ServerRecord,
  agentHeartbeats,
  clusterNodes,
  curlFrom,
  etcdMemberNodes,
  exists,
  failedStartsOf,
  fileMode,
  hostAddresses,
  joinsOf,
  runningDaemons,
  runningVersion,
  standInRecord,
  uninstallsOf,
} from "./inspect";
import { LoadSummary } from "./load";
import { Variant } from "./stack";

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

  for (const name of SERVERS) {
    const host = lab.host(name);
    const record = standInRecord<ServerRecord>(host);
    expect(record.role, `${name} runs a K3s server stand-in`).to.equal("server");
    expect(record.tlsSans, `${name}'s tls-san`).to.include(registration);
    expect(record.servingSans, `${name}'s certificate`).to.include(registration);
    expect(record.install?.env.INSTALL_K3S_EXEC, `${name}'s INSTALL_K3S_EXEC`).to.match(
      /^server\b/,
    );
    expect(record.install?.env.INSTALL_K3S_VERSION).to.equal(record.version);
    if (name === "server-1") {
      expect(record.join, "server-1 starts the cluster").to.equal(null);
      expect(record.config["cluster-init"]).to.equal(true);
    } else {
      expect(record.join?.server, `${name} joined server-1 directly`).to.equal(server1Url);
      expect(record.join?.bootstrapFrom).to.equal("server-1");
    }
  }
  const bootstrapped = joinsOf(lab.host("server-1"))
    .filter((j) => j.kind === "server")
    .map((j) => j.node);
  expect(bootstrapped, "server-1 bootstrapped servers 2 and 3").to.include.members([
    "server-2",
    "server-3",
  ]);

  for (const name of AGENTS) {
    const record = standInRecord<AgentRecord>(lab.host(name));
    expect(record.role, `${name} runs a K3s agent stand-in`).to.equal("agent");
    expect(record.config.server, `${name}'s config names the registration address`).to.equal(
      registrationUrl,
    );
    expect(record.join.server, `${name} joined through the registration address`).to.equal(
      registrationUrl,
    );
    expect(record.join.pingVerifiedTls, `${name} verified the LB's certificate`).to.equal(true);
    expect(record.install?.env.INSTALL_K3S_EXEC).to.match(/^agent\b/);
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

  // The kubeconfig output points at the registration address and works from an agent host.
  const kubeconfig = (evaluation.outputs.kubeconfig as { secret: string }).secret;
  expect(evaluation.outputs.kubeconfig, "kubeconfig is a secret output").to.have.property("secret");
  const doc = parse(kubeconfig) as { clusters: { cluster: { server: string } }[] };
  expect(doc.clusters[0].cluster.server).to.equal(registrationUrl);
  const agent = lab.host("agent-1");
  fs.writeFileSync(agent.hostPath("/tmp/kubeconfig"), kubeconfig, { mode: 0o600 });
  const nodes = await agent.exec("env", [
    "KUBECONFIG=/tmp/kubeconfig",
    "k3s",
    "kubectl",
    "get",
    "nodes",
    "-o",
    'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
  ]);
  fs.rmSync(agent.hostPath("/tmp/kubeconfig"));
  expect(nodes.trim().split("\n").sort()).to.deep.equal(
    [...SERVERS, ...AGENTS].map((n) => `${n}=True`).sort(),
  );
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
    "/var/lib/rancher/k3s/stand-in-record.json",
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
 * None of these K3s hosts lost K3s since `sinceMs`: the stand-in's uninstall never ran and no start
 * of its service failed (both recorded in the host's stand-in history, which uninstalls keep).
 */
export function expectK3sKept(lab: E2eLab, names: readonly K3sNodeName[], sinceMs: number): void {
  for (const name of names) {
    const host = lab.host(name);
    expect(uninstallsOf(host, sinceMs), `${name} ran a K3s uninstall script`).to.deep.equal([]);
    expect(
      failedStartsOf(host, sinceMs).map((e) => e.error),
      `${name}: failed starts of the K3s stand-in`,
    ).to.deep.equal([]);
  }
}

/**
 * The datastore lists exactly these nodes, every one Ready, and exactly these servers as etcd
 * members: what the program's commands left, as the stand-ins recorded them.
 */
export function expectMembership(
  lab: E2eLab,
  want: { servers: readonly ServerName[]; agents: readonly AgentName[] },
): void {
  const nodes = clusterNodes(lab);
  expect(
    nodes.map((n) => n.name),
    "node objects",
  ).to.deep.equal([...want.servers, ...want.agents].sort());
  for (const n of nodes) expect(n.ready, `${n.name} is Ready`).to.equal("True");
  expect(etcdMemberNodes(lab), "etcd members").to.deep.equal([...want.servers].sort());
}

/**
 * Each agent still runs its stand-in, joined: no failed start since `sinceMs`, its node Ready, and
 * its status updates reached a server within the last `freshMs`.
 */
export async function expectAgentsJoined(
  lab: E2eLab,
  agents: readonly AgentName[],
  sinceMs: number,
  freshMs = 10_000,
): Promise<void> {
  const nodes = clusterNodes(lab);
  for (const name of agents) {
    const host = lab.host(name);
    const running = await runningVersion(host);
    expect(running.service, `${name} runs the K3s agent stand-in`).to.equal("k3s-agent");
    expect(
      failedStartsOf(host, sinceMs).map((e) => e.error),
      `${name}: failed starts`,
    ).to.deep.equal([]);
    expect(nodes.find((n) => n.name === name)?.ready, `${name}'s node is Ready`).to.equal("True");
    // A freshly started agent writes its first status file within one heartbeat period.
    let beats = agentHeartbeats(host);
    for (let waited = 0; beats === null && waited < freshMs; waited += 200) {
      await sleep(200);
      beats = agentHeartbeats(host);
    }
    expect(beats, `${name} reports its status updates`).to.not.equal(null);
    expect(beats?.deleted, `${name}'s node object was deleted under it`).to.equal(false);
    const age = beats?.lastOkAt ? Date.now() - Date.parse(beats.lastOkAt) : Infinity;
    expect(age, `${name}'s last status update reached a server (ms ago)`).to.be.at.most(freshMs);
  }
}

/** The binary on disk and the running process of each host are `version`. */
export async function expectRunningVersions(
  lab: E2eLab,
  names: readonly K3sNodeName[],
  version: string,
): Promise<void> {
  for (const name of names) {
    const v = await runningVersion(lab.host(name));
    expect(v, `${name}'s K3s stand-in`).to.deep.include({ binary: version, process: version });
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
