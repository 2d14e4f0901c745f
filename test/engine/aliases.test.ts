/**
 * Aliases: a port of the basic cases of pkg/engine/lifecycletest/alias_test.go TestAliases
 * (step_generator.go generateAliases / getOldResource; snapshot.go NormalizeURNReferences).
 */
import { expect } from "chai";
import { StackState } from "../support/engine/state";
import { AliasRecord } from "../support/mocks";
import { reg, testProvider, up } from "./harness";

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
