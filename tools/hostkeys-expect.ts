/**
 * The fingerprints a non-interactive run accepts: `--expect SHA256:...` (any host) and
 * `--expect-file` lines "name SHA256:..." or "address SHA256:..." (that host only).
 */
import { normalizeFingerprint } from "./hostkeys-keys";

export interface Expectations {
  /** Fingerprints from --expect, good for whichever host presents them. */
  any: Set<string>;
  /** Fingerprints from --expect-file, by host name or address. */
  byHost: Map<string, Set<string>>;
}

export function emptyExpectations(): Expectations {
  return { any: new Set(), byHost: new Map() };
}

/** Adds `--expect` values; returns the problems (values that are not SHA256 fingerprints). */
export function addExpected(into: Expectations, values: string[]): string[] {
  const problems: string[] = [];
  for (const value of values) {
    const fp = normalizeFingerprint(value);
    if (fp) into.any.add(fp);
    else
      problems.push(
        `--expect ${value}: not a fingerprint as ssh-keygen -lf prints it (SHA256:...)`,
      );
  }
  return problems;
}

/** Adds an expect file's lines ("#" comments and blank lines skipped); returns the problems. */
export function addExpectFile(into: Expectations, text: string, file: string): string[] {
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const [host, value, extra] = line.split(/\s+/);
    const fp = value === undefined ? undefined : normalizeFingerprint(value);
    if (!fp || extra !== undefined) {
      problems.push(
        `${file}:${i + 1}: expected "<name or address> SHA256:...", got ${JSON.stringify(raw.trim())}`,
      );
      return;
    }
    const set = into.byHost.get(host) ?? new Set<string>();
    set.add(fp);
    into.byHost.set(host, set);
  });
  return problems;
}

export function hasExpectations(e: Expectations): boolean {
  return e.any.size > 0 || e.byHost.size > 0;
}

/**
 * Whether `fp` is expected for the host: expect-file lines for its name or address decide for that
 * host (another host's fingerprint is not good for it); without such lines, any --expect value.
 */
export function isExpected(
  e: Expectations,
  host: { name: string; address: string },
  fp: string,
): boolean {
  const named = [e.byHost.get(host.name), e.byHost.get(host.address)].filter(
    (s): s is Set<string> => s !== undefined,
  );
  return named.length > 0 ? named.some((s) => s.has(fp)) : e.any.has(fp);
}

/** Expectations no scanned key used, for a warning (a typo, or a host that did not answer). */
export function unusedExpectations(
  e: Expectations,
  used: { name: string; address: string; fingerprint: string }[],
): string[] {
  const unused: string[] = [];
  for (const fp of e.any) {
    if (!used.some((u) => u.fingerprint === fp)) unused.push(`--expect ${fp}`);
  }
  for (const [host, fps] of e.byHost) {
    for (const fp of fps) {
      const hit = used.some((u) => (u.name === host || u.address === host) && u.fingerprint === fp);
      if (!hit) unused.push(`${host} ${fp}`);
    }
  }
  return unused;
}
