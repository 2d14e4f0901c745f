/**
 * Aliases: ports of pkg/engine/lifecycletest/alias_test.go (TestAliases, TestDuplicatesDueToAliases,
 * TestParentAlias, TestSplitUpdateComponentAliases, TestFailDeleteDuplicateAliases,
 * TestAliasesInProvidersAreNormalized), and the move of a whole program under a new parent
 * component with provider references (step_generator.go generateURN / generateAliases /
 * collapseAliasToUrn / inheritedChildAlias / providerChanged / calculateDependentReplacements;
 * deployment.go generateURN; snapshot.go NormalizeURNReferences).
 */
import { expect } from "chai";
import { StackState, stateFromRegistrations } from "../../harness/engine/state";
import { Step } from "../../harness/engine/steps";
import { providerRef } from "../../harness/engine/urns";
import { AliasRecord } from "../../harness/program/mocks";
import { FakeCloud, UpOptions, UpResult, reg, testProvider, up, urnOf } from "./harness";

/** The `forcesReplacement` key forces replacement and all other keys can update in place. */
const provider = testProvider((req) => {
  const has = (m: Record<string, unknown>) => "forcesReplacement" in m;
  const changed =
    has(req.oldOutputs) !== has(req.newInputs) ||
    JSON.stringify(req.oldOutputs.forcesReplacement) !==
      JSON.stringify(req.newInputs.forcesReplacement);
  return { replaceKeys: changed ? ["forcesReplacement"] : [] };
});

interface Res {
  t: string;
  name: string;
  props?: Record<string, unknown>;
  aliases?: AliasRecord[];
  parent?: string;
  dependencies?: string[];
  deleteBeforeReplace?: boolean;
}

/** updateProgramWithResource: every step's op must be one of `allowed`. */
async function program(
  state: StackState | undefined,
  resources: Res[],
  allowed: string[],
  expectFailure = false,
): Promise<StackState> {
  const regs = resources.map((r) =>
    reg(r.t, r.name, r.props ?? {}, {
      parent: r.parent,
      dependencies: r.dependencies,
      options: {
        aliases: r.aliases ?? [],
        ...(r.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
      },
    }),
  );
  const result = await up(state, regs, { providers: () => provider });
  if (expectFailure) {
    expect(result.ok, "the run fails").to.equal(false);
    return result.state;
  }
  expect(result.errors).to.deep.equal([]);
  const ops = [...new Set(result.deployment.steps.map((s) => s.op))];
  expect(allowed, JSON.stringify(resources)).to.include.members(ops);
  return result.state;
}

const REPLACE = ["replace", "create-replacement", "delete-replaced"];

describe("engine model: TestAliases (alias_test.go)", function () {
  it("renames and type changes through aliases are sames; prop changes update or replace", async function () {
    let s = await program(undefined, [{ t: "pkgA:index:t1", name: "n1" }], ["create"]);
    s = await program(s, [{ t: "pkgA:index:t1", name: "n2", aliases: [{ name: "n1" }] }], ["same"]);
    s = await program(
      s,
      [{ t: "pkgA:index:t1", name: "n3", aliases: [{ name: "n2" }, { name: "n1" }] }],
      ["same"],
    );
    s = await program(
      s,
      [
        {
          t: "pkgA:index:t1",
          name: "n3",
          aliases: [{ urn: "urn:pulumi:test::test::pkgA:index:t1::n2" }, { name: "n1" }],
        },
      ],
      ["same"],
    );
    s = await program(
      s,
      [
        {
          t: "pkgA:index:t1",
          name: "n1",
          aliases: [{ urn: "urn:pulumi:test::test::pkgA:index:t1::n3" }, { name: "n2" }],
        },
      ],
      ["same"],
    );
    s = await program(s, [{ t: "pkgA:index:t1", name: "n1" }], ["same"]);
    s = await program(
      s,
      [{ t: "pkgA:index:t2", name: "n1", aliases: [{ type: "pkgA:index:t1" }] }],
      ["same"],
    );
    s = await program(
      s,
      [
        {
          t: "pkgA:othermod:t3",
          name: "n1",
          aliases: [{ type: "pkgA:index:t1" }, { type: "pkgA:index:t2" }],
        },
      ],
      ["same"],
    );
    s = await program(s, [{ t: "pkgA:othermod:t3", name: "n1" }], ["same"]);
    s = await program(
      s,
      [
        {
          t: "pkgA:index:t4",
          name: "n2",
          props: { x: 42 },
          aliases: [{ type: "pkgA:othermod:t3", name: "n1" }],
        },
      ],
      ["update"],
    );
    s = await program(
      s,
      [
        {
          t: "pkgA:index:t5",
          name: "n3",
          props: { x: 1000 },
          aliases: [{ type: "pkgA:index:t4", name: "n2" }],
        },
      ],
      ["update"],
    );
    s = await program(
      s,
      [
        {
          t: "pkgA:index:t6",
          name: "n4",
          props: { forcesReplacement: 1000 },
          aliases: [{ type: "pkgA:index:t5", name: "n3" }],
        },
      ],
      REPLACE,
    );
    await program(
      s,
      [
        {
          t: "pkgA:index:t7",
          name: "n5",
          props: { forcesReplacement: 999 },
          deleteBeforeReplace: true,
          aliases: [{ type: "pkgA:index:t6", name: "n4" }],
        },
      ],
      REPLACE,
    );
  });

  it("a renamed resource and a renamed dependent (delete-before-replace through aliases)", async function () {
    const s = await program(
      undefined,
      [
        {
          t: "pkgA:index:t1",
          name: "n1",
          props: { forcesReplacement: 1 },
          deleteBeforeReplace: true,
        },
        {
          t: "pkgA:index:t2",
          name: "n2",
          dependencies: ["urn:pulumi:test::test::pkgA:index:t1::n1"],
        },
      ],
      ["create"],
    );
    const after = await program(
      s,
      [
        {
          t: "pkgA:index:t1-new",
          name: "n1-new",
          props: { forcesReplacement: 2 },
          deleteBeforeReplace: true,
          aliases: [{ type: "pkgA:index:t1", name: "n1" }],
        },
        {
          t: "pkgA:index:t2-new",
          name: "n2-new",
          dependencies: ["urn:pulumi:test::test::pkgA:index:t1-new::n1-new"],
          aliases: [{ type: "pkgA:index:t2", name: "n2" }],
        },
      ],
      ["same", ...REPLACE],
    );
    expect(after.resources.map((r) => r.urn)).to.have.members([
      "urn:pulumi:test::test::pkgA:index:t1-new::n1-new",
      "urn:pulumi:test::test::pkgA:index:t2-new::n2-new",
    ]);
  });

  it("parents' aliases carry over to children (inherited aliases), nested", async function () {
    const s = await program(
      undefined,
      [
        { t: "pkgA:index:t1", name: "n1" },
        { t: "pkgA:index:t2", name: "n1-sub", parent: "urn:pulumi:test::test::pkgA:index:t1::n1" },
        {
          t: "pkgA:index:t3",
          name: "n1-sub-sub",
          parent: "urn:pulumi:test::test::pkgA:index:t1$pkgA:index:t2::n1-sub",
        },
      ],
      ["create"],
    );
    await program(
      s,
      [
        {
          t: "pkgA:index:t1-new",
          name: "n1-new",
          aliases: [{ type: "pkgA:index:t1", name: "n1" }],
        },
        {
          t: "pkgA:index:t2",
          name: "n1-new-sub",
          parent: "urn:pulumi:test::test::pkgA:index:t1-new::n1-new",
          aliases: [{ type: "pkgA:index:t2", name: "n1-sub" }],
        },
        {
          t: "pkgA:index:t3",
          name: "n1-new-sub-sub",
          parent: "urn:pulumi:test::test::pkgA:index:t1-new$pkgA:index:t2::n1-new-sub",
          aliases: [{ type: "pkgA:index:t3", name: "n1-sub-sub" }],
        },
      ],
      ["same"],
    );
  });

  it("a child renamed or retyped; moved under a parent (noParent alias) and back (parent alias)", async function () {
    const parent = "urn:pulumi:test::test::pkgA:index:parent::parent";
    let s = await program(
      undefined,
      [
        { t: "pkgA:index:parent", name: "parent" },
        { t: "pkgA:index:child", name: "child", parent },
      ],
      ["create"],
    );
    s = await program(
      s,
      [
        { t: "pkgA:index:parent", name: "parent" },
        { t: "pkgA:index:child", name: "childnew", parent, aliases: [{ name: "child" }] },
      ],
      ["same"],
    );
    await program(
      s,
      [
        { t: "pkgA:index:parent", name: "parent" },
        {
          t: "pkgA:index:child2",
          name: "childnew",
          parent,
          aliases: [{ type: "pkgA:index:child" }],
        },
      ],
      ["same"],
    );

    const one = "urn:pulumi:test::test::pkgA:index:t1::one";
    s = await program(
      undefined,
      [
        { t: "pkgA:index:t1", name: "one" },
        { t: "pkgA:index:t2", name: "two" },
      ],
      ["create"],
    );
    s = await program(
      s,
      [
        { t: "pkgA:index:t1", name: "one" },
        { t: "pkgA:index:t2", name: "two", parent: one, aliases: [{ parent: "" }] },
      ],
      ["same"],
    );
    await program(
      s,
      [
        { t: "pkgA:index:t1", name: "one" },
        { t: "pkgA:index:t2", name: "two", aliases: [{ parent: one }] },
      ],
      ["same"],
    );
  });

  it("two resources claiming the same old resource fail the run", async function () {
    const s = await program(undefined, [{ t: "pkgA:index:t1", name: "n1" }], ["create"]);
    await program(
      s,
      [
        { t: "pkgA:index:t1", name: "n2", aliases: [{ name: "n1" }] },
        { t: "pkgA:index:t2", name: "n3", aliases: [{ type: "pkgA:index:t1", name: "n1" }] },
      ],
      ["create"],
      true,
    );
  });

  it("references to an aliased resource are rewritten to its new URN in the state", async function () {
    const s = await program(
      undefined,
      [
        { t: "pkgA:index:t1", name: "a" },
        {
          t: "pkgA:index:t1",
          name: "b",
          dependencies: ["urn:pulumi:test::test::pkgA:index:t1::a"],
        },
      ],
      ["create"],
    );
    // Only `a` is registered (renamed); the failing run keeps b, whose dependency must follow.
    const r = await up(
      s,
      [reg("pkgA:index:t1", "a2", {}, { options: { aliases: [{ name: "a" }] } })],
      {
        providers: () => provider,
        cloud: {
          create: () => Promise.reject(new Error("no")),
          update: () => Promise.reject(new Error("no")),
          delete: () => Promise.reject(new Error("refused")),
        },
      },
    );
    expect(r.ok).to.equal(false);
    const b = r.state.resources.find((x) => x.urn.endsWith("::b"))!;
    expect(b.dependencies).to.deep.equal(["urn:pulumi:test::test::pkgA:index:t1::a2"]);
  });
});

/** A resource of a program run as the SDK registers it. */
interface Spec extends Res {
  custom?: boolean;
  propertyDependencies?: Record<string, string[]>;
  /** The URN of a provider registered earlier in the program: the SDK sends `<urn>::<its id>`. */
  provider?: string;
}

/**
 * `pulumi up` of a program that registers `specs` in order, each provider reference built from
 * the provider's URN and the id its registration returned (resource.ts ProviderResource.register).
 */
function run(
  state: StackState | undefined,
  specs: Spec[],
  opts: UpOptions = {},
): Promise<UpResult> {
  return up(
    state,
    async (d) => {
      const ids = new Map<string, string>();
      for (const s of specs) {
        const r = reg(s.t, s.name, s.props ?? {}, {
          parent: s.parent,
          custom: s.custom,
          dependencies: s.dependencies,
          propertyDependencies: s.propertyDependencies,
          options: {
            aliases: s.aliases ?? [],
            ...(s.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
          },
          ...(s.provider ? { provider: providerRef(s.provider, ids.get(s.provider) ?? "") } : {}),
        });
        ids.set(r.urn, (await d.register(r)).id);
      }
    },
    { providers: () => provider, ...opts },
  );
}

const short = (urn: string) => urn.split("::").pop()!;

/** `<op> <name>` of every step the run generated, in order (sames included). */
function stepsOf(r: UpResult): string[] {
  return r.deployment.steps.map((s: Step) => `${s.op} ${short(s.urn)}`);
}

function byName(state: StackState, name: string) {
  const found = state.resources.find((r) => short(r.urn) === name && !r.delete);
  if (!found) throw new Error(`${name} is not in the state`);
  return found;
}

const CLUSTER = "k3s-ha:index:K3sHaCluster";
const OLD_LB = "k3s-ha:lb:NginxLb";
const NEW_LB = "k3s-ha:lb:NginxLoadBalancer";
const DOCKER = "pulumi:providers:docker";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const CONTAINER = "docker:index/container:Container";
const CMD = "command:remote:Command";

/** The Nginx-in-Docker LB as a release registers it today: component `lb` at the root. */
function lbToday(): Spec[] {
  const lb = urnOf(OLD_LB, "lb");
  const docker = urnOf(DOCKER, "lb-docker", lb);
  const host = urnOf(CMD, "lb-docker-host", lb);
  const image = urnOf(IMAGE, "lb-image", lb);
  return [
    { t: OLD_LB, name: "lb", custom: false },
    { t: DOCKER, name: "lb-docker", parent: lb, props: { host: "ssh://root@10.10.10.5:22" } },
    { t: CMD, name: "lb-docker-host", parent: lb, props: { create: "prepare" } },
    {
      t: IMAGE,
      name: "lb-image",
      parent: lb,
      provider: docker,
      props: { name: "nginx:1.25", keepLocally: true },
    },
    {
      t: CONTAINER,
      name: "lb-nginx",
      parent: lb,
      provider: docker,
      deleteBeforeReplace: true,
      dependencies: [host, image],
      propertyDependencies: { image: [image] },
      props: { name: "k3s-nginx", image: "sha256:abc" },
    },
  ];
}

interface MoveOptions {
  /** The provider's new name (default `k3s-ha-lb-docker`, the old name under the new prefix). */
  providerName?: string;
  /** The provider's inputs (default: today's). */
  providerProps?: Record<string, unknown>;
  /** Give every child of the LB its own `{ name: <old name> }` alias (the SDK adds the parent). */
  childAliases?: boolean;
  /** A new resource registered after the provider, before the image. */
  extra?: Spec;
}

/**
 * The same LB after the move: under the new component `k3s-ha`, renamed `k3s-ha-lb` (children
 * `k3s-ha-lb-*`), its type token renamed; only the component has an alias spec
 * (`{ name, type, parent: rootStackResource }`, which the Node SDK sends as noParent).
 */
function lbMoved(o: MoveOptions = {}): Spec[] {
  const cluster = urnOf(CLUSTER, "k3s-ha");
  const lb = urnOf(NEW_LB, "k3s-ha-lb", cluster);
  const providerName = o.providerName ?? "k3s-ha-lb-docker";
  const docker = urnOf(DOCKER, providerName, lb);
  const host = urnOf(CMD, "k3s-ha-lb-docker-host", lb);
  const image = urnOf(IMAGE, "k3s-ha-lb-image", lb);
  const own = (old: string): AliasRecord[] => (o.childAliases ? [{ name: old, parent: lb }] : []);
  return [
    { t: CLUSTER, name: "k3s-ha", custom: false },
    {
      t: NEW_LB,
      name: "k3s-ha-lb",
      custom: false,
      parent: cluster,
      aliases: [{ name: "lb", type: OLD_LB, parent: "" }],
    },
    {
      t: DOCKER,
      name: providerName,
      parent: lb,
      props: o.providerProps ?? { host: "ssh://root@10.10.10.5:22" },
      aliases: own("lb-docker"),
    },
    ...(o.extra ? [{ ...o.extra, parent: lb }] : []),
    {
      t: CMD,
      name: "k3s-ha-lb-docker-host",
      parent: lb,
      props: { create: "prepare" },
      aliases: own("lb-docker-host"),
    },
    {
      t: IMAGE,
      name: "k3s-ha-lb-image",
      parent: lb,
      provider: docker,
      props: { name: "nginx:1.25", keepLocally: true },
      aliases: own("lb-image"),
    },
    {
      t: CONTAINER,
      name: "k3s-ha-lb-nginx",
      parent: lb,
      provider: docker,
      deleteBeforeReplace: true,
      dependencies: [host, image],
      propertyDependencies: { image: [image] },
      props: { name: "k3s-nginx", image: "sha256:abc" },
      aliases: own("lb-nginx"),
    },
  ];
}

describe("engine model: a program moved under a new parent component (aliases, providers)", function () {
  it("inherited child aliases replace the parent-name prefix, under the parent's OLD qualified type", async function () {
    const before = await run(undefined, lbToday());
    expect(before.errors).to.deep.equal([]);
    const moved = await run(before.state, lbMoved());
    expect(moved.errors).to.deep.equal([]);
    expect(stepsOf(moved)).to.deep.equal([
      "create k3s-ha",
      "same k3s-ha-lb",
      "same k3s-ha-lb-docker",
      "same k3s-ha-lb-docker-host",
      "same k3s-ha-lb-image",
      "same k3s-ha-lb-nginx",
    ]);
    // The aliases the engine computed for the container: inherited from `lb`'s old URN.
    const gen = moved.deployment.generator;
    const lbOld = urnOf(OLD_LB, "lb");
    const container = reg(
      CONTAINER,
      "k3s-ha-lb-nginx",
      {},
      { parent: urnOf(NEW_LB, "k3s-ha-lb", urnOf(CLUSTER, "k3s-ha")) },
    );
    expect(gen.aliasUrns(container)).to.deep.equal([urnOf(CONTAINER, "lb-nginx", lbOld)]);
  });

  it("a resource whose provider moved through an alias keeps it: same, not replaced (providerChanged)", async function () {
    const cloud = new FakeCloud();
    const before = await run(undefined, lbToday(), { cloud });
    const oldDocker = byName(before.state, "lb-docker");
    const moved = await run(before.state, lbMoved(), { cloud });
    expect(moved.errors).to.deep.equal([]);
    // The provider reference string changed (new URN, same id) and the engine treats it as the
    // same provider: sg.aliased[old provider URN] is the new provider URN.
    const image = moved.deployment.steps.find((s) => s.urn.endsWith("::k3s-ha-lb-image"))!;
    expect(image.op).to.equal("same");
    if (image.op !== "same") return;
    expect(image.old.provider).to.equal(providerRef(oldDocker.urn, oldDocker.id));
    const newDocker = urnOf(
      DOCKER,
      "k3s-ha-lb-docker",
      urnOf(NEW_LB, "k3s-ha-lb", urnOf(CLUSTER, "k3s-ha")),
    );
    expect(image.reg.provider).to.equal(providerRef(newDocker, oldDocker.id));
    expect(moved.deployment.generator.providerChanged(image.old, image.reg)).to.equal(false);
    const ops = moved.deployment.steps.map((s) => s.op);
    expect(ops.filter((op) => op !== "same")).to.deep.equal(["create"]);
    expect(moved.log).to.deep.equal([]);
    expect(cloud.resources.size).to.equal(4);

    // The state names only the new URNs, references included; no aliases are written.
    const s = moved.state;
    const nginx = byName(s, "k3s-ha-lb-nginx");
    const lb = urnOf(NEW_LB, "k3s-ha-lb", urnOf(CLUSTER, "k3s-ha"));
    expect(nginx.urn).to.equal(urnOf(CONTAINER, "k3s-ha-lb-nginx", lb));
    expect(nginx.provider).to.equal(providerRef(newDocker, oldDocker.id));
    expect(nginx.dependencies).to.deep.equal([
      urnOf(CMD, "k3s-ha-lb-docker-host", lb),
      urnOf(IMAGE, "k3s-ha-lb-image", lb),
    ]);
    expect(s.resources.every((r) => r.aliases === undefined)).to.equal(true);
    expect(s.resources).to.have.length(6);

    // The next run finds everything by its URN: nothing to do.
    const again = await run(s, lbMoved(), { cloud });
    expect(stepsOf(again).filter((x) => !x.startsWith("same"))).to.deep.equal([]);
  });

  it("a provider whose alias misses is a new provider: its image and container are REPLACED, the container deleted first", async function () {
    // `k3s-ha-docker` does not start with the parent's new name `k3s-ha-lb`: its inherited alias
    // keeps the name and matches nothing, so the engine creates a second provider.
    const before = await run(undefined, lbToday());
    const moved = await run(before.state, lbMoved({ providerName: "k3s-ha-docker" }));
    expect(moved.errors).to.deep.equal([]);
    const replaced = moved.deployment.steps.filter((s) => s.op === "replace");
    expect(replaced.map((s) => short(s.urn))).to.deep.equal(["k3s-ha-lb-image", "k3s-ha-lb-nginx"]);
    expect(replaced.map((s) => (s.op === "replace" ? s.diff?.replaceKeys : []))).to.deep.equal([
      ["provider"],
      ["provider"],
    ]);
    expect(moved.log).to.deep.equal([
      "create k3s-ha-docker",
      "create-replacement k3s-ha-lb-image",
      "delete-replaced lb-nginx",
      "create-replacement k3s-ha-lb-nginx",
      "delete-replaced lb-image",
      "delete lb-docker",
    ]);
  });

  it("an aliased provider that is also replaced: its resources stay (the ids are not compared)", async function () {
    // step_generator.go providerChanged returns "no change" as soon as the old provider's URN was
    // aliased to the new one, whatever the ids; the engine replaces the provider and keeps them.
    const cloud = new FakeCloud();
    const before = await run(undefined, lbToday(), { cloud });
    const moved = await run(
      before.state,
      lbMoved({ providerProps: { host: "ssh://root@10.10.10.5:22", forcesReplacement: 1 } }),
      { cloud },
    );
    expect(moved.errors).to.deep.equal([]);
    expect(moved.log).to.deep.equal([
      "create-replacement k3s-ha-lb-docker",
      "delete-replaced lb-docker",
    ]);
    const nginx = byName(moved.state, "k3s-ha-lb-nginx");
    const docker = byName(moved.state, "k3s-ha-lb-docker");
    expect(nginx.provider).to.equal(providerRef(docker.urn, docker.id));
    expect(docker.id).to.not.equal(byName(before.state, "lb-docker").id);
  });

  it("a provider replaced delete-before-replace takes its resources with it (calculateDependentReplacements)", async function () {
    const cloud = new FakeCloud();
    const prov = urnOf("pulumi:providers:pkgA", "prov");
    const program = (v: number): Spec[] => [
      {
        t: "pulumi:providers:pkgA",
        name: "prov",
        props: { forcesReplacement: v },
        deleteBeforeReplace: true,
      },
      { t: "pkgA:index:t1", name: "res", provider: prov },
      { t: "pkgA:index:t1", name: "other" },
    ];
    const first = await run(undefined, program(1), { cloud });
    const second = await run(first.state, program(2), { cloud });
    expect(second.errors).to.deep.equal([]);
    expect(second.log).to.deep.equal([
      "delete-replaced res",
      "delete-replaced prov",
      "create-replacement prov",
      "create-replacement res",
    ]);
    const res = byName(second.state, "res");
    const p = byName(second.state, "prov");
    expect(res.provider).to.equal(providerRef(p.urn, p.id));
  });

  it("a provider renamed with no alias replaces its resources (key `provider`)", async function () {
    const program = (name: string): Spec[] => [
      { t: "pulumi:providers:pkgA", name },
      { t: "pkgA:index:t1", name: "res", provider: urnOf("pulumi:providers:pkgA", name) },
    ];
    const first = await run(undefined, program("p1"));
    const renamed = await run(first.state, program("p2"));
    expect(renamed.log).to.deep.equal([
      "create p2",
      "create-replacement res",
      "delete-replaced res",
      "delete p1",
    ]);
    const aliased = await run(first.state, [
      { t: "pulumi:providers:pkgA", name: "p2", aliases: [{ name: "p1" }] },
      { t: "pkgA:index:t1", name: "res", provider: urnOf("pulumi:providers:pkgA", "p2") },
    ]);
    expect(aliased.log).to.deep.equal([]);
    expect(stepsOf(aliased)).to.deep.equal(["same p2", "same res"]);
  });

  it("a move cut short, then retried: children renamed only through inherited aliases are created again and the old ones deleted", async function () {
    // generateAliases inherits a parent's alias only when the parent was found through it IN THIS
    // RUN. After a partial move the parent is in the state under its new URN, the children not
    // registered yet under their OLD names below it (NormalizeURNReferences): the retry finds the
    // parent by its URN, gives the children no alias, and `k3s-ha-lb-image` matches nothing.
    const cloud = new FakeCloud();
    const before = await run(undefined, lbToday(), { cloud });
    const extra: Spec = { t: CMD, name: "k3s-ha-lb-extra" };
    cloud.failCreate = (urn) => urn.endsWith("::k3s-ha-lb-extra");
    const cut = await run(before.state, lbMoved({ extra }), { cloud });
    expect(cut.ok).to.equal(false);
    const lb = urnOf(NEW_LB, "k3s-ha-lb", urnOf(CLUSTER, "k3s-ha"));
    const docker = urnOf(DOCKER, "k3s-ha-lb-docker", lb);
    const staleImage = byName(cut.state, "lb-image");
    expect(staleImage.urn).to.equal(urnOf(IMAGE, "lb-image", lb));
    expect(staleImage.parent).to.equal(lb);
    expect(staleImage.provider).to.equal(providerRef(docker, byName(before.state, "lb-docker").id));
    expect(byName(cut.state, "lb-nginx").dependencies).to.deep.equal([
      urnOf(CMD, "lb-docker-host", lb),
      urnOf(IMAGE, "lb-image", lb),
    ]);

    cloud.failCreate = () => false;
    const retry = await run(cut.state, lbMoved(), { cloud });
    expect(retry.errors).to.deep.equal([]);
    expect(retry.log).to.have.members([
      "create k3s-ha-lb-docker-host",
      "create k3s-ha-lb-image",
      "create k3s-ha-lb-nginx",
      "delete lb-nginx",
      "delete lb-image",
      "delete lb-docker-host",
    ]);

    // With `aliases: [{ name: <old name> }]` on each child (the Node SDK sends the resource's
    // parent with it) the old name is found in both runs: under the parent's old URN in a whole
    // move, under its new URN in a retry.
    const whole = await run(before.state, lbMoved({ childAliases: true }), { cloud });
    expect(whole.log).to.deep.equal([]);
    cloud.failCreate = (urn) => urn.endsWith("::k3s-ha-lb-extra");
    const cut2 = await run(before.state, lbMoved({ extra, childAliases: true }), { cloud });
    expect(cut2.ok).to.equal(false);
    cloud.failCreate = () => false;
    const retry2 = await run(cut2.state, lbMoved({ childAliases: true }), { cloud });
    expect(retry2.errors).to.deep.equal([]);
    expect(retry2.log).to.deep.equal([]);
  });

  it("URNs are the engine's below depth two (the parent's full qualified type), not the mock monitor's", async function () {
    // runtime/mocks.js MockMonitor.newUrn keeps only the parent's last type segment.
    const a = reg("pkgA:index:A", "a", {}, { custom: false });
    const b = reg("pkgA:index:B", "a-b", {}, { custom: false, parent: a.urn });
    const mockC = "urn:pulumi:test::test::pkgA:index:B$pkgA:index:C::a-b-c";
    const c = { ...reg("pkgA:index:C", "a-b-c", {}, { parent: b.urn }), urn: mockC };
    const d = reg(
      "pkgA:index:D",
      "d",
      { x: 1 },
      { dependencies: [mockC], propertyDependencies: { x: [mockC] } },
    );
    const engineC = "urn:pulumi:test::test::pkgA:index:A$pkgA:index:B$pkgA:index:C::a-b-c";
    expect(urnOf("pkgA:index:C", "a-b-c", b.urn)).to.equal(engineC);

    const first = await up(undefined, [a, b, c, d], { providers: () => provider });
    expect(first.errors).to.deep.equal([]);
    expect(byName(first.state, "a-b-c").urn).to.equal(engineC);
    expect(byName(first.state, "d").dependencies).to.deep.equal([engineC]);
    expect(byName(first.state, "d").propertyDependencies).to.deep.equal({ x: [engineC] });
    // A registration snapshot turned into a deployed stack gets the same URNs.
    expect(stateFromRegistrations("test", [a, b, c, d]).resources.map((r) => r.urn)).to.deep.equal(
      first.state.resources.map((r) => r.urn),
    );

    // A rename below depth two through an alias spec: the engine's alias URN is `A$B$C::a-b-c`.
    const renamed = {
      ...reg(
        "pkgA:index:C",
        "a-b-c2",
        {},
        { parent: b.urn, options: { aliases: [{ name: "a-b-c", parent: b.urn }] } },
      ),
      urn: "urn:pulumi:test::test::pkgA:index:B$pkgA:index:C::a-b-c2",
    };
    const second = await up(first.state, [a, b, renamed], { providers: () => provider });
    expect(second.errors).to.deep.equal([]);
    expect(stepsOf(second).slice(0, 3)).to.deep.equal(["same a", "same a-b", "same a-b-c2"]);
  });

  it("a registration snapshot's provider references name the ids its state gives the providers", function () {
    const p = reg("pulumi:providers:pkgA", "p");
    const r = reg("pkgA:index:t1", "r", {}, { provider: providerRef(p.urn, "p-id-from-the-mock") });
    const state = stateFromRegistrations("test", [p, r]);
    const [ps, rs] = state.resources;
    expect(rs.provider).to.equal(providerRef(ps.urn, ps.id));
  });

  it("2000 resources moved under a new parent in one run: one create, everything else same, nothing deleted", async function () {
    this.timeout(60_000);
    const today: Spec[] = [];
    const moved: Spec[] = [{ t: CLUSTER, name: "k3s-ha", custom: false }];
    const cluster = urnOf(CLUSTER, "k3s-ha");
    for (let i = 0; i < 100; i++) {
      const oldParent = urnOf("k3s-ha:cluster:K3sServer", `server-${i}`);
      const newParent = urnOf("k3s-ha:k3s:BootstrapServer", `k3s-ha-server-${i}`, cluster);
      today.push({ t: "k3s-ha:cluster:K3sServer", name: `server-${i}`, custom: false });
      moved.push({
        t: "k3s-ha:k3s:BootstrapServer",
        name: `k3s-ha-server-${i}`,
        custom: false,
        parent: cluster,
        aliases: [{ name: `server-${i}`, type: "k3s-ha:cluster:K3sServer", parent: "" }],
      });
      for (let j = 0; j < 19; j++) {
        const prev = j > 0 ? [urnOf(CMD, `server-${i}-step-${j - 1}`, oldParent)] : [];
        const next = j > 0 ? [urnOf(CMD, `k3s-ha-server-${i}-step-${j - 1}`, newParent)] : [];
        today.push({
          t: CMD,
          name: `server-${i}-step-${j}`,
          parent: oldParent,
          dependencies: prev,
          props: { create: `${i}/${j}` },
        });
        moved.push({
          t: CMD,
          name: `k3s-ha-server-${i}-step-${j}`,
          parent: newParent,
          dependencies: next,
          props: { create: `${i}/${j}` },
        });
      }
    }
    const before = await run(undefined, today);
    expect(before.state.resources).to.have.length(2000);
    const started = Date.now();
    const after = await run(before.state, moved);
    const ms = Date.now() - started;
    expect(after.errors).to.deep.equal([]);
    const ops = after.deployment.steps.map((s) => s.op);
    expect(ops.filter((o) => o === "same")).to.have.length(2000);
    expect(ops.filter((o) => o !== "same")).to.deep.equal(["create"]);
    expect(after.state.resources).to.have.length(2001);
    expect(ms, "model time for 2001 registrations").to.be.below(20_000);
  });
});

describe("engine model: alias_test.go, more cases", function () {
  it("TestDuplicatesDueToAliases: an alias naming a resource registered in the run fails, in either order", async function () {
    const base = await program(undefined, [{ t: "pkgA:m:typA", name: "resA" }], ["create"]);
    // resA first, then resB claiming resA.
    let r = await up(
      base,
      [
        reg("pkgA:m:typA", "resA"),
        reg("pkgA:m:typA", "resB", {}, { options: { aliases: [{ name: "resA" }] } }),
      ],
      { providers: () => provider },
    );
    expect(r.ok).to.equal(false);
    expect(r.errors.join("\n")).to.match(/Duplicate resource alias/);
    expect(r.state.resources.map((x) => short(x.urn))).to.deep.equal(["resA"]);
    // resB claiming resA first, then resA itself.
    r = await up(
      base,
      [
        reg("pkgA:m:typA", "resB", {}, { options: { aliases: [{ name: "resA" }] } }),
        reg("pkgA:m:typA", "resA"),
      ],
      { providers: () => provider },
    );
    expect(r.ok).to.equal(false);
    expect(r.errors.join("\n")).to.match(/already claimed as an alias/);
    expect(r.state.resources.map((x) => short(x.urn))).to.deep.equal(["resB"]);
  });

  it("TestParentAlias: a parent moved under another while its child moves with an alias: all same", async function () {
    const A = urnOf("prog:index:myStandardType", "resA");
    const B = urnOf("prog:index:myType", "resB");
    const first = await up(
      undefined,
      [
        reg("prog:index:myStandardType", "resA", {}, { custom: false }),
        reg("prog:index:myType", "resB", {}, { custom: false }),
        reg("pkgA:m:typA", "resC", {}, { parent: B }),
      ],
      { providers: () => provider },
    );
    const B2 = urnOf("prog:index:myType", "resB", A);
    const second = await up(
      first.state,
      [
        reg("prog:index:myStandardType", "resA", {}, { custom: false }),
        reg(
          "prog:index:myType",
          "resB",
          {},
          { custom: false, parent: A, options: { aliases: [{ parent: "" }] } },
        ),
        reg("pkgA:m:typA", "resC", {}, { parent: A, options: { aliases: [{ parent: B2 }] } }),
      ],
      { providers: () => provider },
    );
    expect(second.errors).to.deep.equal([]);
    expect(second.deployment.steps.map((s) => s.op)).to.deep.equal(["same", "same", "same"]);
    expect(second.state.resources).to.have.length(3);
  });

  it("TestSplitUpdateComponentAliases: a child not registered in a failed run follows its re-parented parent", async function () {
    const A = urnOf("pkgA:m:typA", "resA");
    const first = await up(
      undefined,
      [
        reg("pkgA:m:typA", "resA"),
        reg("pkgA:m:typB", "resB", {}, { custom: false, parent: A }),
        reg("pkgA:m:typC", "resC", {}, { parent: urnOf("pkgA:m:typB", "resB", A) }),
      ],
      { providers: () => provider },
    );
    const cut = await up(
      first.state,
      async (d) => {
        await d.register(
          reg(
            "pkgA:m:typB",
            "resB",
            {},
            { custom: false, options: { aliases: [{ urn: urnOf("pkgA:m:typB", "resB", A) }] } },
          ),
        );
        throw new Error("something went bang");
      },
      { providers: () => provider },
    );
    // The program failed: no deletes; resA stays, resC was not registered.
    expect(cut.state.resources.map((r) => r.urn)).to.deep.equal([
      urnOf("pkgA:m:typB", "resB"),
      A,
      urnOf("pkgA:m:typC", "resC", urnOf("pkgA:m:typB", "resB")),
    ]);
    expect(cut.state.resources[2].parent).to.equal(urnOf("pkgA:m:typB", "resB"));
  });

  it("TestFailDeleteDuplicateAliases: aliases are not written, so a later resource with the old name stays itself", async function () {
    const cloud = new FakeCloud();
    const first = await up(undefined, [reg("pkgA:m:typA", "resA")], {
      providers: () => provider,
      cloud,
    });
    const second = await up(
      first.state,
      [reg("pkgA:m:typA", "resAX", {}, { options: { aliases: [{ name: "resA" }] } })],
      { providers: () => provider, cloud },
    );
    expect(second.state.resources.map((r) => short(r.urn))).to.deep.equal(["resAX"]);
    expect(second.state.resources[0].aliases).to.equal(undefined);
    cloud.failDelete = () => true;
    const third = await up(second.state, [reg("pkgA:m:typA", "resA")], {
      providers: () => provider,
      cloud,
    });
    expect(third.ok).to.equal(false);
    expect(third.state.resources.map((r) => short(r.urn))).to.deep.equal(["resA", "resAX"]);
  });

  it("TestAliasesInProvidersAreNormalized: a moved provider's resources not registered yet follow it in the state", async function () {
    const res0 = urnOf("pkgA:modA:type0", "res0");
    const res1 = urnOf("pkgA:modA:type1", "res1");
    const before: Spec[] = [
      { t: "pkgA:modA:type0", name: "res0", custom: false },
      { t: "pkgA:modA:type1", name: "res1", custom: false },
      { t: "pulumi:providers:pkgA", name: "prov", parent: res1 },
      {
        t: "pkgA:modA:type3",
        name: "res3",
        parent: res1,
        provider: urnOf("pulumi:providers:pkgA", "prov", res1),
      },
    ];
    const first = await run(undefined, before);
    const provId = byName(first.state, "prov").id;
    const movedProv = urnOf("pulumi:providers:pkgA", "prov", res0);
    const after = (withRes3: boolean): Spec[] => [
      before[0],
      before[1],
      { t: "pulumi:providers:pkgA", name: "prov", parent: res0, aliases: [{ parent: res1 }] },
      ...(withRes3
        ? [
            {
              t: "pkgA:modA:type3",
              name: "res3",
              parent: res0,
              provider: movedProv,
              aliases: [{ parent: res1 }],
            },
          ]
        : [{ t: "pkgA:modA:bad", name: "bad" }]),
    ];
    const whole = await run(first.state, after(true));
    expect(whole.errors).to.deep.equal([]);
    expect(whole.log).to.deep.equal([]);
    expect(byName(whole.state, "res3").provider).to.equal(providerRef(movedProv, provId));

    const cloud = new FakeCloud();
    cloud.failCreate = (urn) => urn.endsWith("::bad");
    const cut = await run(first.state, after(false), { cloud });
    expect(cut.ok).to.equal(false);
    // res3 was not registered: it keeps its URN (its parent did not move) and names the provider
    // by the provider's new URN.
    const res3 = byName(cut.state, "res3");
    expect(res3.urn).to.equal(urnOf("pkgA:modA:type3", "res3", res1));
    expect(res3.provider).to.equal(providerRef(movedProv, provId));
  });
});
