/**
 * Hand-written SVG timeline: successful and failed new connections per 100 ms around a fault, one
 * panel per configuration (baseline, previous, ours, ...) and VRRP mode / roll procedure. Repeated
 * runs: the panel shows the first repeat (the caption says so).
 */
import { BUCKET_MS } from "../../harness/lb-lab/analyze";
import type { ScenarioResult } from "../../harness/lb-lab/scenario";
import { groupKey, rollOf } from "./summary";

const W = 900;
const PANEL_H = 150;
const LEFT = 60;
const RIGHT = 20;
const TOP = 40;
const GAP = 40;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const CONFIG_LABEL: Record<string, string> = {
  baseline: "page's config (baseline)",
  previous: "rendered before issue 12 (previous)",
  ours: "rendered config (ours)",
  "ours-floor": "ours with the advert interval at the floor (ours-floor)",
};
const CONFIG_ORDER = ["baseline", "previous", "ours", "ours-floor"];

export function panelLabel(r: ScenarioResult, runs = 1): string {
  const vrrp = r.spec.fault.startsWith("nginx") ? "" : `, ${r.spec.vrrp} VRRP`;
  const roll = rollOf(r) ? `, roll "${rollOf(r)}"` : "";
  const rep = runs > 1 ? ` (first of ${runs} repeats)` : "";
  return `${CONFIG_LABEL[r.spec.config] ?? r.spec.config}${vrrp}${roll}${rep}`;
}

/** The first run of each (config, VRRP mode, roll) group, page's config first, unicast after. */
export function panels(results: ScenarioResult[]): { r: ScenarioResult; runs: number }[] {
  const groups = new Map<string, ScenarioResult[]>();
  for (const r of results) groups.set(groupKey(r), [...(groups.get(groupKey(r)) ?? []), r]);
  const rank = (r: ScenarioResult) =>
    (r.spec.vrrp === "unicast" ? 10 : 0) +
    (CONFIG_ORDER.indexOf(r.spec.config) + 1 || CONFIG_ORDER.length + 1);
  return [...groups.values()]
    .map((runs) => ({ r: runs[0], runs: runs.length }))
    .sort((a, b) => rank(a.r) - rank(b.r));
}

function marker(r: ScenarioResult): { atMs: number; label: string } | undefined {
  if (r.ejectedAfterMs !== null) return { atMs: r.ejectedAfterMs, label: "stand-in DOWN" };
  if (r.vip?.returnedToAfterMs != null)
    return { atMs: r.vip.returnedToAfterMs, label: "VIP flapped back" };
  if (r.vip?.movedAfterMs != null) return { atMs: r.vip.movedAfterMs, label: "VIP moved" };
  return undefined;
}

export function timelineSvg(title: string, all: ScenarioResult[]): string {
  const shown = panels(all);
  const results = shown.map((p) => p.r);
  const fromMs = Math.min(...results.map((r) => r.timeline.fromMs));
  const toMs = Math.max(
    ...results.map((r) => r.timeline.fromMs + r.timeline.ok.length * BUCKET_MS),
  );
  const plotW = W - LEFT - RIGHT;
  const x = (ms: number) => LEFT + ((ms - fromMs) / (toMs - fromMs)) * plotW;
  const barW = Math.max(1, (BUCKET_MS / (toMs - fromMs)) * plotW - 0.5);
  const yMax = Math.max(
    1,
    ...results.flatMap((r) => r.timeline.ok.map((ok, i) => ok + r.timeline.failed[i])),
  );
  const height = TOP + results.length * (PANEL_H + GAP) + 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${height}" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${LEFT}" y="32">new connections per ${BUCKET_MS} ms by start time: ` +
      `<tspan fill="#2a9d4b">ok</tspan> / <tspan fill="#d62828">failed</tspan>; t=0 is the fault` +
      `${shown.some((p) => p.runs > 1) ? "; repeated faults: the first repeat of each" : ""}</text>`,
  ];
  results.forEach((r, p) => {
    const top = TOP + p * (PANEL_H + GAP) + 14;
    const base = top + PANEL_H;
    const y = (n: number) => (n / yMax) * PANEL_H;
    out.push(
      `<text x="${LEFT}" y="${top - 4}" font-weight="bold">${esc(panelLabel(r, shown[p].runs))}</text>`,
    );
    out.push(`<line x1="${LEFT}" y1="${base}" x2="${W - RIGHT}" y2="${base}" stroke="#444"/>`);
    out.push(`<line x1="${LEFT}" y1="${top}" x2="${LEFT}" y2="${base}" stroke="#444"/>`);
    out.push(`<text x="${LEFT - 6}" y="${top + 4}" text-anchor="end">${yMax}</text>`);
    out.push(`<text x="${LEFT - 6}" y="${base}" text-anchor="end">0</text>`);
    r.timeline.ok.forEach((ok, i) => {
      const failed = r.timeline.failed[i];
      const bx = x(r.timeline.fromMs + i * BUCKET_MS).toFixed(1);
      if (ok) {
        out.push(
          `<rect x="${bx}" y="${(base - y(ok)).toFixed(1)}" width="${barW.toFixed(1)}" height="${y(ok).toFixed(1)}" fill="#2a9d4b"/>`,
        );
      }
      if (failed) {
        out.push(
          `<rect x="${bx}" y="${(base - y(ok) - y(failed)).toFixed(1)}" width="${barW.toFixed(1)}" height="${y(failed).toFixed(1)}" fill="#d62828"/>`,
        );
      }
    });
    for (let s = Math.ceil(fromMs / 5000) * 5000; s <= toMs; s += 5000) {
      out.push(
        `<text x="${x(s).toFixed(1)}" y="${base + 13}" text-anchor="middle">${s / 1000}s</text>`,
      );
    }
    out.push(
      `<line x1="${x(0)}" y1="${top - 2}" x2="${x(0)}" y2="${base}" stroke="#000" stroke-dasharray="4 3"/>`,
      `<text x="${x(0) + 3}" y="${top + 8}">fault</text>`,
    );
    const m = marker(r);
    if (m) {
      out.push(
        `<line x1="${x(m.atMs).toFixed(1)}" y1="${top - 2}" x2="${x(m.atMs).toFixed(1)}" y2="${base}" stroke="#1d4ed8" stroke-dasharray="2 2"/>`,
        `<text x="${(x(m.atMs) + 3).toFixed(1)}" y="${top + 20}" fill="#1d4ed8">${esc(m.label)} +${(m.atMs / 1000).toFixed(1)}s</text>`,
      );
    }
    out.push(
      `<text x="${W - RIGHT}" y="${top - 4}" text-anchor="end">failed ${r.afterFault.failed}/${r.afterFault.attempted} after the fault; watches lost ${r.watches.lost}/${r.watches.opened}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
