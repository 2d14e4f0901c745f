/**
 * Day 2 end to end: from a converged cluster, one stack edit per scenario, applied by the e2e
 * executor (the engine model over real SSH, harness/e2e/executor.ts) to lab hosts whose K3s servers and
 * agents are STAND-INS (e2e/stand-in/), while the LB lab's client load runs through the
 * registration address. Each scenario checks what the issue asks of a day-2 edit: no step with a
 * `delete` replaced (preview and run), no node lost K3s unless the edit removed it (its binary,
 * unit and data directory, systemd's record of the unit; a removed node: everything an uninstall
 * removes gone), etcd members and nodes as the edit asks (as the cluster's API lists them), agents
 * still joined, the failed client connections, and a following run with no edit that runs
 * nothing. With DAY2_RESULTS set, the figures go to that file (npm run bench:day2).
 */
import { expect } from "chai";
import {
  BASE_VERSION,
  DAY2_VERSIONS,
  HOST_ADDRESSES,
  K3sNodeName,
  LB_HOSTS,
  OPTIONAL_SERVERS,
  ROTATE_VERSION,
  SERVERS,
  SUBNET,
  ServerName,
  VIP,
} from "../../harness/e2e/constants";
import {
  expectBefore,
  expectAgentsJoined,
  expectK3sKept,
  expectK3sUninstalled,
  expectKubeconfigWorks,
  expectMembership,
  expectNoK3sFailure,
  expectNoK3sRestart,
  expectRunningVersions,
  flagValue,
} from "../../harness/e2e/checks";
import { Evaluation, up } from "../../harness/e2e/executor";
import { clusterNodes, fileText, hostAddresses, k3sConfig } from "../../harness/e2e/inspect";
import {
  expectProxy,
  expectRegistries,
  expectRestartedInOrder,
} from "../../harness/e2e/nodeSettingsChecks";
import { haproxyServers } from "../../harness/e2e/faults";
import { keepJournalsOfFailures } from "../../harness/e2e/journals";
import { E2eLab } from "../../harness/e2e/lab";
import { E2eLoad, LoadSummary, Target } from "../../harness/e2e/load";
import { LabStackOptions, labStack, stackNodes } from "../../harness/e2e/stack";
import { PlannedChange } from "../../harness/engine/plan";
import { reveal } from "../../harness/program/mocks";
import { waitFor } from "../../harness/shared/sh";
import { Day2Result, writeDay2Results } from "../../bench/day2/results";

const STACK = "day2";
const TOKEN_1 = "day2-server-token-first-7c1d";
const TOKEN_2 = "day2-server-token-second-90ab";
const AGENT_TOKEN_1 = "day2-agent-token-first-3e55";
const AGENT_TOKEN_2 = "day2-agent-token-second-b812";

/** A resource whose deletion changes a host: a Command with a `delete`, or a container. */
function destructive(c: PlannedChange): boolean {
  const hasDelete = (inputs?: Record<string, unknown>) =>
    typeof reveal(inputs?.delete) === "string";
  return hasDelete(c.oldInputs) || hasDelete(c.newInputs) || c.type.startsWith("docker:");
}

/** Host steps (the no-op host records are left out) with this operation. */
const count = (changes: PlannedChange[], op: PlannedChange["op"]) =>
  changes.filter((c) => c.type === "command:remote:Command" && c.op === op).length;

/** A registry mirror and a proxy in the lab: no connection goes to either (the stand-ins pull nothing). */
const LAB_REGISTRY = "https://registry.lab.invalid:5000";
const LAB_REGISTRIES = {
  mirrors: { "docker.io": { endpoint: [LAB_REGISTRY] } },
  configs: {
    "registry.lab.invalid:5000": { tls: { ca_file: "/etc/ssl/certs/ca-certificates.crt" } },
  },
};
const LAB_REGISTRY_CREDENTIALS =
  "registry.lab.invalid:5000:\n  username: puller\n  password: day2-pull-password\n";
/** The mirror is in the lab's subnet: the installer's downloads must bypass the proxy. */
const LAB_PROXY = {
  httpsProxy: "http://proxy.lab.invalid:3128",
  noProxy: [`${SUBNET}.0/24`],
};

const vipTarget: Target = { host: VIP, port: 6443 };
const lb1Target: Target = { host: HOST_ADDRESSES["lb-1"], port: 6443 };

interface Scenario {
  name: string;
  /** The edit: the stack options after it. */
  edit: (before: LabStackOptions) => LabStackOptions;
  /** Nodes the edit removes (their K3s is uninstalled; every other node keeps it). */
  removed?: K3sNodeName[];
  /**
   * Where the client load goes during the run (default: the registration address before it), and
   * the failed new connections tolerated there (default: 1% of those made, since a K3s restart
   * resets the connections it holds at that moment; Infinity: measured only). The table reports
   * every figure.
   */
  loads?: { target: Target; maxFailed?: number }[];
  /** The SSH key the hosts accept after the run (a key rotation retires the old one). */
  after?: (lab: E2eLab) => void;
  /** Sets the hosts up before the load starts (e.g. a tier as an earlier release left it). */
  prepare?: (lab: E2eLab) => Promise<void>;
  /** Scenario-specific checks after the run. */
  check?: (lab: E2eLab, run: Evaluation, since: number) => Promise<void> | void;
  timeoutMs: number;
}

function registrationTarget(opts: LabStackOptions): Target {
  return (opts.lbKind ?? opts.variant) === "haproxy" ? vipTarget : lb1Target;
}

/**
 * A connection change (key, pins): every step re-ran over the new connection and no K3s was
 * stopped or started (systemd's journal of each unit).
 */
async function expectEveryStepRanRestartingNothing(
  l: E2eLab,
  run: Evaluation,
  since: number,
): Promise<void> {
  expect(run.steps.length, "steps re-run over the new connection").to.be.greaterThan(20);
  const nodes = stackNodes(labStack(l, current));
  await expectNoK3sRestart(l, [...nodes.servers, ...nodes.agents], since);
}

const SCENARIOS: Scenario[] = [
  {
    name: "upgrade k3sVersion (v1.27.3+k3s1 → v1.27.7+k3s1)",
    edit: (o) => ({ ...o, k3sVersion: ROTATE_VERSION }),
    check: async (lab, _run, _since) => {
      const nodes = [
        ...stackNodes(labStack(lab, current)).servers,
        ...stackNodes(labStack(lab, current)).agents,
      ];
      await expectRunningVersions(lab, nodes, ROTATE_VERSION);
    },
    timeoutMs: 420_000,
  },
  {
    name: "set the server token (rotates server-1's generated one)",
    edit: (o) => ({ ...o, token: TOKEN_1 }),
    timeoutMs: 420_000,
  },
  {
    name: "rotate the server token",
    edit: (o) => ({ ...o, token: TOKEN_2 }),
    timeoutMs: 420_000,
  },
  {
    name: "set the agent token",
    edit: (o) => ({ ...o, agentToken: AGENT_TOKEN_1 }),
    timeoutMs: 420_000,
  },
  {
    name: "rotate the agent token",
    edit: (o) => ({ ...o, agentToken: AGENT_TOKEN_2 }),
    timeoutMs: 420_000,
  },
  {
    name: "add an agent (agent-4)",
    edit: (o) => ({ ...o, agents: ["agent-1", "agent-2", "agent-3", "agent-4"] }),
    timeoutMs: 300_000,
  },
  {
    name: "remove an agent (agent-4)",
    edit: (o) => ({ ...o, agents: ["agent-1", "agent-2", "agent-3"] }),
    removed: ["agent-4"],
    timeoutMs: 300_000,
  },
  {
    name: "add a server (server-4; the LB backends change)",
    edit: (o) => ({ ...o, servers: ["server-1", "server-2", "server-3", "server-4"] }),
    timeoutMs: 420_000,
  },
  {
    name: "remove a server (server-4; the LB backends change)",
    edit: (o) => ({ ...o, servers: ["server-1", "server-2", "server-3"] }),
    removed: ["server-4"],
    timeoutMs: 420_000,
  },
  {
    name: "change labels and taints",
    edit: (o) => ({
      ...o,
      labels: { "agent-1": { "example.com/pool": "blue" } },
      taints: { "agent-3": ["dedicated=batch:NoSchedule"] },
    }),
    check: async (lab) => {
      // What the program wrote for K3s, and what the restarted K3s took (its node's node-args;
      // labels also reach the node object: K3s merges node-label at every start).
      expect(k3sConfig(lab.host("agent-1"))["node-label"]).to.deep.equal(["example.com/pool=blue"]);
      expect(k3sConfig(lab.host("agent-3"))["node-taint"]).to.deep.equal([
        "dedicated=batch:NoSchedule",
      ]);
      const nodes = new Map((await clusterNodes(lab)).map((n) => [n.name, n]));
      expect(flagValue(nodes.get("agent-1")?.nodeArgs ?? [], "--node-label")).to.equal(
        "example.com/pool=blue",
      );
      expect(nodes.get("agent-1")?.labels).to.include({ "example.com/pool": "blue" });
      expect(flagValue(nodes.get("agent-3")?.nodeArgs ?? [], "--node-taint")).to.equal(
        "dedicated=batch:NoSchedule",
      );
    },
    timeoutMs: 300_000,
  },
  {
    name: "change extraServerArgs",
    edit: (o) => ({ ...o, extraServerArgs: ["--disable=traefik"] }),
    timeoutMs: 420_000,
  },
  {
    name: "set registries (with credentials) and a proxy: K3s restarts node by node",
    edit: (o) => ({
      ...o,
      registryCredentials: LAB_REGISTRY_CREDENTIALS,
      extra: { ...o.extra, registries: LAB_REGISTRIES, proxy: LAB_PROXY },
    }),
    check: async (lab, run, since) => {
      const { servers, agents } = stackNodes(labStack(lab, current));
      await expectRestartedInOrder(lab, servers, agents, since);
      expectBefore(run, "server-1-install", "server-2-install");
      expectBefore(run, "server-2-install", "server-3-install");
      expectRegistries(lab, [...servers, ...agents], {
        registry: "docker.io",
        hostEntry: `${LAB_REGISTRY}/v2`,
        authFor: new URL(LAB_REGISTRY).host,
      });
      await expectProxy(lab, [...servers, ...agents], {
        httpsProxy: LAB_PROXY.httpsProxy,
        // The VIP is in LAB_PROXY's subnet: not listed again.
        noProxyIncludes: [...LAB_PROXY.noProxy, ".svc", ".cluster.local", "10.42.0.0/16"],
      });
    },
    timeoutMs: 420_000,
  },
  {
    name: "remove registries and the proxy: K3s restarts node by node",
    edit: (o) => ({
      ...o,
      registryCredentials: undefined,
      extra: { ...o.extra, registries: undefined, proxy: undefined },
    }),
    check: async (lab, _run, since) => {
      const { servers, agents } = stackNodes(labStack(lab, current));
      await expectRestartedInOrder(lab, servers, agents, since);
      expectRegistries(lab, [...servers, ...agents], null);
      await expectProxy(lab, [...servers, ...agents], null);
    },
    timeoutMs: 420_000,
  },
  {
    name: "rotate the SSH key",
    edit: (o) => ({ ...o, sshPrivateKeyPath: lab.secondClientKeyPath }),
    after: (l) => l.authorizeOnly([l.secondClientKeyPath]),
    check: (l, run, since) => expectEveryStepRanRestartingNothing(l, run, since),
    timeoutMs: 300_000,
  },
  {
    name: "unpin every host key (sshTrustAnyHostKey: true, as a stack deployed before pinning was required)",
    edit: (o) => ({ ...o, unpinnedHostKeys: true }),
    check: (l, run, since) => expectEveryStepRanRestartingNothing(l, run, since),
    timeoutMs: 300_000,
  },
  {
    name: "pin every host key (what npm run hostkeys writes)",
    edit: (o) => ({ ...o, unpinnedHostKeys: undefined }),
    check: (l, run, since) => expectEveryStepRanRestartingNothing(l, run, since),
    timeoutMs: 300_000,
  },
  {
    name: "add both registration addresses to extraTlsSans (before an lbKind switch)",
    edit: (o) => ({ ...o, extraTlsSans: [VIP, HOST_ADDRESSES["lb-1"]] }),
    timeoutMs: 420_000,
  },
  // Each switch twice, side by side: make before break (the new proxy starts beside the old one on
  // :6443), then the procedure this release falls back to, and earlier releases always used, when
  // the old tier cannot share the port (it is stopped first).
  switchToNginx("make before break"),
  switchToHaproxy("make before break"),
  switchToNginx("break before make"),
  switchToHaproxy("break before make"),
  {
    name: "change vrrpAdvertIntervalMs (250 → 500; after the switch back): the LB hosts only",
    edit: (o) => ({ ...o, extra: { ...o.extra, vrrpAdvertIntervalMs: 500 } }),
    check: async (lab, _run, since) => {
      const { servers, agents } = stackNodes(labStack(lab, current));
      await expectNoK3sRestart(lab, [...servers, ...agents], since);
      for (const lb of LB_HOSTS) {
        expect(fileText(lab.host(lb), "/etc/keepalived/keepalived.conf"), lb).to.match(
          /^\s*advert_int 0\.5$/m,
        );
      }
    },
    timeoutMs: 300_000,
  },
  // Last: every server of the example stack is replaced, one edit at a time (add the new, remove
  // the old), the founding role moving on to the next server each time.
  replaceServer("server-1", "server-4"),
  replaceServer("server-2", "server-5"),
  replaceServer("server-3", "server-6", async (l, run) => {
    const { servers, agents } = stackNodes(labStack(l, current));
    expect(servers, "the stack's servers").to.deep.equal(["server-4", "server-5", "server-6"]);
    for (const old of SERVERS) await expectK3sUninstalled(l, old);
    await expectLbBackends(l, servers);
    await expectKubeconfigWorks(l, run, `https://${VIP}:6443`, [...servers, ...agents]);
  }),
];

type SwitchProcedure = "make before break" | "break before make";

/** What lb-1's step of the new tier says it did: started beside the old tier, or after it. */
const PROCEDURE_LOG: Record<SwitchProcedure, string> = {
  "make before break": "started beside the tier it replaces",
  "break before make": "could not share :6443 with the tier it replaces; stopping that tier first",
};

function expectProcedure(run: Evaluation, procedure: SwitchProcedure): void {
  const lb1 = run.steps.filter((x) => x.host === HOST_ADDRESSES["lb-1"]).map((x) => x.stderr);
  expect(lb1.join("\n"), `lb-1's steps: ${procedure}`).to.include(PROCEDURE_LOG[procedure]);
  const other = procedure === "make before break" ? "break before make" : "make before break";
  expect(lb1.join("\n"), "not the other procedure").to.not.include(PROCEDURE_LOG[other]);
}

/**
 * Sets lb-1's running tier up as one that cannot share :6443 (`sed` over the managed file, then a
 * restart): an Nginx without `reuseport`, as releases up to 0.3 wrote it, or an HAProxy with
 * `noreuseport`. The new tier's start then fails to bind, and the old tier is stopped first.
 */
async function unsharePort(lab: E2eLab, tier: "haproxy" | "nginx"): Promise<void> {
  const host = lab.host("lb-1");
  const edit =
    tier === "nginx"
      ? ["-i", "s/ reuseport;/;/", "/etc/nginx/nginx.conf"]
      : ["-i", "s/^global$/global\\n  noreuseport/", "/etc/haproxy/haproxy.cfg"];
  await host.exec("sed", edit);
  await host.exec("systemctl", ["restart", tier]);
}

function switchToNginx(procedure: SwitchProcedure): Scenario {
  return {
    name: `switch lbKind haproxy → nginx (lb-1), ${procedure}`,
    edit: (o) => ({ ...o, lbKind: "nginx" }),
    ...(procedure === "break before make" && { prepare: (l) => unsharePort(l, "haproxy") }),
    // lb-1:6443 changes proxy under load; the VIP is retired with the old tier at the end of the
    // run (its failures from then on are expected). Measured and reported, not promised.
    loads: [
      { target: lb1Target, maxFailed: Infinity },
      { target: vipTarget, maxFailed: Infinity },
    ],
    check: async (l, run) => {
      expectProcedure(run, procedure);
      const nodes = new Map((await clusterNodes(l)).map((n) => [n.name, n]));
      for (const a of ["agent-1", "agent-2", "agent-3"] as const) {
        const lb1 = `https://${HOST_ADDRESSES["lb-1"]}:6443`;
        expect(k3sConfig(l.host(a)).server, `${a} joins through lb-1 now`).to.equal(lb1);
        expect(
          flagValue(nodes.get(a)?.nodeArgs ?? [], "--server"),
          `${a}'s K3s started with lb-1`,
        ).to.equal(lb1);
      }
      expect(l.host("lb-1").pids("nginx"), "nginx on lb-1").to.not.be.empty;
      for (const lb of LB_HOSTS) {
        expect(l.host(lb).pids("haproxy"), `haproxy on ${lb}`).to.deep.equal([]);
        expect(l.host(lb).pids("keepalived"), `keepalived on ${lb}`).to.deep.equal([]);
        expect(await hostAddresses(l.host(lb)), `${lb} holds no VIP`).to.not.include(VIP);
      }
    },
    timeoutMs: 600_000,
  };
}

function switchToHaproxy(procedure: SwitchProcedure): Scenario {
  return {
    name: `switch lbKind nginx → haproxy (lb-1, lb-2 and the VIP), ${procedure}`,
    edit: (o) => ({ ...o, lbKind: undefined }),
    ...(procedure === "break before make" && { prepare: (l) => unsharePort(l, "nginx") }),
    loads: [
      { target: vipTarget, maxFailed: Infinity },
      { target: lb1Target, maxFailed: Infinity },
    ],
    check: async (l, run) => {
      expectProcedure(run, procedure);
      expect(l.host("lb-1").pids("nginx"), "nginx on lb-1").to.deep.equal([]);
      const holders: string[] = [];
      for (const lb of LB_HOSTS) {
        expect(l.host(lb).pids("haproxy"), `haproxy on ${lb}`).to.not.be.empty;
        if ((await hostAddresses(l.host(lb))).includes(VIP)) holders.push(lb);
      }
      expect(holders, "one LB host holds the VIP").to.have.length(1);
    },
    timeoutMs: 600_000,
  };
}

/**
 * The edit that replaces `old` by `added` (added last in the servers list), under the client load
 * through the VIP; the LB backends follow in the same run.
 */
function replaceServer(old: ServerName, added: ServerName, check?: Scenario["check"]): Scenario {
  return {
    name: `replace a server: add ${added}, remove ${old}`,
    edit: (o) => ({
      ...o,
      servers: [...(o.servers ?? [...SERVERS]).filter((s) => s !== old), added],
    }),
    removed: [old],
    check: async (l, run, since) => {
      const { servers, agents } = stackNodes(labStack(l, current));
      await expectLbBackends(l, servers);
      // The other server that stays sees only server: change in its config.yaml (write-file.sh);
      // the new first server restarts: its token goes from the CA-pinned join token to the stack's
      // own (or, with none configured, K3s's generated one).
      const others = servers.filter((s) => s !== added && s !== servers[0]);
      await expectNoK3sRestart(l, [...others, ...agents], since);
      await check?.(l, run, since);
    },
    timeoutMs: 600_000,
  };
}

/** haproxy.cfg on each LB host, and the server list HAProxy runs with, are exactly these servers. */
async function expectLbBackends(l: E2eLab, servers: readonly ServerName[]): Promise<void> {
  const want = servers.map((s) => `${s} ${HOST_ADDRESSES[s]}:6443`).sort();
  for (const lb of LB_HOSTS) {
    const cfg = fileText(l.host(lb), "/etc/haproxy/haproxy.cfg");
    const listed = [...cfg.matchAll(/^\s*server\s+(\S+)\s+(\S+)\s/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(listed.sort(), `${lb}: haproxy.cfg's servers`).to.deep.equal(want);
    expect(await haproxyServers(l.host(lb)), `${lb}: HAProxy's running servers`).to.deep.equal(
      [...servers].sort(),
    );
  }
}

const lab = new E2eLab();
let current: LabStackOptions = { variant: "haproxy", k3sVersion: BASE_VERSION };

async function run(opts: LabStackOptions, label: string): Promise<Evaluation> {
  const stack = labStack(lab, opts);
  const evaluation = await up(stack.config, { stack: STACK, secretKeys: stack.secretKeys });
  console.log(
    `    ${label}: ${evaluation.steps.length} steps, ${evaluation.deletes.length} deletes, errors: ${evaluation.errors.length}`,
  );
  return evaluation;
}

/**
 * The longest stretch in which every new connection failed: from the first failed one's start to
 * the start of the next one that succeeded (or the last one's end).
 */
function longestOutage(summary: LoadSummary): number {
  const conns = [...summary.raw.conns].sort((a, b) => a[0] - b[0]);
  let longest = 0;
  let from: number | undefined;
  for (const c of conns) {
    if (!c[2]) from ??= c[0];
    else if (from !== undefined) {
      longest = Math.max(longest, c[0] - from);
      from = undefined;
    }
  }
  if (from !== undefined && conns.length > 0)
    longest = Math.max(longest, conns[conns.length - 1][1] - from);
  return longest;
}

/** For each stretch of failed connections, the steps that were running then (for the log). */
function failureContext(summary: LoadSummary, run: Evaluation, target: string): string[] {
  const times = [...summary.failedAt].sort((a, b) => a - b);
  const stretches: [number, number][] = [];
  for (const t of times) {
    const last = stretches[stretches.length - 1];
    if (last && t - last[1] < 500) last[1] = t;
    else stretches.push([t, t]);
  }
  const steps = [...run.steps, ...run.deletes];
  return stretches.map(([from, to]) => {
    const during = steps
      .filter((x) => x.startedAt <= to + 100 && x.endedAt >= from - 100)
      .map((x) => `${x.op === "delete" ? "delete " : ""}${x.name}`);
    const n = times.filter((t) => t >= from && t <= to).length;
    return `${target}: ${n} failed in ${((to - from) / 1000).toFixed(1)} s while ${during.join(", ") || "no step ran"}`;
  });
}

/** What a run did to each host: updated, replaced, created and deleted resources. */
function counts(evaluation: Evaluation) {
  return {
    updated: count(evaluation.changes, "update"),
    replaced: count(evaluation.changes, "replace"),
    created: count(evaluation.changes, "create"),
    deleted: count(evaluation.changes, "delete"),
  };
}

describe("e2e day 2: one edit at a time on a converged cluster, under client load", function () {
  this.timeout(900_000);
  const results: Day2Result[] = [];
  let removeSignals = () => {};

  keepJournalsOfFailures(lab);

  before(async function () {
    await lab.up(DAY2_VERSIONS, OPTIONAL_SERVERS);
    removeSignals = lab.teardownOnSignals();
    const fresh = await run(current, "fresh up");
    expect(fresh.errors).to.deep.equal([]);
    const again = await run(current, "no edit");
    expect(again.steps.length + again.deletes.length, "a run with no edit runs nothing").to.equal(
      0,
    );
  });

  after(async function () {
    removeSignals();
    if (process.env.DAY2_RESULTS) writeDay2Results(process.env.DAY2_RESULTS, results);
    await lab.down();
  });

  for (const s of SCENARIOS) {
    it(s.name, async function () {
      this.timeout(s.timeoutMs);
      const before = current;
      const next = s.edit(before);
      const nodes = stackNodes(labStack(lab, next));
      const planned = s.loads ?? [{ target: registrationTarget(before) }];
      const targets = planned.map((l) => l.target);
      await s.prepare?.(lab);
      const since = Date.now();
      // The cluster CA the client trusts, from a server the cluster has before the edit.
      const caFrom = stackNodes(labStack(lab, before)).servers[0];
      const loads = await Promise.all(
        targets.map((t) => E2eLoad.start(lab, { targets: [t], caFrom })),
      );
      const t0 = Date.now();
      const evaluation = await run(next, s.name);
      const wallMs = Date.now() - t0;
      const summaries: LoadSummary[] = await Promise.all(loads.map((l) => l.stop()));
      expect(evaluation.errors, "errors").to.deep.equal([]);
      current = next;

      const replacedPlanned = (evaluation.plan?.changes ?? []).filter(
        (c) => c.op === "replace" && destructive(c),
      );
      const replacedRan = evaluation.changes.filter((c) => c.op === "replace" && destructive(c));
      expect(
        replacedPlanned.map((c) => c.name),
        "the preview replaces a step with a delete",
      ).to.deep.equal([]);
      expect(
        replacedRan.map((c) => c.name),
        "the run replaced a step with a delete",
      ).to.deep.equal([]);

      const was = stackNodes(labStack(lab, before));
      const after = [...nodes.servers, ...nodes.agents];
      const kept = after.filter((n) => [...was.servers, ...was.agents].includes(n));
      await expectK3sKept(lab, kept, since);
      // A node the edit adds is installed now: no failure of its K3s either.
      await expectNoK3sFailure(lab, after, since);
      for (const name of s.removed ?? []) await expectK3sUninstalled(lab, name);
      await expectMembership(lab, {
        servers: nodes.servers,
        agents: nodes.agents,
      });
      await expectAgentsJoined(lab, nodes.agents, since, undefined, nodes.servers[0]);
      await s.check?.(lab, evaluation, since);
      for (const [i, summary] of summaries.entries()) {
        for (const line of failureContext(summary, evaluation, targets[i].host))
          console.log(`      ${line}`);
        const bound = planned[i].maxFailed ?? Math.ceil(summary.attempted / 100);
        expect(summary.attempted, `load on ${targets[i].host}`).to.be.greaterThan(0);
        if (Number.isFinite(bound)) {
          expect(
            summary.failed,
            `failed new connections to ${targets[i].host} (${JSON.stringify(summary.causes)})`,
          ).to.be.at.most(bound);
        }
      }
      s.after?.(lab);

      const again = await run(next, `${s.name}, again with no edit`);
      expect(again.errors).to.deep.equal([]);
      expect(
        [...again.steps, ...again.deletes].map((r) => r.name),
        "a run with no edit runs nothing",
      ).to.deep.equal([]);

      results.push({
        scenario: s.name,
        ...counts(evaluation),
        wallSeconds: Math.round(wallMs / 100) / 10,
        load: summaries.map((x, i) => ({
          target: `${targets[i].host}:${targets[i].port}`,
          failed: x.failed,
          attempted: x.attempted,
          causes: x.causes,
          longestOutageMs: longestOutage(x),
          watchesCut: x.watches.cut,
          watchesOpened: x.watches.opened,
        })),
      });
    });
  }

  /**
   * A refused server removal: the run fails with the reason, no host step but the read-only
   * removal check ran, no node's K3s was stopped or started, the cluster is as it was, and the
   * stack as it was converges again.
   */
  async function expectRefused(refused: Evaluation, reason: string, since: number) {
    expect(refused.errors.join("\n"), "the refusal").to.include(reason);
    expect(
      refused.steps.map((x) => `${x.op} ${x.name}`),
      "host steps that ran",
    ).to.deep.equal(["update server-removal-check"]);
    expect(refused.deletes, "deletes").to.deep.equal([]);
    const nodes = stackNodes(labStack(lab, current));
    await expectMembership(lab, nodes);
    await expectNoK3sRestart(lab, [...nodes.servers, ...nodes.agents], since);
  }

  it("refuses, before any host changes, removing two of three servers in one edit", async function () {
    this.timeout(300_000);
    const [first, second, third] = stackNodes(labStack(lab, current)).servers;
    const since = Date.now();
    const refused = await run({ ...current, servers: [first] }, `remove ${second} and ${third}`);
    await expectRefused(
      refused,
      `servers: this run would remove 2 of the 3 servers this stack deployed (${second}, ${third})`,
      since,
    );
    // The check ran with the refused list; the stack as it was re-runs it, then nothing.
    const back = await run(current, "the stack as it was");
    expect(back.errors).to.deep.equal([]);
    expect(back.steps.map((x) => x.name)).to.deep.equal(["server-removal-check"]);
    const again = await run(current, "again with no edit");
    expect([...again.steps, ...again.deletes].map((x) => x.name)).to.deep.equal([]);
  });

  it("refuses, before any host changes, removing a server while another is down", async function () {
    this.timeout(300_000);
    const [first, second, third] = stackNodes(labStack(lab, current)).servers;
    const down = lab.host(second);
    const ready = async (name: string) =>
      (await clusterNodes(lab, first)).find((n) => n.name === name)?.ready === "True";
    await down.exec("systemctl", ["stop", "k3s"]);
    try {
      await waitFor(`${second} not Ready`, async () => !(await ready(second)), 90_000, 1_000);
      const since = Date.now();
      const refused = await run(
        // Two servers are refused unless the stack says it knows (the validation).
        { ...current, servers: [first, second], extra: { allowTwoServers: true } },
        `remove ${third} while ${second} is down`,
      );
      expect(refused.errors.join("\n")).to.include(
        `servers: this run removes ${third} from the cluster, but etcd members that stay are not Ready (${second})`,
      );
      expect(refused.steps.map((x) => `${x.op} ${x.name}`)).to.deep.equal([
        "update server-removal-check",
      ]);
      expect(refused.deletes).to.deep.equal([]);
      const nodes = stackNodes(labStack(lab, current));
      const up = [...nodes.servers, ...nodes.agents].filter((n) => n !== second);
      await expectNoK3sRestart(lab, up, since);
    } finally {
      await down.exec("systemctl", ["start", "k3s"]);
    }
    await waitFor(`${second} Ready again`, () => ready(second), 90_000, 1_000);
    await expectMembership(lab, stackNodes(labStack(lab, current)));
    // A failed step keeps its old state: the stack as it was runs nothing.
    const back = await run(current, `${second} back, the stack as it was`);
    expect(back.errors).to.deep.equal([]);
    expect([...back.steps, ...back.deletes].map((x) => x.name)).to.deep.equal([]);
  });
});
