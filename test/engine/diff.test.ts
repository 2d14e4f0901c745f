/**
 * One resource's diff: ports of pkg/engine/lifecycletest/pulumi_test.go TestReplaceOnChanges and
 * TestSingleResourceIgnoreChanges, and what the diff means for this program's Commands
 * (pulumi-command v1.2.1 through pulumi-go-provider v1.3.0 infer, plus the SDK's forced
 * `replaceOnChanges: ["triggers[*]"]`).
 */
import { expect } from "chai";
import { StackState } from "../../harness/engine/state";
import { diffResource } from "../../harness/engine/diff";
import { COMMAND_PROVIDER, DiffRequest } from "../../harness/engine/providers";
import { stateFromRegistrations } from "../../harness/engine/state";
import { PropertyMap, diffMaps, detailedDiffOf } from "../../harness/engine/values";
import { command, reg, testProvider, up } from "./harness";

const TYPE = "pkgA:m:typA";

/** updateProgramWithProps: one resA registration; returns the new state and resA's step ops. */
async function runWith(
  state: StackState | undefined,
  props: PropertyMap,
  options: { replaceOnChanges?: string[]; ignoreChanges?: string[] },
  diff?: (req: DiffRequest) => ReturnType<typeof COMMAND_PROVIDER.diff>,
): Promise<{ state: StackState; ops: string[] }> {
  const provider = testProvider(diff ?? (() => ({})));
  const r = await up(state, [reg(TYPE, "resA", props, { options })], { providers: () => provider });
  expect(r.errors).to.deep.equal([]);
  const ops = r.deployment.steps.filter((s) => s.urn.endsWith("::resA")).map((s) => s.op);
  return { state: r.state, ops };
}

describe("engine model: TestReplaceOnChanges (pulumi_test.go)", function () {
  // "provider diff": 42 counts as unchanged, so the provider's diff (not the engine's) is the one used.
  const providerDiff = (req: DiffRequest) => {
    const news = { ...req.newInputs };
    for (const [k, v] of Object.entries(news)) if (v === 42) news[k] = req.oldOutputs[k];
    const d = diffMaps(req.oldOutputs, news);
    if (!d)
      return {
        changes: "none" as const,
        replaceKeys: [],
        changedKeys: [],
        deleteBeforeReplace: false,
      };
    return {
      changes: "some" as const,
      replaceKeys: [],
      changedKeys: Object.keys(detailedDiffOf(d)).map((p) => p.split(/[.[]/)[0]),
      detailedDiff: detailedDiffOf(d),
      deleteBeforeReplace: false,
    };
  };
  for (const [label, diff] of [
    ["provider diff", providerDiff],
    ["engine diff", undefined],
  ] as const) {
    it(label, async function () {
      const replaced = ["create-replacement", "replace", "delete-replaced"];
      let s = await runWith(
        undefined,
        { a: 1, b: { c: "foo" } },
        { replaceOnChanges: ["a", "b.c"] },
        diff,
      );
      expect(s.ops).to.deep.equal(["create"]);
      s = await runWith(s.state, { a: 2, b: { c: "foo" } }, { replaceOnChanges: ["a"] }, diff);
      expect(s.ops).to.have.members(replaced);
      s = await runWith(s.state, { a: 2, b: { c: "bar" } }, { replaceOnChanges: ["b.c"] }, diff);
      expect(s.ops).to.have.members(replaced);
      s = await runWith(s.state, { a: 3, b: { c: "baz" } }, { replaceOnChanges: ["*"] }, diff);
      expect(s.ops).to.have.members(replaced);
      s = await runWith(s.state, { a: 4, b: { c: "qux" } }, {}, diff);
      expect(s.ops).to.deep.equal(["update"]);
      s = await runWith(s.state, { a: 42, b: { c: "qux" } }, { replaceOnChanges: ["a"] }, diff);
      expect(s.ops).to.have.members(diff ? ["same"] : replaced);
    });
  }
});

describe("engine model: TestSingleResourceIgnoreChanges (pulumi_test.go)", function () {
  it("ignored properties give same, un-ignored ones update, sub-elements and secrets included", async function () {
    const steps: [PropertyMap, string[] | undefined, string][] = [
      [
        { a: 1, b: { c: "foo" }, d: [1], e: [1], f: { g: { h: "bar" } } },
        ["a", "b.c", "d", "e[0]", 'f.g["h"]'],
        "create",
      ],
      [
        { a: 2, b: { c: "bar" }, d: [2], e: [2], f: { g: { h: "baz" } } },
        ["a", "b.c", "d", "e[0]", 'f.g["h"]'],
        "same",
      ],
      [{ a: 3, b: { c: "qux" }, d: [3], e: [3], f: { g: { h: "qux" } } }, undefined, "update"],
      [{ e: [] }, ["a", "b", "d", "e", "f"], "same"],
      [{ e: [] }, undefined, "update"],
      [{ a: 4, b: { c: "zed" }, d: [4], e: [] }, ["a", "b", "d", "e[0]", "f"], "same"],
      [{ e: [], i: 4 }, ["a", "b", "d", "e", "f"], "update"],
      [{ a: 3, b: ["foo", "bar"] }, undefined, "update"],
      [{ a: 3, b: ["foo", "baz"] }, ["b[1]"], "same"],
      [{ a: 3, b: ["foo", "baz"] }, ["b[*]"], "same"],
      // A provider that answers "unknown" leaves the diff to the engine, which unwraps secrets.
      [{ a: 3, b: { secret: ["foo", "bar"] } }, undefined, "same"],
      [{ a: 3, b: { secret: ["foo", "baz"] } }, ["b[1]"], "same"],
    ];
    let state: StackState | undefined;
    for (const [props, ignoreChanges, op] of steps) {
      const s = await runWith(state, props, { ignoreChanges: ignoreChanges ?? [] });
      expect(s.ops, JSON.stringify(props)).to.deep.equal([op]);
      state = s.state;
    }
  });
});

describe("engine model: this program's Commands (command provider + SDK options)", function () {
  const conn = {
    secret: { host: "10.0.0.1", port: 22, user: "root", dialErrorLimit: 10, perDialTimeout: 15 },
  };
  const base = {
    connection: conn,
    create: "sh -c 'install'",
    update: "sh -c 'install'",
    delete: "sh -c 'uninstall'",
    stdin: "content",
    triggers: ["h1", { secret: "h2" }],
    addPreviousOutputInEnv: false,
  };
  const old = stateFromRegistrations("s", [command("step", base)]).resources[0];
  const diffOf = (inputs: PropertyMap, ignoreChanges: string[] = []) =>
    diffResource(old, command("step", inputs, { options: { ignoreChanges } }), COMMAND_PROVIDER);

  it("a changed trigger REPLACES the step although `update` is set (SDK's triggers[*])", function () {
    const d = diffOf({ ...base, triggers: ["h1-changed", { secret: "h2" }] });
    expect(d.replace).to.equal(true);
    expect(d.detailedDiff).to.deep.equal({ "triggers[0]": "update-replace" });
    expect(d.deleteBeforeReplace).to.equal(false);
    const secretTrigger = diffOf({ ...base, triggers: ["h1", { secret: "h2-changed" }] });
    expect(secretTrigger.replace).to.equal(true);
  });

  it("triggers added or removed as a whole replace (the schema's replaceOnChanges)", function () {
    const { triggers: _t, ...withoutTriggers } = base;
    const removed = diffOf(withoutTriggers);
    expect(removed.replace).to.equal(true);
    expect(removed.detailedDiff).to.deep.equal({ triggers: "delete-replace" });
    expect(removed.replaceKeys).to.deep.equal(["triggers"]);
  });

  it('ignoreChanges: ["triggers"] with the new inputs lacking triggers: same, old triggers kept', function () {
    const { triggers: _t, ...withoutTriggers } = base;
    const d = diffOf(withoutTriggers, ["triggers"]);
    expect(d.changes).to.equal(false);
    expect(d.inputs.triggers).to.deep.equal(base.triggers);
    const changed = diffOf({ ...base, triggers: ["other"] }, ["triggers"]);
    expect(changed.changes).to.equal(false);
  });

  for (const key of ["create", "update", "stdin", "delete"] as const) {
    it(`a changed ${key} is an in-place update`, function () {
      const d = diffOf({ ...base, [key]: `${base[key]} changed` });
      expect(d.changes).to.equal(true);
      expect(d.replace).to.equal(false);
      expect(d.changedKeys).to.deep.equal([key]);
    });
  }

  it("a changed connection (a secret as a whole) is an update of `connection`", function () {
    const d = diffOf({ ...base, connection: { secret: { ...conn.secret, host: "10.0.0.2" } } });
    expect(d.replace).to.equal(false);
    expect(d.detailedDiff).to.deep.equal({ connection: "update" });
  });

  it("secret vs plain of an equal value is a change; secret → secret of another value too", function () {
    const toSecret = diffOf({ ...base, stdin: { secret: "content" } });
    expect(toSecret.changedKeys).to.deep.equal(["stdin"]);
    const secretOld = stateFromRegistrations("s", [
      command("step", { ...base, stdin: { secret: "a" } }),
    ]).resources[0];
    const rotated = diffResource(
      secretOld,
      command("step", { ...base, stdin: { secret: "b" } }),
      COMMAND_PROVIDER,
    );
    expect(rotated.changes && !rotated.replace).to.equal(true);
    const same = diffResource(
      secretOld,
      command("step", { ...base, stdin: { secret: "a" } }),
      COMMAND_PROVIDER,
    );
    expect(same.changes).to.equal(false);
  });

  it("no change at all is same; `version` and `__` keys are ignored by infer", function () {
    expect(diffOf({ ...base }).changes).to.equal(false);
    expect(diffOf({ ...base, __internal: 1 }).changes).to.equal(false);
  });

  it("deleteBeforeReplace comes from the registration only (infer never sets it)", function () {
    const r = command(
      "step",
      { ...base, triggers: ["x"] },
      { options: { deleteBeforeReplace: true } },
    );
    expect(diffResource(old, r, COMMAND_PROVIDER).deleteBeforeReplace).to.equal(true);
  });
});
