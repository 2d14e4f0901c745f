/**
 * Whole-run plans: ScheduleDeletes order (step_generator.go, dependency_graph.go), the preview
 * rendering per host with masked secrets, and a release's registrations planned against the
 * state they leave.
 */
import { expect } from "chai";
import { formatPlan } from "../../harness/engine/format";
import { planRun } from "../../harness/engine/plan";
import { emptyState, stateFromRegistrations } from "../../harness/engine/state";
import { loadSnapshots } from "../../harness/program/snapshots";
import { command, reg, urnOf } from "./harness";

const CMD = "command:remote:Command";
const conn = (host: string) => ({ secret: { host, port: 22, user: "root" } });

describe("engine model: ScheduleDeletes (step_generator.go)", function () {
  it("deletes dependents first: dependencies, property dependencies, parents, deletedWith, a component's children", async function () {
    const comp = urnOf("k3s:Comp", "comp");
    const u = (n: string, parent = "") => urnOf(CMD, n, parent);
    const regs = [
      reg("k3s:Comp", "comp", {}, { custom: false }),
      command("base", { connection: conn("h1") }, { parent: comp }),
      command(
        "mid",
        { connection: conn("h1"), x: "1" },
        { parent: comp, propertyDependencies: { x: [u("base", comp)] } },
      ),
      command("top", { connection: conn("h2") }, { dependencies: [comp] }),
      command("with", { connection: conn("h2") }, { options: { deletedWith: u("top") } }),
      command("alone", { connection: conn("h3") }),
    ];
    const plan = await planRun(stateFromRegistrations("s", regs), []);
    const order = plan.deleteSchedule.map((chain) => chain.map((x) => x.split("::").pop()).sort());
    // `top` depends on the component, hence on every child before it; `with` goes with `top`.
    // A resource with no dependency lands in the LAST antichain (ScheduleDeletes peels off the
    // resources with no condemned dependency first, then reverses the list).
    expect(order).to.deep.equal([["with"], ["top"], ["mid"], ["base"], ["alone", "comp"]]);
  });
});

describe("engine model: plans rendered per host (pulumi preview)", function () {
  const step = (name: string, host: string, stdin: unknown, triggers: unknown[] = ["t"]) =>
    command(name, {
      connection: conn(host),
      create: `run ${name}`,
      update: `run ${name}`,
      delete: `undo ${name}`,
      stdin,
      triggers,
      addPreviousOutputInEnv: false,
    });

  it("create / update / replace / delete / same per host; a changed secret is a masked update", async function () {
    const before = [
      step("token", "10.0.0.1", { secret: "old-token" }),
      step("config", "10.0.0.1", "a: 1"),
      step("gate", "10.0.0.2", "x"),
      step("removed", "10.0.0.2", "x"),
      step("same", "10.0.0.3", "x"),
    ];
    const after = [
      step("token", "10.0.0.1", { secret: "new-token" }),
      step("config", "10.0.0.1", "a: 1", ["changed"]),
      step("gate", "10.0.0.2", "y"),
      step("same", "10.0.0.3", "x"),
      step("added", "10.0.0.3", "x"),
    ];
    const plan = await planRun(stateFromRegistrations("dev", before), after);
    const ops = Object.fromEntries(plan.changes.map((c) => [c.name, c.op]));
    expect(ops).to.deep.equal({
      token: "update",
      config: "replace",
      gate: "update",
      same: "same",
      added: "create",
      removed: "delete",
    });
    const text = formatPlan(plan);
    expect(text).to.not.contain("old-token");
    expect(text).to.not.contain("new-token");
    expect(text).to.contain("~ update  token: stdin [secret] → [secret]");
    expect(text).to.contain('~ update  gate: stdin "x" → "y"');
    expect(text).to.match(
      /\+-replace config: replaces on triggers\[0\]; old step's delete runs at the end/,
    );
    expect(text).to.contain("- delete  removed: no longer in the program");
    expect(text).to.match(/ {2}10\.0\.0\.1:\n {4}~ update {2}token/);
    expect(text).to.contain("deletes at the end, in this order: [config, removed]");
    expect(text).to.contain(
      "+ 1 to create, ~ 2 to update, +- 1 to replace, - 1 to delete, 1 unchanged",
    );
  });

  it("a new stack plans a create of everything and no delete", async function () {
    const plan = await planRun(emptyState("dev"), [step("a", "h", "x")]);
    expect(plan.changes.map((c) => c.op)).to.deep.equal(["create"]);
    expect(plan.deleteSchedule).to.deep.equal([]);
  });
});

describe("engine model: a release's registrations against the state they leave", function () {
  for (const snapshot of loadSnapshots()) {
    for (const [name, stack] of Object.entries(snapshot.stacks)) {
      it(`${snapshot.release} ${name}: every resource same, nothing deleted`, async function () {
        const plan = await planRun(stateFromRegistrations(name, stack.resources), stack.resources);
        expect(plan.errors).to.deep.equal([]);
        expect(plan.changes.filter((c) => c.op !== "same")).to.deep.equal([]);
        expect(plan.changes).to.have.length(stack.resources.length);
      });
    }
  }
});
