/**
 * A plan rendered per host, the way `pulumi preview` lists steps: create (+), update (~),
 * replace (+-), delete (-), same (=), each with the keys that changed. Secret values are
 * masked: a changed secret shows as an update with `[secret]`, never as the value.
 */
import { createHash } from "crypto";
import { isSecretValue } from "../program/mocks";
import { Plan, PlannedChange } from "./plan";
import { isReplaceKind, isUnknown } from "./values";

const SYMBOL: Record<PlannedChange["op"], string> = {
  create: "+ create ",
  update: "~ update ",
  replace: "+-replace",
  delete: "- delete ",
  same: "= same   ",
};

const MASK = "[secret]";

/** A value for display: secrets masked, unknowns named, long text summarised. */
export function showValue(v: unknown): string {
  if (v === undefined) return "(none)";
  if (isSecretValue(v)) return MASK;
  if (isUnknown(v)) return "(known after apply)";
  if (typeof v === "string") {
    if (v.length <= 60 && !v.includes("\n")) return JSON.stringify(v);
    const digest = createHash("sha256").update(v).digest("hex").slice(0, 12);
    return `<${v.length} chars, sha256 ${digest}…>`;
  }
  const masked = JSON.stringify(v, (_k, x: unknown) => (isSecretValue(x) ? MASK : x));
  return masked.length <= 60 ? masked : `<${masked.length} chars of JSON>`;
}

function details(c: PlannedChange): string {
  if (c.op === "same" || c.op === "create") return "";
  if (c.op === "delete") {
    const why =
      c.reason === "pending-delete"
        ? "pending delete of an earlier run"
        : c.reason === "pending-replacement"
          ? "deleted by an earlier delete-before-replace; dropped from the state"
          : c.reason === "dbr-dependent"
            ? "deleted for a delete-before-replace it depends on"
            : "no longer in the program";
    return `: ${why}`;
  }
  if (c.forced) return ": re-run (every input treated as changed)";
  const parts: string[] = [];
  if (c.op === "replace") {
    const replacing = Object.entries(c.detailedDiff)
      .filter(([, kind]) => isReplaceKind(kind))
      .map(([path]) => path);
    const keys = [...new Set([...c.replaceKeys, ...replacing])].sort();
    parts.push(`replaces on ${keys.length > 0 ? keys.join(", ") : (c.reason ?? "a change")}`);
    parts.push(
      c.replaceMode === "delete-before-replace"
        ? "old deleted first"
        : "old step's delete runs at the end",
    );
  }
  for (const key of c.changedKeys) {
    parts.push(`${key} ${showValue(c.oldInputs?.[key])} → ${showValue(c.newInputs?.[key])}`);
  }
  return parts.length > 0 ? `: ${parts.join("; ")}` : "";
}

export function formatChange(c: PlannedChange): string {
  const label = c.custom ? c.name : `${c.name} (${c.type})`;
  return `${SYMBOL[c.op]} ${label}${details(c)}`;
}

/** The plan per host (`connection.host`), in registration order within a host. */
export function formatPlan(plan: Plan): string {
  const byHost = new Map<string, PlannedChange[]>();
  for (const c of plan.changes) {
    const host = c.host ?? "(no host)";
    byHost.set(host, [...(byHost.get(host) ?? []), c]);
  }
  const lines: string[] = [`Preview of stack ${plan.stack}:`];
  for (const w of plan.warnings) lines.push(`warning: ${w.split("\n").join("\n  ")}`);
  for (const [host, changes] of byHost) {
    lines.push(`  ${host}:`);
    for (const c of changes) lines.push(`    ${formatChange(c)}`);
  }
  if (plan.deleteSchedule.length > 0) {
    const order = plan.deleteSchedule.map((chain) =>
      chain.map((u) => u.split("::").pop()).join(", "),
    );
    lines.push(`  deletes at the end, in this order: ${order.map((o) => `[${o}]`).join(" then ")}`);
  }
  const count = (op: PlannedChange["op"]) => plan.changes.filter((c) => c.op === op).length;
  lines.push(
    `  Resources: + ${count("create")} to create, ~ ${count("update")} to update, ` +
      `+- ${count("replace")} to replace, - ${count("delete")} to delete, ${count("same")} unchanged`,
  );
  for (const e of plan.errors) lines.push(`error: ${e}`);
  return lines.join("\n");
}
