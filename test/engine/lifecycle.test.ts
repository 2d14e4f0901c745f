/**
 * Runs with failures, pending deletes and pending operations: ports of pkg/engine/lifecycletest
 * pulumi_test.go (TestUpdatePartialFailure, TestPendingDeleteOrder, TestPendingDeleteReplacement,
 * TestUpdateShowsWarningWithPendingOperations) and pending_delete_test.go
 * (TestDestroyWithPendingDelete, TestUpdateWithPendingDelete), plus the step executor's and
 * deployment executor's failure rules (step_executor.go, deployment_executor.go, snapshot.go).
 */
import { expect } from "chai";
import { Deployment, PartialFailure, ProviderOps } from "../../harness/engine/deployment";
import { DiffRequest } from "../../harness/engine/providers";
import { StackState } from "../../harness/engine/state";
import { deepEquals } from "../../harness/engine/values";
import { FakeCloud, destroy, reg, summary, testProvider, up, urnOf } from "./harness";

const A = "pkgA:m:typA";
const B = "pkgA:m:typB";

/** Replaces when `key` of the old outputs differs from the new inputs (the tests' DiffF). */
const replaceOn = (keys: Record<string, string[]>, dbr: Record<string, boolean> = {}) =>
  testProvider((req: DiffRequest) => {
    for (const key of keys[req.type] ?? []) {
      if (!deepEquals(req.oldOutputs[key], req.newInputs[key])) {
        return {
          changes: "some",
          replaceKeys: [key],
          detailedDiff: { [key]: "update-replace" },
          deleteBeforeReplace: dbr[req.type] ?? false,
        };
      }
    }
    return {};
  });

/** A cloud that refuses to delete a resource another one still refers to by id. */
class ReferenceCheckingCloud extends FakeCloud {
  override async delete(req: { urn: string; id: string }) {
    for (const [other, props] of this.resources) {
      if (Object.values(props).some((v) => v === req.id)) {
        throw new Error(`Can not delete ${req.id} used by ${other}`);
      }
    }
    return super.delete(req);
  }
}

describe("engine model: failures (step.go, step_executor.go, snapshot.go)", function () {
  it("a failed create leaves nothing in the state; the next run creates it", async function () {
    const cloud = new FakeCloud();
    cloud.failCreate = (urn) => urn.endsWith("::b");
    const first = await up(undefined, [reg(A, "a"), reg(A, "b", { x: 1 })], { cloud });
    expect(first.ok).to.equal(false);
    expect(summary(first.state)).to.deep.equal(["a"]);
    expect(first.state.pendingOperations).to.deep.equal([]);
    cloud.failCreate = () => false;
    const second = await up(first.state, [reg(A, "a"), reg(A, "b", { x: 1 })], { cloud });
    expect(second.log).to.deep.equal(["create b"]);
  });

  it("a failed update keeps the old state, so the next run updates again", async function () {
    const cloud = new FakeCloud();
    const first = await up(undefined, [reg(A, "a", { v: 1 })], { cloud });
    cloud.failUpdate = () => true;
    const providers = () => testProvider(() => ({}));
    const failed = await up(first.state, [reg(A, "a", { v: 2 })], { cloud, providers });
    expect(failed.ok).to.equal(false);
    expect(failed.state.resources[0].inputs).to.deep.equal({ v: 1 });
    cloud.failUpdate = () => false;
    const again = await up(failed.state, [reg(A, "a", { v: 2 })], { cloud, providers });
    expect(again.log).to.deep.equal(["update a"]);
    expect(again.state.resources[0].inputs).to.deep.equal({ v: 2 });
  });

  it("TestUpdatePartialFailure: a partially failed update keeps the OLD inputs and the NEW outputs", async function () {
    const first = await up(undefined, [reg(A, "resA", { input_prop: "old inputs" })]);
    const cloud: ProviderOps = {
      ...new FakeCloud(),
      create: () => Promise.reject(new Error("unexpected")),
      delete: () => Promise.resolve(),
      update: () =>
        Promise.reject(new PartialFailure("update failed to apply", { output_prop: 42 }, ["boom"])),
    };
    const r = await up(first.state, [reg(A, "resA", { input_prop: "new inputs" })], {
      cloud,
      providers: () => testProvider(() => ({ changes: "some" })),
    });
    expect(r.ok).to.equal(false);
    expect(r.state.resources[0].inputs).to.deep.equal({ input_prop: "old inputs" });
    expect(r.state.resources[0].outputs).to.deep.equal({ output_prop: 42 });
    expect(r.state.resources[0].initErrors).to.deep.equal(["boom"]);
  });

  it("a resource with init errors is updated on the next run even without a change", async function () {
    const state: StackState = (await up(undefined, [reg(A, "a", { v: 1 })])).state;
    state.resources[0].initErrors = ["not ready"];
    const r = await up(state, [reg(A, "a", { v: 1 })]);
    expect(r.log).to.deep.equal(["update a"]);
    expect(r.state.resources[0].initErrors).to.equal(undefined);
  });

  it("after a failed step no new step starts; steps already running finish and are recorded", async function () {
    const cloud = new FakeCloud();
    cloud.delay = (urn) => (urn.endsWith("::slow") ? 50 : 0);
    cloud.failCreate = (urn) => urn.endsWith("::bad");
    const r = await up(
      undefined,
      async (d: Deployment) => {
        const slow = d.register(reg(A, "slow"));
        const bad = d.register(reg(A, "bad")).catch((e: Error) => e);
        await bad;
        const late = await d.register(reg(A, "late")).catch((e: Error) => e.message);
        expect(late).to.match(/canceled/);
        await slow;
      },
      { cloud },
    );
    expect(r.ok).to.equal(false);
    expect(r.log).to.deep.equal(["create slow"]);
    expect(summary(r.state)).to.deep.equal(["slow"]);
  });

  it("no deletes after a failure: a removed resource stays until a run succeeds", async function () {
    const cloud = new FakeCloud();
    const first = await up(undefined, [reg(A, "keep"), reg(A, "gone")], { cloud });
    cloud.failCreate = () => true;
    const failed = await up(first.state, [reg(A, "keep"), reg(A, "new")], { cloud });
    expect(failed.log).to.deep.equal([]);
    expect(summary(failed.state)).to.have.members(["keep", "gone"]);
    cloud.failCreate = () => false;
    const ok = await up(failed.state, [reg(A, "keep"), reg(A, "new")], { cloud });
    expect(ok.log).to.deep.equal(["create new", "delete gone"]);
  });

  it("a failed delete keeps the resource; the next run deletes it again", async function () {
    const cloud = new FakeCloud();
    const first = await up(undefined, [reg(A, "a"), reg(A, "b")], { cloud });
    cloud.failDelete = () => true;
    const failed = await up(first.state, [reg(A, "a")], { cloud });
    expect(failed.ok).to.equal(false);
    expect(summary(failed.state)).to.deep.equal(["a", "b"]);
    cloud.failDelete = () => false;
    const again = await up(failed.state, [reg(A, "a")], { cloud });
    expect(again.log).to.deep.equal(["delete b"]);
  });

  it("a CLI stopped mid-step leaves the step's pending operation in the last state written", async function () {
    const cloud = new FakeCloud();
    cloud.delay = (urn) => (urn.endsWith("::b") ? 30 : 0);
    const written: StackState[] = [];
    const r = await up(
      undefined,
      async (d: Deployment) => {
        await d.register(reg(A, "a"));
        const b = d.register(reg(A, "b")).catch(() => undefined);
        await new Promise((res) => setTimeout(res, 5));
        d.terminate();
        await b;
      },
      { cloud, onCheckpoint: (s) => written.push(s) },
    );
    expect(r.ok).to.equal(false);
    const last = written[written.length - 1];
    expect(summary(last)).to.deep.equal(["a"]);
    expect(last.pendingOperations.map((op) => [op.type, op.resource.urn])).to.deep.equal([
      ["creating", urnOf(A, "b")],
    ]);
  });
});

describe("engine model: TestUpdateShowsWarningWithPendingOperations (pulumi_test.go)", function () {
  it("warns about every pending operation and keeps only the pending CREATE ones", async function () {
    const resA = (await up(undefined, [reg(A, "resA")])).state.resources[0];
    const old: StackState = {
      stack: "test",
      resources: [resA],
      pendingOperations: [
        { resource: resA, type: "updating" },
        { resource: { ...resA, urn: urnOf(A, "resB") }, type: "creating" },
      ],
    };
    const r = await up(old, [reg(A, "resA")]);
    expect(r.ok).to.equal(true);
    expect(r.warnings).to.have.length(1);
    expect(r.warnings[0]).to.contain(
      "Attempting to deploy or update resources with 2 pending operations from previous deployment.",
    );
    expect(r.warnings[0]).to.contain(`  * ${urnOf(A, "resB")}, interrupted while creating`);
    expect(r.state.pendingOperations.map((op) => [op.type, op.resource.urn])).to.deep.equal([
      ["creating", urnOf(A, "resB")],
    ]);
    // ...and on every later run.
    const later = await up(r.state, [reg(A, "resA")]);
    expect(later.warnings).to.have.length(1);
    expect(later.state.pendingOperations).to.have.length(1);
  });
});

describe("engine model: pending deletes (pulumi_test.go, pending_delete_test.go)", function () {
  it("TestPendingDeleteOrder: a replaced A waits (delete: true) until B is replaced, then B's delete comes first", async function () {
    const cloud = new ReferenceCheckingCloud();
    const providers = () => replaceOn({ [A]: ["foo"], [B]: ["parent"] });
    const program = (foo: string) => async (d: Deployment) => {
      const a = await d.register(reg(A, "resA", { foo }));
      await d.register(reg(B, "resB", { parent: a.id }, { dependencies: [urnOf(A, "resA")] }));
    };
    const first = await up(undefined, program("bar"), { cloud, providers });
    expect(summary(first.state)).to.deep.equal(["resA", "resB"]);

    cloud.failCreate = (urn) => urn.includes("typB");
    const failed = await up(first.state, program("baz"), { cloud, providers });
    expect(failed.ok).to.equal(false);
    expect(summary(failed.state)).to.deep.equal(["resA", "resA (delete)", "resB"]);

    cloud.failCreate = () => false;
    const retried = await up(failed.state, program("baz"), { cloud, providers });
    expect(retried.errors).to.deep.equal([]);
    expect(retried.log).to.deep.equal([
      "create-replacement resB",
      "delete-replaced resB",
      "delete-replaced resA",
    ]);
    expect(summary(retried.state)).to.deep.equal(["resA", "resB"]);
  });

  it("TestPendingDeleteReplacement: a failed delete of a replaced B, then a DBR replacement of A", async function () {
    const cloud = new ReferenceCheckingCloud();
    const providers = () => replaceOn({ [A]: ["foo"], [B]: ["parent", "frob"] }, { [A]: true });
    const program = (foo: string, frob: string) => async (d: Deployment) => {
      const a = await d.register(reg(A, "resA", { foo }));
      await d.register(
        reg(
          B,
          "resB",
          { parent: a.id, frob },
          {
            dependencies: [urnOf(A, "resA")],
            propertyDependencies: { parent: [urnOf(A, "resA")] },
          },
        ),
      );
    };
    const first = await up(undefined, program("bar", "active"), { cloud, providers });
    cloud.failDelete = (urn) => urn.includes("typB");
    const failed = await up(first.state, program("bar", "inactive"), { cloud, providers });
    expect(failed.ok).to.equal(false);
    expect(summary(failed.state)).to.deep.equal(["resA", "resB", "resB (delete)"]);

    cloud.failDelete = () => false;
    const replaced = await up(failed.state, program("baz", "inactive"), { cloud, providers });
    expect(replaced.errors).to.deep.equal([]);
    expect(replaced.log).to.deep.equal([
      "delete resB",
      "delete-replaced resB",
      "delete-replaced resA",
      "create-replacement resA",
      "create-replacement resB",
    ]);
    expect(summary(replaced.state)).to.deep.equal(["resA", "resB"]);
    expect(cloud.resources.size).to.equal(2);
  });

  const twoCopies = async (): Promise<StackState> => {
    const live = (await up(undefined, [reg(A, "resA")])).state.resources[0];
    return {
      stack: "test",
      resources: [
        { ...live, id: "1" },
        { ...structuredClone(live), id: "0", delete: true },
      ],
      pendingOperations: [],
    };
  };

  it("TestDestroyWithPendingDelete: an update deletes the pending copy (DeleteReplaced) and the removed one (Delete)", async function () {
    const r = await up(await twoCopies(), []);
    const deleted = r.deployment.steps
      .filter((s) => s.op === "delete" || s.op === "delete-replaced")
      .map((s) => `${s.op} ${s.op === "delete" || s.op === "delete-replaced" ? s.old.id : ""}`);
    expect(deleted).to.have.members(["delete 1", "delete-replaced 0"]);
    expect(r.state.resources).to.deep.equal([]);
  });

  it("TestUpdateWithPendingDelete: a destroy deletes both copies", async function () {
    const r = await destroy(await twoCopies());
    expect(r.log).to.have.members(["delete resA", "delete-replaced resA"]);
    expect(r.state.resources).to.deep.equal([]);
  });
});

describe("engine model: outputs as the engine stores them (step_executor.go)", function () {
  it("additionalSecretOutputs and outputs of secret inputs become secret", async function () {
    const r = await up(
      undefined,
      [
        reg(
          A,
          "a",
          { connection: { secret: { host: "h" } }, stdin: "x" },
          {
            options: { additionalSecretOutputs: ["stdout"] },
          },
        ),
      ],
      {
        cloud: {
          ...new FakeCloud(),
          create: (req) =>
            Promise.resolve({
              id: "1",
              outputs: { ...req.inputs, connection: { host: "h" }, stdout: "out" },
            }),
          update: () => Promise.reject(new Error("no")),
          delete: () => Promise.resolve(),
        },
      },
    );
    const outputs = r.state.resources[0].outputs;
    expect(outputs.stdout).to.deep.equal({ secret: "out" });
    expect(outputs.connection).to.deep.equal({ secret: { host: "h" } });
    expect(outputs.stdin).to.equal("x");
  });
});
