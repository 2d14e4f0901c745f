/**
 * The guard: no stack edit, and no upgrade of the program, makes the Pulumi engine replace a step
 * that has a `delete`, or delete one that the edit did not remove. Each edit is planned as the
 * engine plans it (test/support/engine, reading replaceOnChanges, ignoreChanges and
 * deleteBeforeReplace from the registrations themselves) against the state the unedited stack
 * left; each committed registration snapshot of a release (test/fixtures/registrations) stands for
 * a user's stack deployed with that release. A replacement would run the old step's `delete` (for
 * an install step, K3s's uninstall) after the new `create`.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PlannedChange, planRun } from "../../harness/engine/plan";
import { StackState, outputsOnCreate, stateFromRegistrations } from "../../harness/engine/state";
import { MockUp, mockUp } from "../../harness/program/mockDeploy";
import { RecordedResource, StackConfig, fakeStdout, reveal } from "../../harness/program/mocks";
import { loadSnapshots, airgapSetting, snapshotStacks } from "../../harness/program/snapshots";
import { loadStackConfig, testStackConfig, withPinnedHostKeys } from "../../harness/program/stacks";

const TOKEN = "guard-server-token-1";
const AGENT_TOKEN = "guard-agent-token-1";
const SECRET_KEYS = [
  "k3s-ha:token",
  "k3s-ha:agentToken",
  "k3s-ha:serverSecretConfig",
  "k3s-ha:agentSecretConfig",
  "k3s-ha:registryCredentials",
];
const FRAGMENT = "etcd-s3-secret-key: guard-s3-secret\n";
const NEXT_VERSION = "v1.27.7+k3s1";

/** A resource whose deletion changes a host: a Command with a `delete`, or a Docker container. */
function destructive(c: PlannedChange): boolean {
  const hasDelete = (inputs?: Record<string, unknown>) =>
    typeof reveal(inputs?.delete) === "string";
  return (
    hasDelete(c.oldInputs) ||
    hasDelete(c.newInputs) ||
    c.type === "docker:index/container:Container"
  );
}

const names = (changes: PlannedChange[]) => changes.map((c) => c.name).sort();
const replaced = (run: MockUp) =>
  names(run.plan.changes.filter((c) => c.op === "replace" && destructive(c)));
const deleted = (run: MockUp) =>
  names(run.plan.changes.filter((c) => c.op === "delete" && c.custom));

function expectOk(run: MockUp, what: string): void {
  expect(run.result.errors, `${what}: errors`).to.deep.equal([]);
  expect(run.evaluation.programErrors, `${what}: program errors`).to.deep.equal([]);
}

/** A second run with no edit runs nothing. */
async function expectSettled(state: StackState, config: StackConfig, what: string) {
  const again = await mockUp(state, config, { secretKeys: SECRET_KEYS });
  expectOk(again, `${what}, run again`);
  const moving = again.plan.changes.filter((c) => c.op !== "same");
  expect(
    moving.map((c) => `${c.op} ${c.name}`),
    `${what}: a run with no edit`,
  ).to.deep.equal([]);
}

function without(config: StackConfig, ...keys: string[]): StackConfig {
  const copy = { ...config };
  for (const k of keys) delete copy[`k3s-ha:${k}`];
  return copy;
}

function hosts(config: StackConfig, list: string): Record<string, unknown>[] {
  return structuredClone(config[`k3s-ha:${list}`] as Record<string, unknown>[]);
}

function secondKeyFile(): string {
  const file = path.join(os.tmpdir(), `k3sha-guard-key2-${process.pid}`);
  if (!fs.existsSync(file)) {
    fs.writeFileSync(
      file,
      "-----BEGIN OPENSSH PRIVATE KEY-----\nsecond\n-----END OPENSSH PRIVATE KEY-----\n",
      { mode: 0o600 },
    );
    process.once("exit", () => fs.rmSync(file, { force: true }));
  }
  return file;
}

const DEV = testStackConfig("dev");
const keyPath = (c: StackConfig) => ({ "k3s-ha:sshPrivateKeyPath": c["k3s-ha:sshPrivateKeyPath"] });
const DEV_TOKENS = { ...DEV, "k3s-ha:token": TOKEN, "k3s-ha:agentToken": AGENT_TOKEN };
const STAGING = testStackConfig("staging");
const REGISTRIES_AND_PROXY = {
  "k3s-ha:registries": {
    mirrors: { "docker.io": { endpoint: ["https://registry.example.com:5000"] } },
  },
  "k3s-ha:registryCredentials": "registry.example.com:5000:\n  username: u\n  password: p\n",
  "k3s-ha:proxy": { httpsProxy: "http://proxy.example.com:3128", noProxy: ["10.10.10.0/24"] },
};
const STAGING_DOCKER = { ...STAGING, "k3s-ha:nginxMode": "docker" };

interface Edit {
  what: string;
  base: () => StackConfig;
  edit: (base: StackConfig) => StackConfig;
  /** Custom resources the edit removes: the engine deletes exactly these. */
  deletes?: string[];
  /** Destructive resources the edit must replace (delete-before-replace asserted). */
  replaces?: string[];
  /** The edit changes dependencies only: every step stays the same. */
  changesNoStep?: boolean;
}

const recordsOf = (name: string, address: string) => [
  `${name}-host-record`,
  `address-${address}-host-record`,
];

const EDITS: Edit[] = [
  {
    what: "upgrade k3sVersion",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:k3sVersion": NEXT_VERSION }),
  },
  {
    what: "set the server token",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:token": TOKEN }),
    // The step that read the token server-1 generated; it has no delete.
    deletes: ["server-1-read-token"],
  },
  {
    what: "rotate the server token",
    base: () => DEV_TOKENS,
    edit: (c) => ({ ...c, "k3s-ha:token": `${TOKEN}-2` }),
  },
  {
    what: "set the agent token",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:agentToken": AGENT_TOKEN }),
  },
  {
    what: "remove the agent token (server-1 generates one; the same step, updated)",
    base: () => DEV_TOKENS,
    edit: (c) => without(c, "agentToken"),
  },
  {
    what: "rotate the agent token",
    base: () => DEV_TOKENS,
    edit: (c) => ({ ...c, "k3s-ha:agentToken": `${AGENT_TOKEN}-2` }),
  },
  {
    what: "add an agent",
    base: () => DEV,
    edit: (c) => ({
      ...c,
      "k3s-ha:agents": [...hosts(c, "agents"), { name: "agent-4", address: "10.10.10.104" }],
    }),
  },
  {
    what: "remove an agent",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:agents": hosts(c, "agents").slice(0, 2) }),
    deletes: [
      "agent-3-config",
      "agent-3-install",
      "agent-3-membership",
      "agent-3-token",
      ...recordsOf("agent-3", "10.10.10.103"),
    ],
  },
  {
    what: "add a server",
    base: () => DEV,
    edit: (c) => ({
      ...c,
      "k3s-ha:servers": [...hosts(c, "servers"), { name: "server-4", address: "10.10.10.53" }],
    }),
  },
  {
    what: "remove a server",
    base: () => DEV,
    edit: (c) => ({
      ...c,
      "k3s-ha:servers": hosts(c, "servers").slice(0, 2),
      "k3s-ha:allowTwoServers": true, // 2 servers are refused without it
    }),
    deletes: [
      "server-3-agent-token",
      "server-3-config",
      "server-3-install",
      "server-3-membership",
      "server-3-token",
      ...recordsOf("server-3", "10.10.10.52"),
    ],
  },
  {
    what: "replace server-1, the founding server (add server-4, remove server-1 in one edit)",
    base: () => DEV,
    edit: (c) => ({
      ...c,
      "k3s-ha:servers": [
        ...hosts(c, "servers").slice(1),
        { name: "server-4", address: "10.10.10.53" },
      ],
    }),
    deletes: [
      "server-1-agent-token",
      "server-1-config",
      "server-1-install",
      "server-1-membership",
      "server-1-etcd-snapshot",
      "server-1-read-token",
      "server-1-ca-hash",
      "server-1-read-kubeconfig",
      // server-2 starts the cluster now: with a generated token, K3s reads its own server/token
      // and config.yaml names no token file (the file goes at the end of the run).
      "server-2-token",
      ...recordsOf("server-1", "10.10.10.50"),
    ],
  },
  {
    what: "change an agent's labels",
    base: () => DEV,
    edit: (c) => {
      const agents = hosts(c, "agents");
      agents[0].labels = { "example.com/pool": "blue" };
      return { ...c, "k3s-ha:agents": agents };
    },
  },
  {
    what: "change an agent's taints",
    base: () => STAGING,
    edit: (c) => {
      const agents = hosts(c, "agents");
      agents[1].taints = ["dedicated=web:NoSchedule"];
      return { ...c, "k3s-ha:agents": agents };
    },
  },
  {
    what: "change extraServerArgs",
    base: () => STAGING,
    edit: (c) => ({ ...c, "k3s-ha:extraServerArgs": ["--disable=traefik", "--disable=servicelb"] }),
  },
  {
    what: "change extraAgentArgs",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:extraAgentArgs": ["--kubelet-arg=max-pods=200"] }),
  },
  {
    what: "rotate the SSH key",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:sshPrivateKeyPath": secondKeyFile() }),
  },
  {
    what: "change the SSH user (root to a sudo user)",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:sshUser": "admin" }),
  },
  {
    what: "add a bastion",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:sshBastion": { host: "10.10.10.5", user: "jump" } }),
  },
  {
    what: "add a certificate name",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:extraTlsSans": ["k3s.example.com"] }),
  },
  {
    what: "switch VRRP to unicast",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:vrrpUnicast": true }),
  },
  {
    what: "change vrrpAdvertIntervalMs (250 to 500)",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:vrrpAdvertIntervalMs": 500 }),
  },
  {
    what: "set registries with credentials and a proxy",
    base: () => DEV,
    edit: (c) => ({ ...c, ...REGISTRIES_AND_PROXY }),
  },
  {
    what: "change the registry mirror and the proxy",
    base: () => ({ ...DEV, ...REGISTRIES_AND_PROXY }),
    edit: (c) => ({
      ...c,
      "k3s-ha:registries": { mirrors: { "*": { endpoint: ["https://mirror.example.com"] } } },
      "k3s-ha:proxy": { httpsProxy: "http://proxy-2.example.com:3128", noProxy: ["10.10.10.0/24"] },
    }),
  },
  {
    what: "remove registries and the proxy",
    base: () => ({ ...DEV, ...REGISTRIES_AND_PROXY }),
    edit: (c) => without(c, "registries", "registryCredentials", "proxy"),
    deletes: ["server-1", "server-2", "server-3", "agent-1", "agent-2", "agent-3"].map(
      (n) => `${n}-registries`,
    ),
  },
  {
    what: "set k3sReleasesUrl",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:k3sReleasesUrl": "https://artifacts.example.com/k3s" }),
  },
  {
    what: "set scheduled etcd snapshots (etcdSnapshotScheduleCron, etcdSnapshotRetention)",
    base: () => DEV,
    edit: (c) => ({
      ...c,
      "k3s-ha:etcdSnapshotScheduleCron": "0 */6 * * *",
      "k3s-ha:etcdSnapshotRetention": 12,
    }),
  },
  {
    what: "switch lbKind haproxy to nginx on lb-1",
    base: () => DEV,
    edit: (c) => ({
      ...without(c, "vip", "vrrpInterface", "vrrpRouterId"),
      "k3s-ha:lbKind": "nginx",
      "k3s-ha:lbHosts": [{ name: "lb-1", address: "10.10.10.98" }],
    }),
    deletes: [
      "lb-lb-1-haproxy",
      "lb-lb-1-keepalived",
      "lb-lb-1-keepalived-check",
      "lb-lb-1-keepalived-resume",
      "lb-lb-1-supervise",
      "lb-lb-2-haproxy",
      "lb-lb-2-keepalived",
      "lb-lb-2-keepalived-check",
      "lb-lb-2-supervise",
      ...recordsOf("lb-2", "10.10.10.99"),
    ],
  },
  {
    what: "switch lbKind nginx to haproxy",
    base: () => STAGING,
    edit: (c) => ({
      ...without(c, "nginxMode"),
      "k3s-ha:lbKind": "haproxy",
      "k3s-ha:vip": "10.10.10.100/24",
      "k3s-ha:lbHosts": [
        { name: "lb-1", address: "10.10.10.98", priority: 200 },
        { name: "lb-2", address: "10.10.10.99", priority: 100 },
      ],
    }),
    deletes: ["lb-nginx", "lb-supervise"],
  },
  {
    what: "switch Nginx from native to Docker",
    base: () => STAGING,
    edit: () => STAGING_DOCKER,
    deletes: ["lb-nginx", "lb-supervise"],
  },
  {
    what: "Nginx in Docker: add a server",
    base: () => STAGING_DOCKER,
    edit: (c) => ({
      ...c,
      "k3s-ha:servers": [...hosts(c, "servers"), { name: "server-4", address: "10.10.10.53" }],
    }),
  },
  {
    what: "Nginx in Docker: change the image (the one replacement, old container removed first)",
    base: () => STAGING_DOCKER,
    edit: (c) => ({ ...c, "k3s-ha:nginxImage": "nginx:1.27" }),
    replaces: ["lb-nginx"],
  },
  {
    what: "turn on drainBeforeUpgrade",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:drainBeforeUpgrade": true }),
  },
  {
    what: "set agentBatchSize",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:agentBatchSize": 2 }),
    changesNoStep: true,
  },
  {
    what: "add a secret config fragment for servers and agents",
    base: () => DEV,
    edit: (c) => ({
      ...c,
      "k3s-ha:serverSecretConfig": FRAGMENT,
      "k3s-ha:agentSecretConfig": FRAGMENT,
    }),
  },
  {
    what: "remove the secret config fragments (the install steps remove the drop-ins in order)",
    base: () => ({
      ...DEV,
      "k3s-ha:serverSecretConfig": FRAGMENT,
      "k3s-ha:agentSecretConfig": FRAGMENT,
    }),
    edit: (c) => without(c, "serverSecretConfig", "agentSecretConfig"),
    deletes: [
      ...["server-1", "server-2", "server-3", "agent-1", "agent-2", "agent-3"].map(
        (n) => `${n}-secret-config`,
      ),
    ],
  },
  {
    what: "pin every host key on a stack deployed with sshTrustAnyHostKey",
    base: () => ({ ...loadStackConfig("dev"), ...keyPath(DEV), "k3s-ha:sshTrustAnyHostKey": true }),
    edit: (c) => without(withPinnedHostKeys(c), "sshTrustAnyHostKey"),
  },
  {
    what: "pin the install script's sha256",
    base: () => DEV,
    edit: (c) => ({ ...c, "k3s-ha:installScriptSha256": "a".repeat(64) }),
  },
  {
    what: "air-gapped upgrade (new files, sums and version)",
    base: () => ({ ...DEV, "k3s-ha:airgap": airgapSetting(DEV["k3s-ha:k3sVersion"] as string) }),
    edit: (c) => ({
      ...c,
      "k3s-ha:k3sVersion": NEXT_VERSION,
      "k3s-ha:airgap": airgapSetting(NEXT_VERSION),
    }),
  },
];

describe("the guard: day-2 edits and program upgrades replace no step that has a delete", function () {
  this.timeout(600_000);

  for (const e of EDITS) {
    it(e.what, async () => {
      const base = await mockUp(undefined, e.base(), { secretKeys: SECRET_KEYS, stack: "guard" });
      expectOk(base, "the unedited stack");
      // Hosts the edit adds are pinned too: a stack validates only with every host key pinned.
      const config = withPinnedHostKeys(e.edit(e.base()));
      const edited = await mockUp(base.result.state, config, { secretKeys: SECRET_KEYS });
      expectOk(edited, e.what);
      expect(replaced(edited), "steps with a delete replaced").to.deep.equal(
        (e.replaces ?? []).sort(),
      );
      for (const c of edited.plan.changes.filter((x) => x.op === "replace" && destructive(x))) {
        expect(c.replaceMode, `${c.name} is removed before its replacement starts`).to.equal(
          "delete-before-replace",
        );
      }
      expect(deleted(edited), "resources deleted").to.deep.equal((e.deletes ?? []).sort());
      const changed = edited.plan.changes.filter((c) => c.op !== "same");
      if (e.changesNoStep) expect(changed.map((c) => c.name)).to.deep.equal([]);
      else expect(changed, "the edit changes something").to.not.be.empty;
      await expectSettled(edited.result.state, config, e.what);
    });
  }

  describe("upgrading the program over a stack deployed with an earlier release", () => {
    snapshotStacks(); // writes the fixture files the snapshots' air-gap configs name
    const snapshots = loadSnapshots();
    const previous = snapshots[snapshots.length - 1];
    for (const snapshot of snapshots) {
      for (const [name, stack] of Object.entries(snapshot.stacks)) {
        it(`${snapshot.release} (${snapshot.commit.slice(0, 7)}), stack ${name}`, async () => {
          // The state a successful `pulumi up` of that release left, read-token steps included.
          const state = stateFromRegistrations(name, stack.resources, (r) =>
            outputsOnCreate(r, fakeStdout(r.name)),
          );
          // Releases before 0.3.0 did not require pinned host keys: the user pins them (npm run
          // hostkeys) as part of the upgrade, which changes every step's connection.
          const config = withPinnedHostKeys(stack.config);
          const upgraded = await mockUp(state, config, {
            secretKeys: stack.secretKeys,
            stack: name,
          });
          expectOk(upgraded, "the upgrade");
          expect(replaced(upgraded), "steps with a delete replaced").to.deep.equal([]);
          expect(
            deleted(upgraded),
            "resources deleted (a URN no edit asked to change)",
          ).to.deep.equal([]);
          if (snapshot === previous) {
            // From the previous release no file a step writes changes (so no K3s restart), but
            // KeepAlived's check script, rendered from its own .sh file now, and nginx.conf, whose
            // listener gains reuseport (a reload) so a later lbKind switch makes before it breaks.
            const rewritten = upgraded.plan.changes
              .filter((c) => c.type === "command:remote:Command" && c.changedKeys.includes("stdin"))
              .map((c) => c.name);
            expect(
              rewritten.filter((n) => !n.endsWith("-keepalived-check") && !/^lb-nginx/.test(n)),
            ).to.deep.equal([]);
          }
          await expectSettled(upgraded.result.state, config, `${name} after the upgrade`);
        });
      }
    }
  });

  it("sees a replacement when there is one (the guard can fail)", async () => {
    const base = await mockUp(undefined, DEV, { stack: "guard" });
    // The 0.1.0 shape: a changed hash in `triggers`, and no ignoreChanges on it.
    const regs: RecordedResource[] = base.evaluation.resources.map((r) =>
      r.name === "server-2-install"
        ? {
            ...r,
            inputs: { ...r.inputs, triggers: ["a changed hash"] },
            options: { ...r.options, ignoreChanges: [] },
          }
        : r,
    );
    const plan = await planRun(base.result.state, regs);
    const found = plan.changes.filter((c) => c.op === "replace" && destructive(c));
    expect(found.map((c) => [c.name, c.replaceMode])).to.deep.equal([
      ["server-2-install", "create-before-delete"],
    ]);
  });
});
