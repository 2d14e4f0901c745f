/** What the run prints: a row per host with its fingerprint and what the stack pins, loud refusals. */
import { Plan, Row, Status } from "./hostkeys-plan";
import { fingerprint } from "./hostkeys-keys";

function statusText(row: Row): string {
  const s: Status = row.status;
  switch (s.kind) {
    case "same":
      return "pinned: the same key";
    case "new":
      if (row.expected === true) return "not pinned; expected";
      if (row.expected === false) return "not pinned; NOT EXPECTED";
      return "not pinned";
    case "differs":
      return `PINNED KEY DIFFERS (pinned ${fingerprint(s.pinned)})`;
    case "bad-pin":
      return `PINNED hostKey REFUSED: ${s.problem}`;
    case "unconfirmed":
      return `pinned ${s.pinned.type}; known_hosts holds only ${s.types.join(", ")}: unconfirmed`;
    case "missing":
      return s.reason;
  }
}

function hostLabel(row: Row): string {
  const { address, port } = row.host;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** One line per host: name, address:port, key type, SHA256 fingerprint, what the stack pins. */
export function renderTable(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.host.name,
    hostLabel(r),
    r.key?.type ?? "-",
    r.key ? fingerprint(r.key) : "-",
    statusText(r),
  ]);
  const header = ["host", "address", "type", "fingerprint", "stack"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((text, i) => (i === c.length - 1 ? text : text.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), ...cells.map(line)].map((l) => `  ${l}`).join("\n");
}

/** The loud part: every pinned key that differs or is refused, with how to look into it. */
export function renderRefusals(plan: Plan, stackFile: string): string {
  const blocks = plan.refused.map((r) => {
    const s = r.status;
    const lines = [
      `!! HOST KEY ${s.kind === "differs" ? "CHANGED" : "REFUSED"}: ${r.host.name} (${hostLabel(r)})`,
    ];
    if (s.kind === "differs" && r.key) {
      const pinnedLabel = `pinned (${r.host.field}):`;
      const width = pinnedLabel.length;
      lines.push(
        `!!   ${pinnedLabel} ${s.pinned.type} ${fingerprint(s.pinned)}`,
        `!!   ${"presented now:".padEnd(width)} ${r.key.type} ${fingerprint(r.key)}`,
        "!!   The host was reinstalled or its keys were regenerated, or something between you and it",
        "!!   answers in its place. Do not deploy to it until you know which: compare with the key on",
        "!!   the host's own console (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) or your cloud",
        "!!   provider's console output. If the new key is right, replace the hostKey by hand in",
        `!!   ${stackFile} (${r.host.field}); this tool never overwrites a pinned key.`,
      );
    } else if (s.kind === "bad-pin") {
      lines.push(
        `!!   ${s.problem}`,
        `!!   Fix or remove ${r.host.field} in ${stackFile} by hand, then run again.`,
      );
    }
    return lines.join("\n");
  });
  return blocks.join("\n");
}

/** New keys that were not among the expected fingerprints. */
export function renderUnexpected(plan: Plan): string {
  return [
    "Not expected (no --expect value or --expect-file line matches):",
    ...plan.unexpected.map(
      (r) =>
        `  ${r.host.name} (${hostLabel(r)}): ${r.key?.type ?? "-"} ${r.key ? fingerprint(r.key) : "-"}`,
    ),
  ].join("\n");
}
