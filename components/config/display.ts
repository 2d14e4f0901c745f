/**
 * How user input is echoed in messages. A value is shown only when it is short, single-line and
 * neither it nor any key on its path looks like it could hold a secret.
 */

const MAX_SHOWN_LENGTH = 64;
const SECRET_KEY = /token|secret|passw|private|credential|apikey|api_key|kubeconfig/i;
const SECRET_VALUE =
  /-----BEGIN|PRIVATE KEY|^K10[0-9a-f]{8,}|::server:|::node:|token|secret|passw|bearer/i;

/** True for a key segment like `token` or `privateKey`; `sshPrivateKeyPath` names a file, not a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !/path$/i.test(key);
}

function pathHasSecretKey(path: string): boolean {
  return path.split(/[.[\]"]+/).some(isSecretKey);
}

function isShowable(text: string): boolean {
  return text.length <= MAX_SHOWN_LENGTH && !/[\r\n]/.test(text) && !SECRET_VALUE.test(text);
}

/** `value` as it may appear in a message about the field at `path`. */
export function show(value: unknown, path = ""): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return isShowable(value) && !pathHasSecretKey(path)
        ? JSON.stringify(value)
        : `a string of ${value.length} characters (not shown)`;
    case "number":
    case "boolean":
      return pathHasSecretKey(path) ? `a ${typeof value} (not shown)` : String(value);
    case "object":
      return "an object";
    default:
      return `a ${typeof value}`;
  }
}

/** `base.key`, or `base["key"]` when the key is not a plain identifier. */
export function childPath(base: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return base === "" ? key : `${base}.${key}`;
  const shown = isShowable(key) ? JSON.stringify(key) : `<key of ${key.length} characters>`;
  return `${base}[${shown}]`;
}

export function indexPath(base: string, index: number): string {
  return `${base}[${index}]`;
}

/** A plain-language name for one character, for "contains X" messages. */
export function describeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  const named: Record<string, string> = {
    " ": "a space",
    "\t": "a tab",
    "\n": "a newline",
    "\r": "a carriage return",
    "'": "a single quote (')",
    '"': 'a double quote (")',
    "`": "a backtick (`)",
    "\\": "a backslash (\\)",
  };
  if (named[char]) return named[char];
  if (code < 0x20 || code === 0x7f) return `a control character (${hex})`;
  if (code > 0x7e) return `${JSON.stringify(char)} (${hex}, not ASCII)`;
  return JSON.stringify(char);
}

/** The first character of `text` that `allowed` (a one-character pattern) rejects, described. */
export function firstBadChar(text: string, allowed: RegExp): string | undefined {
  for (const char of text) {
    if (!allowed.test(char)) return describeChar(char);
  }
  return undefined;
}

/** Levenshtein distance, to suggest the key a typo meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

/** The allowed key closest to `key`, if it is close enough to be a typo. */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 4)) ? best : undefined;
}
