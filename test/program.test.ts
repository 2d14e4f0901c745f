import type { RecordedResource } from "../harness/program/mocks";
import { expect } from "chai";
import { parse } from "yaml";
import {
  ProgramRun,
  isSecretValue,
  reveal,
  runProgram,
  FAKE_CA_HASH,
  FAKE_GENERATED_AGENT_TOKEN,
  FAKE_GENERATED_TOKEN,
} from "../harness/program/mocks";
import { FAKE_PRIVATE_KEY, testStackConfig } from "../harness/program/stacks";
import { unwrapCommandLine } from "../harness/program/scripts";
import {
  COMMAND_TYPE,
  commands,
  hostOf,
  step,
  stdinOf,
  stepsByHost,
} from "../harness/program/queries";
import { dependsOn } from "../harness/program/graph";

/** The K3s config.yaml a step writes. */
interface K3sYaml {
  server?: string;
  "cluster-init"?: boolean;
  "tls-san"?: string[];
  "node-label"?: string[];
  "node-taint"?: string[];
}
const k3sYaml = (run: ProgramRun, stepName: string) => parse(stdinOf(run, stepName)) as K3sYaml;

interface Kubeconfig {
  clusters: { cluster: { server: string } }[];
  "current-context": string;
}

const TOKEN = "lb-cluster-gd-but-secret-7f3a";
const AGENT_TOKEN = "agent-only-token-91c2";

describe("the program on the dev stack (the page's HAProxy + KeepAlived topology)", function () {
  this.timeout(120_000);
  let run: ProgramRun;
  before(async () => {
    run = await runProgram(
      { ...testStackConfig("dev"), "k3s-ha:token": TOKEN, "k3s-ha:agentToken": AGENT_TOKEN },
      ["k3s-ha:token", "k3s-ha:agentToken"],
      "dev",
    );
  });

  it("runs each host's steps on that host", () => {
    const sorted = Object.fromEntries(
      Object.entries(stepsByHost(run)).map(([host, steps]) => [host, [...steps].sort()]),
    );
    const expected: Record<string, string[]> = {
      "10.10.10.50": [
        "server-1-token-rotation",
        "server-1-token",
        "server-1-agent-token",
        "server-1-config",
        "server-1-etcd-snapshot",
        "server-1-install",
        "server-1-ca-hash",
        "server-1-read-kubeconfig",
        "registration-gate",
        "server-removal-check",
        // Membership steps run on a server that stays: they remove a node before its uninstall.
        "server-2-membership",
        "server-3-membership",
        "agent-1-membership",
        "agent-2-membership",
        "agent-3-membership",
      ],
      "10.10.10.51": [
        "server-1-membership",
        "server-2-token",
        "server-2-agent-token",
        "server-2-config",
        "server-2-install",
      ],
      "10.10.10.52": [
        "server-3-token",
        "server-3-agent-token",
        "server-3-config",
        "server-3-install",
      ],
      "10.10.10.98": [
        "lb-lb-1-haproxy",
        "lb-lb-1-keepalived-check",
        "lb-lb-1-keepalived",
        "lb-lb-1-supervise",
        "lb-lb-1-keepalived-resume",
      ],
      "10.10.10.99": [
        "lb-lb-2-haproxy",
        "lb-lb-2-keepalived-check",
        "lb-lb-2-keepalived",
        "lb-lb-2-supervise",
      ],
      "10.10.10.101": ["agent-1-token", "agent-1-config", "agent-1-install"],
      "10.10.10.102": ["agent-2-token", "agent-2-config", "agent-2-install"],
      "10.10.10.103": ["agent-3-token", "agent-3-config", "agent-3-install"],
    };
    for (const steps of Object.values(expected)) steps.sort();
    expect(sorted).to.deep.equal(expected);
  });

  it("starts the cluster on server-1 and joins server-2 and server-3 to it directly, in order", () => {
    const config = (name: string) => k3sYaml(run, `${name}-config`);
    expect(config("server-1")).to.include({ "cluster-init": true });
    expect(config("server-1")).to.not.have.property("server");
    expect(config("server-2").server).to.equal("https://10.10.10.50:6443");
    expect(config("server-3").server).to.equal("https://10.10.10.50:6443");
    expect(dependsOn(run, "server-2-install", "server-1-install")).to.equal(true);
    expect(dependsOn(run, "server-3-install", "server-2-install")).to.equal(true);
    expect(dependsOn(run, "server-1-install", "server-2-install")).to.equal(false);
  });

  it("puts the VIP in every server's tls-san", () => {
    for (const s of ["server-1", "server-2", "server-3"]) {
      expect(k3sYaml(run, `${s}-config`)["tls-san"]).to.deep.equal(["10.10.10.100"]);
    }
  });

  it("joins agents through the VIP, after the readiness gate, in parallel", () => {
    expect(step(run, "registration-gate").inputs.create).to.contain("10.10.10.100:6443");
    for (const a of ["agent-1", "agent-2", "agent-3"]) {
      expect(k3sYaml(run, `${a}-config`).server).to.equal("https://10.10.10.100:6443");
      expect(dependsOn(run, `${a}-install`, "registration-gate")).to.equal(true);
      for (const other of ["agent-1", "agent-2", "agent-3"].filter((o) => o !== a)) {
        expect(dependsOn(run, `${a}-install`, `${other}-install`)).to.equal(false);
      }
    }
    for (const before of ["lb-lb-1-keepalived", "lb-lb-2-haproxy", "server-3-install"]) {
      expect(dependsOn(run, "registration-gate", before), before).to.equal(true);
    }
  });

  it("starts KeepAlived only after HAProxy and the check script are in place", () => {
    expect(dependsOn(run, "lb-lb-1-keepalived", "lb-lb-1-haproxy")).to.equal(true);
    expect(dependsOn(run, "lb-lb-1-keepalived", "lb-lb-1-keepalived-check")).to.equal(true);
  });

  it("sends the tokens only on stdin, as secrets, into 0600 files, with logging off", () => {
    for (const name of ["server-1-token", "server-2-token", "agent-1-token"]) {
      const r = step(run, name);
      expect(isSecretValue(r.inputs.stdin), name).to.equal(true);
      expect(r.inputs.logging).to.equal("none");
      const create = unwrapCommandLine(r.inputs.create as string);
      expect(create).to.contain("\npath='/etc/rancher/k3s/cluster-token'\n");
      expect(create).to.contain('write_file "$path" 0600');
    }
    // server-1 starts the cluster with the short form (its CA does not exist yet); joiners get
    // the full form, which pins server-1's CA (docs.k3s.io cli/token, "Secure").
    expect(stdinOf(run, "server-1-token")).to.equal(`${TOKEN}\n`);
    expect(stdinOf(run, "server-2-token")).to.equal(`K10${FAKE_CA_HASH}::server:${TOKEN}\n`);
    expect(stdinOf(run, "agent-1-token")).to.equal(`K10${FAKE_CA_HASH}::node:${AGENT_TOKEN}\n`);
    expect(stdinOf(run, "server-1-agent-token")).to.equal(`${AGENT_TOKEN}\n`);
    expect(stdinOf(run, "server-2-agent-token")).to.equal(`${AGENT_TOKEN}\n`);
  });

  it("reads the CA hash on server-1 once it is ready, and pins it in every joiner's token", () => {
    const read = step(run, "server-1-ca-hash");
    expect(hostOf(read)).to.equal("10.10.10.50");
    expect(dependsOn(run, "server-1-ca-hash", "server-1-install")).to.equal(true);
    const script = unwrapCommandLine(read.inputs.create as string);
    expect(script).to.contain("/var/lib/rancher/k3s/server/token");
    expect(script).to.contain("${#hash} -ne 64");
    for (const name of ["server-2-token", "server-3-token", "agent-1-token", "agent-3-token"]) {
      expect(dependsOn(run, name, "server-1-ca-hash"), name).to.equal(true);
      expect(stdinOf(run, name), name).to.match(/^K10[0-9a-f]{64}::(server|node):/);
    }
  });

  it("gives no agent step the server token: agents hold the agent token only", () => {
    for (const r of run.resources.filter((x) => /^agent-\d+-/.test(x.name))) {
      expect(JSON.stringify(reveal(r.inputs)), r.name).to.not.contain(TOKEN);
    }
  });

  it("never puts a secret into a non-secret input", () => {
    for (const r of run.resources) {
      const visible = JSON.stringify(r.inputs, (_k, v: unknown) =>
        isSecretValue(v) ? "[secret]" : v,
      );
      expect(visible, r.name).to.not.contain(TOKEN);
      expect(visible, r.name).to.not.contain(AGENT_TOKEN);
      expect(visible, r.name).to.not.contain("client-key-data");
      expect(visible, r.name).to.not.contain("fake-key-material");
    }
  });

  it("runs every step as root over SSH with the connection settings from the stack", () => {
    for (const c of commands(run)) {
      expect(c.inputs.create).to.match(/^sh -c '/);
      expect((reveal(c.inputs.connection) as { user: string }).user).to.equal("root");
      expect((reveal(c.inputs.connection) as { privateKey: string }).privateKey).to.equal(
        FAKE_PRIVATE_KEY,
      );
      // The command SDK lifts the connection into one Output: a secret key hides all of it.
      expect(isSecretValue(c.inputs.connection), c.name).to.equal(true);
      expect(c.inputs.addPreviousOutputInEnv).to.equal(false);
    }
  });

  it("gives every host step an undo, except the read-only probes and the one-way day-2 steps", () => {
    const readOnly = [
      "server-1-read-kubeconfig",
      "registration-gate",
      // Neither a snapshot nor a token rotation can be undone by a delete.
      "server-1-etcd-snapshot",
      "server-1-token-rotation",
      "server-1-ca-hash",
      "server-removal-check",
    ];
    for (const c of commands(run)) {
      if (readOnly.includes(c.name)) expect(c.inputs.delete, c.name).to.equal(undefined);
      else expect(c.inputs.delete, c.name).to.be.a("string");
    }
  });

  it("exports the API endpoint, the registration address and the hosts", () => {
    expect(run.outputs.apiEndpoint).to.equal("https://10.10.10.100:6443");
    expect(run.outputs.registrationAddress).to.equal("10.10.10.100:6443");
    expect(run.outputs.loadBalancerKind).to.equal("haproxy");
    expect(run.outputs.servers).to.deep.equal([
      { name: "server-1", address: "10.10.10.50" },
      { name: "server-2", address: "10.10.10.51" },
      { name: "server-3", address: "10.10.10.52" },
    ]);
    expect((run.outputs.loadBalancers as unknown[]).length).to.equal(2);
    expect((run.outputs.agents as unknown[]).length).to.equal(3);
  });

  it("exports the kubeconfig as a secret that points at the VIP", () => {
    const kubeconfig = run.outputs.kubeconfig;
    expect(isSecretValue(kubeconfig)).to.equal(true);
    const doc = parse((kubeconfig as { secret: string }).secret) as Kubeconfig;
    expect(doc.clusters[0].cluster.server).to.equal("https://10.10.10.100:6443");
    expect(doc["current-context"]).to.equal("k3s-ha");
  });

  it("leaves Error.stackTraceLimit as it found it (the component lowers it while it creates children)", async () => {
    const before = Error.stackTraceLimit;
    await runProgram(testStackConfig("dev"), [], "limit");
    expect(Error.stackTraceLimit).to.equal(before);
  });

  it("uses a type token of three parts for every component and parents each step under one", () => {
    const components = run.resources.filter((r) => r.type.startsWith("k3s-ha:"));
    expect(components.map((c) => c.type).sort()).to.deep.equal([
      "k3s-ha:index:K3sHaCluster",
      "k3s-ha:k3s:Agent",
      "k3s-ha:k3s:Agent",
      "k3s-ha:k3s:Agent",
      "k3s-ha:k3s:BootstrapServer",
      "k3s-ha:k3s:JoiningServer",
      "k3s-ha:k3s:JoiningServer",
      "k3s-ha:lb:HaproxyLbPair",
    ]);
    const urns = run.resources.map((r) => r.urn);
    expect(new Set(urns).size).to.equal(urns.length);
    // Every resource sits below the one cluster component.
    const cluster = step(run, "k3s-ha");
    expect(cluster.parent).to.equal("");
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    for (const r of run.resources.filter((x) => x !== cluster)) {
      let top: RecordedResource | undefined = r;
      while (top?.parent) top = byUrn.get(top.parent);
      expect(top, r.name).to.equal(cluster);
    }
    const clusterWide = ["registration-gate", "server-removal-check"];
    for (const c of commands(run).filter((c) => !clusterWide.includes(c.name))) {
      expect(c.parent, c.name).to.match(/k3s-ha:(k3s|lb):/);
    }
  });
});

describe("the program on the staging stack (Nginx, non-root user)", function () {
  this.timeout(120_000);
  let run: ProgramRun;
  before(async () => {
    run = await runProgram(testStackConfig("staging"), [], "staging");
  });

  it("serves the registration address from the Nginx host, not the page's wrong lb-2 or unused VIP", () => {
    expect(run.outputs.apiEndpoint).to.equal("https://10.10.10.98:6443");
    for (const s of ["server-1", "server-2", "server-3"]) {
      expect(k3sYaml(run, `${s}-config`)["tls-san"]).to.deep.equal(["10.10.10.98"]);
    }
    for (const a of ["agent-1", "agent-2", "agent-3"]) {
      expect(k3sYaml(run, `${a}-config`).server).to.equal("https://10.10.10.98:6443");
    }
    expect(step(run, "registration-gate").inputs.create).to.contain("10.10.10.98:6443");
  });

  it("configures Nginx natively on lb-1 only, with the stream module", () => {
    const nginx = commands(run).filter((c) => hostOf(c) === "10.10.10.98");
    expect(nginx.map((c) => c.name).sort()).to.deep.equal(["lb-nginx", "lb-supervise"]);
    expect(step(run, "lb-nginx").inputs.create).to.contain("libnginx-mod-stream");
    expect(stdinOf(run, "lb-nginx")).to.contain("stream {");
  });

  it("runs every step through sudo for the ubuntu user", () => {
    for (const c of commands(run)) {
      expect(c.inputs.create, c.name).to.match(/^sudo -n sh -c '/);
      expect((reveal(c.inputs.connection) as { user: string }).user).to.equal("ubuntu");
    }
  });

  it("reads the token server-1 generated (K3s's secure form) and hands it to the other servers only", () => {
    expect(run.resources.some((r) => r.name === "server-1-token")).to.equal(false);
    const read = step(run, "server-1-read-token");
    expect(read.inputs.logging).to.equal("none");
    for (const name of ["server-2-token", "server-3-token"]) {
      expect(isSecretValue(step(run, name).inputs.stdin), name).to.equal(true);
      expect(stdinOf(run, name)).to.equal(`${FAKE_GENERATED_TOKEN}\n`);
      expect(dependsOn(run, name, "server-1-read-token"), name).to.equal(true);
    }
  });

  it("generates the agent token on server-1 when the stack has none; agents join with it, CA-pinned", () => {
    const generate = step(run, "server-1-agent-token");
    expect(hostOf(generate)).to.equal("10.10.10.50");
    expect(generate.inputs.logging).to.equal("none");
    expect(generate.inputs.stdin).to.equal(undefined);
    expect(generate.options.additionalSecretOutputs).to.include("stdout");
    const script = unwrapCommandLine(generate.inputs.create as string);
    expect(script).to.contain("\nfile=/etc/rancher/k3s/agent-token\n");
    expect(script).to.contain('if ! [ -s "$file" ]; then');
    expect(script).to.contain('write_file "$file" 0600');
    const removal = unwrapCommandLine(generate.inputs.delete as string);
    expect(removal).to.contain("\npath='/etc/rancher/k3s/agent-token'\n");
    expect(removal).to.contain('rm -f "$path"');
    expect(dependsOn(run, "server-1-install", "server-1-agent-token")).to.equal(true);
    for (const s of ["server-1", "server-2", "server-3"]) {
      expect(k3sYaml(run, `${s}-config`)).to.include({
        "agent-token-file": "/etc/rancher/k3s/agent-token",
      });
    }
    for (const s of ["server-2", "server-3"]) {
      expect(stdinOf(run, `${s}-agent-token`)).to.equal(`${FAKE_GENERATED_AGENT_TOKEN}\n`);
      expect(dependsOn(run, `${s}-agent-token`, "server-1-agent-token"), s).to.equal(true);
    }
    const password = FAKE_GENERATED_TOKEN.split("::server:")[1];
    for (const a of ["agent-1", "agent-2", "agent-3"]) {
      expect(isSecretValue(step(run, `${a}-token`).inputs.stdin), a).to.equal(true);
      expect(stdinOf(run, `${a}-token`)).to.equal(
        `K10${FAKE_CA_HASH}::node:${FAKE_GENERATED_AGENT_TOKEN}\n`,
      );
      expect(dependsOn(run, `${a}-token`, "server-1-agent-token"), a).to.equal(true);
      expect(dependsOn(run, `${a}-token`, "server-1-ca-hash"), a).to.equal(true);
      // No agent step, nor any step on an agent host, carries the server token.
      const address = (run.outputs.agents as { name: string; address: string }[]).find(
        (h) => h.name === a,
      )!.address;
      for (const r of run.resources.filter(
        (x) => x.name.startsWith(`${a}-`) || (x.type === COMMAND_TYPE && hostOf(x) === address),
      )) {
        expect(JSON.stringify(reveal(r.inputs)), r.name).to.not.contain(password);
      }
    }
  });

  it("applies labels, taints and extra args", () => {
    expect(k3sYaml(run, "server-1-config")["node-label"]).to.deep.equal([
      "topology.kubernetes.io/zone=zone-a",
    ]);
    expect(k3sYaml(run, "agent-2-config")["node-taint"]).to.deep.equal([
      "dedicated=batch:NoSchedule",
    ]);
    expect(step(run, "server-1-install").inputs.create).to.contain("server --disable=traefik");
  });
});

describe("the program with secret config fragments", function () {
  this.timeout(120_000);
  const SERVER_FRAGMENT = "etcd-s3-secret-key: s3-secret-4b1d\n";
  const AGENT_FRAGMENT = "vpn-auth: name=tailscale,joinKey=vpn-secret-77e0\n";
  let run: ProgramRun;
  before(async () => {
    run = await runProgram(
      {
        ...testStackConfig("dev"),
        "k3s-ha:serverSecretConfig": SERVER_FRAGMENT,
        "k3s-ha:agentSecretConfig": AGENT_FRAGMENT,
      },
      ["k3s-ha:serverSecretConfig", "k3s-ha:agentSecretConfig"],
      "fragments",
    );
  });

  it("writes each fragment from stdin into a 0600 config.yaml.d drop-in before the install, as a secret", () => {
    for (const [name, fragment] of [
      ["server-1-secret-config", SERVER_FRAGMENT],
      ["server-3-secret-config", SERVER_FRAGMENT],
      ["agent-2-secret-config", AGENT_FRAGMENT],
    ]) {
      const r = step(run, name);
      expect(isSecretValue(r.inputs.stdin), name).to.equal(true);
      expect(stdinOf(run, name)).to.equal(`${fragment}\n`);
      expect(r.inputs.logging).to.equal("none");
      const create = unwrapCommandLine(r.inputs.create as string);
      expect(create).to.contain("\npath='/etc/rancher/k3s/config.yaml.d/90-k3s-ha-secret.yaml'\n");
      expect(create).to.contain('write_file "$path" 0600');
      const install = name.replace("secret-config", "install");
      expect(dependsOn(run, install, name), install).to.equal(true);
      // install.sh removes a fragment only when the stack has none.
      expect(unwrapCommandLine(step(run, install).inputs.create as string), install).to.contain(
        "\nsecret_config='true'\n",
      );
    }
  });

  it("never puts a fragment into a non-secret input", () => {
    for (const r of run.resources) {
      const visible = JSON.stringify(r.inputs, (_k, v: unknown) =>
        isSecretValue(v) ? "[secret]" : v,
      );
      expect(visible, r.name).to.not.contain("s3-secret-4b1d");
      expect(visible, r.name).to.not.contain("vpn-secret-77e0");
    }
  });
});

describe("the program with Nginx in Docker", function () {
  this.timeout(120_000);
  it("runs the page's docker run as a container on the LB host's engine over ssh://", async () => {
    const run = await runProgram(
      { ...testStackConfig("staging"), "k3s-ha:nginxMode": "docker" },
      [],
      "docker",
    );
    const provider = run.resources.find((r) => r.type === "pulumi:providers:docker")!;
    expect(provider.inputs.host).to.equal("ssh://ubuntu@10.10.10.98:22");
    const keyFile = testStackConfig("staging")["k3s-ha:sshPrivateKeyPath"] as string;
    // Provider inputs reach the engine as JSON strings.
    expect(JSON.parse(provider.inputs.sshOpts as string)).to.deep.equal([
      "-i",
      keyFile,
      "-o",
      "BatchMode=yes",
    ]);
    const container = run.resources.find((r) => r.type === "docker:index/container:Container")!;
    expect(container.inputs.restart).to.equal("unless-stopped");
    const uploads = container.inputs.uploads as { file: string; content: string }[];
    expect(uploads[0].file).to.equal("/etc/nginx/nginx.conf");
    expect(uploads[0].content).to.contain("proxy_pass k3s_servers");
    // The container is created once; a later config is loaded into it by a host step (a reload),
    // so a changed backend list never replaces it. A replacement (a new image) removes it first.
    expect(container.options.ignoreChanges).to.include("uploads");
    expect(container.options.deleteBeforeReplace).to.equal(true);
    const onHost = run.resources.filter(
      (r) => r.type === COMMAND_TYPE && hostOf(r) === "10.10.10.98",
    );
    expect(onHost.map((r) => r.name)).to.deep.equal(["lb-docker-host", "lb-nginx-config"]);
    expect(stdinOf(run, "lb-nginx-config")).to.equal(uploads[0].content);
    const config = unwrapCommandLine(String(step(run, "lb-nginx-config").inputs.create));
    expect(config).to.contain("\nNGINX_CONTAINER=lb-nginx\n");
    expect(config).to.contain('docker kill --signal HUP "$NGINX_CONTAINER"');
    expect(dependsOn(run, "lb-nginx", "lb-docker-host")).to.equal(true);
    expect(dependsOn(run, "lb-nginx-config", "lb-nginx")).to.equal(true);
    expect(dependsOn(run, "registration-gate", "lb-nginx-config")).to.equal(true);
  });
});

describe("the program with bad input", function () {
  this.timeout(120_000);
  it("fails with one error naming every problem, before any host is touched", async () => {
    const config = {
      ...testStackConfig("dev"),
      "k3s-ha:vrrpRouterId": 300,
      "k3s-ha:token": "do-not-print-me",
    };
    let error: Error | undefined;
    let resources: unknown[] = [];
    try {
      const run = await runProgram(config, ["k3s-ha:token"], "bad");
      resources = run.resources;
    } catch (err) {
      error = err as Error;
    }
    expect(error?.name).to.equal("ConfigError");
    expect(error?.message).to.contain("vrrpRouterId");
    expect(error?.message).to.not.contain("do-not-print-me");
    expect(resources).to.be.empty;
  });
});

describe("evaluating the program twice", function () {
  this.timeout(120_000);
  it("yields byte-identical inputs, so the engine would plan no change", async () => {
    const config = { ...testStackConfig("dev"), "k3s-ha:token": TOKEN };
    const a = await runProgram(config, ["k3s-ha:token"], "dev");
    const b = await runProgram(config, ["k3s-ha:token"], "dev");
    // Registration order follows when outputs resolve; the engine matches resources by URN.
    const byUrn = (run: ProgramRun) =>
      JSON.stringify([...run.resources].sort((x, y) => x.urn.localeCompare(y.urn)));
    expect(byUrn(b)).to.equal(byUrn(a));
  });
});
