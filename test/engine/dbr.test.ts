/**
 * Delete-before-replace: ports of pkg/engine/lifecycletest/delete_before_replace_test.go
 * (TestDeleteBeforeReplace, TestExplicitDeleteBeforeReplace, TestDBRReplaceOnChanges) and the
 * ordering a DBR Command gets (step_generator.go continueStepsFromDiff,
 * calculateDependentReplacements).
 */
import { expect } from "chai";
import { Deployment } from "../../harness/engine/deployment";
import { DiffRequest } from "../../harness/engine/providers";
import { StackState, stateFromRegistrations } from "../../harness/engine/state";
import { PropertyMap, deepEquals } from "../../harness/engine/values";
import { RecordedResource } from "../../harness/program/mocks";
import { command, reg, testProvider, up, urnOf } from "./harness";

const T = "pkgA:index:typ";

/** Replaces when input A changes (against the old outputs); DBR when `dbr()` says so. */
const replaceOnA = (dbr: () => boolean = () => false) =>
  testProvider((req: DiffRequest) =>
    deepEquals(req.oldOutputs.A, req.newInputs.A)
      ? {}
      : { replaceKeys: ["A"], deleteBeforeReplace: dbr() },
  );

function replacedUrns(d: Deployment): string[] {
  return d.steps.filter((s) => s.op === "replace").map((s) => s.urn.split("::").pop()!);
}

describe("engine model: TestDeleteBeforeReplace (delete_before_replace_test.go)", function () {
  // The test's graph, with one change: the model has no provider resources, so "R is the provider
  // of its first dependent" becomes "the first dependent is deletedWith R" (which the engine also
  // replaces with R, calculateDependentReplacements). A is replaced delete-before-replace.
  //             A
  //    _________|_________
  //    B        C        D
  //          ___|___  ___|___
  //          E  F  G  H  I  J
  //             |__|
  //             K  L
  it("replaces exactly A, B, C, E, F and K", async function () {
    const u = (n: string) => urnOf(T, n);
    const node = (
      n: string,
      inputs: PropertyMap,
      deps: string[] = [],
      props: Record<string, string[]> = {},
      deletedWith = "",
    ) =>
      reg(T, n, inputs, {
        dependencies: deps,
        propertyDependencies: props,
        options: { deletedWith, ...(n === "A" ? { deleteBeforeReplace: true } : {}) },
      });
    const graph = (a: string): RecordedResource[] => [
      node("A", { A: a }),
      node("B", {}, [], {}, u("A")),
      node("C", { A: "bar" }, [u("A")], { A: [u("A")] }),
      node("D", { B: "x" }, [u("A")], { B: [u("A")] }),
      node("E", {}, [], {}, u("C")),
      node("F", { A: "f" }, [u("C")], { A: [u("C")] }),
      node("G", { B: "g" }, [u("C")], { B: [u("C")] }),
      node("H", {}, [], {}, u("D")),
      node("I", { A: "i" }, [u("D")], { A: [u("D")] }),
      node("J", { B: "j" }, [u("D")], { B: [u("D")] }),
      node("K", { A: "k" }, [u("F"), u("G")], { A: [u("F"), u("G")] }),
      node("L", { B: "l" }, [u("F"), u("G")], { B: [u("F"), u("G")] }),
    ];
    const old = stateFromRegistrations("test", graph("foo"));
    const r = await up(old, graph("bar"), { providers: () => replaceOnA() });
    expect(r.errors).to.deep.equal([]);
    expect(replacedUrns(r.deployment).sort()).to.deep.equal(["A", "B", "C", "E", "F", "K"]);
    // Every dependent is deleted before A, dependents of dependents first.
    const deletes = r.log.filter((l) => l.startsWith("delete"));
    expect(deletes.indexOf("delete-replaced K")).to.be.lessThan(
      deletes.indexOf("delete-replaced F"),
    );
    expect(deletes.indexOf("delete-replaced F")).to.be.lessThan(
      deletes.indexOf("delete-replaced C"),
    );
    expect(deletes[deletes.length - 1]).to.equal("delete-replaced A");
  });
});

describe("engine model: TestExplicitDeleteBeforeReplace (delete_before_replace_test.go)", function () {
  it("the registration's deleteBeforeReplace, set or unset, against the provider's answer", async function () {
    let dbrDiff = false;
    const providers = () => replaceOnA(() => dbrDiff);
    const inputsA: PropertyMap = { A: "foo" };
    const inputsB: PropertyMap = { A: "foo" };
    let dbrA: boolean | undefined;
    const program = (): RecordedResource[] => [
      reg(
        T,
        "resA",
        { ...inputsA },
        { options: dbrA === undefined ? {} : { deleteBeforeReplace: dbrA } },
      ),
      reg(
        T,
        "resB",
        { ...inputsB },
        {
          dependencies: [urnOf(T, "resA")],
          propertyDependencies: { A: [urnOf(T, "resA")] },
        },
      ),
    ];
    const run = async (state: StackState) => {
      const r = await up(state, program(), { providers });
      expect(r.errors).to.deep.equal([]);
      return r;
    };
    let r = await run((await up(undefined, program(), { providers })).state);

    // A changes: only A is replaced, create-before-delete.
    inputsA.A = "bar";
    r = await run(r.state);
    expect(r.log).to.deep.equal(["create-replacement resA", "delete-replaced resA"]);

    // deleteBeforeReplace on A: A and B are replaced, both deleted first, B before A.
    dbrA = true;
    inputsA.A = "baz";
    r = await run(r.state);
    expect(r.log).to.deep.equal([
      "delete-replaced resB",
      "delete-replaced resA",
      "create-replacement resA",
      "create-replacement resB",
    ]);

    // B changes: only B, create-before-delete.
    inputsB.A = "qux";
    r = await run(r.state);
    expect(r.log).to.deep.equal(["create-replacement resB", "delete-replaced resB"]);

    // deleteBeforeReplace unset on A: create-before-delete again.
    dbrA = undefined;
    inputsA.A = "zam";
    r = await run(r.state);
    expect(r.log).to.deep.equal(["create-replacement resA", "delete-replaced resA"]);

    // The provider asks for DBR: both replaced, deleted first.
    dbrDiff = true;
    inputsA.A = "foo";
    r = await run(r.state);
    expect(r.log).to.deep.equal([
      "delete-replaced resB",
      "delete-replaced resA",
      "create-replacement resA",
      "create-replacement resB",
    ]);

    // The registration says false: the provider's DBR is overridden.
    dbrA = false;
    inputsA.A = "bar";
    r = await run(r.state);
    expect(r.log).to.deep.equal(["create-replacement resA", "delete-replaced resA"]);
  });
});

describe("engine model: TestDBRReplaceOnChanges (delete_before_replace_test.go)", function () {
  it("a dependent whose replaceOnChanges property depends on the DBR resource is deleted first", async function () {
    const providers = () =>
      testProvider((req) =>
        req.urn.endsWith("::resA") ? { replaceKeys: ["value"], deleteBeforeReplace: true } : {},
      );
    const program = (value: string): RecordedResource[] => [
      reg(T, "resA", { value }),
      reg(
        T,
        "resB",
        { value },
        {
          dependencies: [urnOf(T, "resA")],
          propertyDependencies: { value: [urnOf(T, "resA")] },
          options: { replaceOnChanges: ["value"] },
        },
      ),
    ];
    const first = await up(undefined, program("foo"), { providers });
    const r = await up(first.state, program("bar"), { providers });
    expect(r.errors).to.deep.equal([]);
    const log = r.log;
    expect(log.indexOf("delete-replaced resB")).to.be.lessThan(log.indexOf("delete-replaced resA"));
    expect(r.state.resources).to.have.length(2);
  });
});

describe("engine model: a delete-before-replace Command", function () {
  const conn = { secret: { host: "10.0.0.1", port: 22, user: "root" } };
  const step = (name: string, triggers: string[], spec: Parameters<typeof command>[2] = {}) =>
    command(
      name,
      { connection: conn, create: `run ${name}`, delete: `undo ${name}`, triggers },
      spec,
    );

  it("runs the old delete right before the new create; create-before-delete runs it at the end", async function () {
    const program = (t: string, dbr: boolean) => [
      step("first", [t], { options: dbr ? { deleteBeforeReplace: true } : {} }),
      step("second", ["x"], { dependencies: [urnOf("command:remote:Command", "first")] }),
    ];
    const first = await up(undefined, program("1", false));
    const cbd = await up(first.state, program("2", false));
    expect(cbd.log).to.deep.equal(["create-replacement first", "delete-replaced first"]);
    const dbr = await up(cbd.state, program("3", true));
    // `second` depends on `first` through dependsOn only: no property of it changes, so it stays.
    expect(dbr.log).to.deep.equal(["delete-replaced first", "create-replacement first"]);
  });
});
