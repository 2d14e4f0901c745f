/**
 * A plan for a reviewer: per host, the steps an edit updates, replaces, creates or deletes, and for
 * each changed script the lines that differ. Secrets show as [secret], changed or not.
 */
import { PlannedChange, Plan } from "../harness/engine/plan";
import { isSecretValue, reveal } from "../harness/program/mocks";
import { unwrapCommandLine } from "../harness/program/scripts";
import { MASK } from "./offline-config";

const SYMBOL: Record<PlannedChange["op"], string> = {
  create: "+ create ",
  update: "~ update ",
  replace: "+-REPLACE",
  delete: "- delete ",
  same: "  same   ",
};

const MAX_LINES = 8;

function text(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  return v.startsWith("sh -c ") || v.startsWith("sudo -n sh -c ") ? unwrapCommandLine(v) : v;
}

/** Lines only in the old text (-) and only in the new one (+), at most MAX_LINES each. */
function lineDiff(oldText: string, newText: string, indent: string): string[] {
  const olds = oldText.split("\n");
  const news = newText.split("\n");
  const removed = olds.filter((l) => !news.includes(l));
  const added = news.filter((l) => !olds.includes(l));
  const show = (lines: string[], sign: string) => [
    ...lines.slice(0, MAX_LINES).map((l) => `${indent}${sign} ${l.trim()}`),
    ...(lines.length > MAX_LINES ? [`${indent}${sign} … ${lines.length - MAX_LINES} more`] : []),
  ];
  return [...show(removed, "-"), ...show(added, "+")];
}

function keyChange(key: string, c: PlannedChange): string[] {
  const before = c.oldInputs?.[key];
  const after = c.newInputs?.[key];
  if (key === "update") return []; // the same text as `create`
  if (isSecretValue(before) || isSecretValue(after)) return [`      ${key}: ${MASK} changed`];
  const a = text(before);
  const b = text(after);
  if (a !== undefined && b !== undefined && (a.includes("\n") || b.includes("\n"))) {
    return [`      ${key}:`, ...lineDiff(a, b, "        ")];
  }
  const show = (v: unknown) => (v === undefined ? "(none)" : JSON.stringify(reveal(v)));
  return [`      ${key}: ${show(before)} → ${show(after)}`];
}

function describe(c: PlannedChange): string[] {
  const head = `    ${SYMBOL[c.op]} ${c.name}`;
  if (c.op === "create" || c.op === "same") return [head];
  if (c.op === "delete") {
    const hasDelete = typeof reveal(c.oldInputs?.delete) === "string";
    return [`${head}${hasDelete ? " (runs its delete on this host)" : ""}`];
  }
  const lines = [head];
  if (c.op === "replace") {
    lines.push(
      `      replaced on ${c.replaceKeys.join(", ") || "a change"}: ${
        c.replaceMode === "delete-before-replace"
          ? "the old one is deleted first"
          : "the old step's delete runs at the end of the run"
      }`,
    );
  }
  for (const key of c.changedKeys) lines.push(...keyChange(key, c));
  return lines;
}

/** `names` maps a host address to its name in the stack file. */
export function renderPlan(plan: Plan, names: Map<string, string>): string {
  const count = (op: PlannedChange["op"]) => plan.changes.filter((c) => c.op === op).length;
  const out = [
    `stack ${plan.stack}: ${count("update")} to update, ${count("replace")} to replace, ` +
      `${count("create")} to create, ${count("delete")} to delete, ${count("same")} unchanged`,
  ];
  for (const w of plan.warnings) out.push(`warning: ${w}`);
  for (const e of plan.errors) out.push(`error: ${e}`);
  const moving = plan.changes.filter((c) => c.op !== "same" && c.custom);
  const byHost = new Map<string, PlannedChange[]>();
  for (const c of moving) {
    const host = c.host ?? "";
    byHost.set(host, [...(byHost.get(host) ?? []), c]);
  }
  for (const [host, changes] of byHost) {
    out.push(host ? `host ${names.get(host) ?? host} (${host})` : "no host (state only)");
    for (const c of changes) out.push(...describe(c));
  }
  if (plan.deleteSchedule.length > 0) {
    const order = plan.deleteSchedule.map((chain) => chain.map((u) => u.split("::").pop()));
    out.push(
      `deletes at the end of the run, in this order: ${order.map((o) => o.join(", ")).join(" → ")}`,
    );
  }
  return `${out.join("\n")}\n`;
}
