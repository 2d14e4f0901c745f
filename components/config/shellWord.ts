/**
 * Shell-safe tokens: values that may reach a shell command line unquoted. The charset has no
 * quoting, expansion, globbing, redirection or separator characters, and no whitespace.
 */
import { firstBadChar, show } from "./display";

const SHELL_SAFE_CHAR = /^[A-Za-z0-9._,:=/@%+-]$/;
const SHELL_SAFE_TOKEN = /^[A-Za-z0-9._,:=/@%+-]+$/;
export const SHELL_SAFE_CHARSET = "letters, digits and . _ - + = : , / @ %";

/** True when `value` is a non-empty string a POSIX shell reads as one literal word. */
export function isShellSafeToken(value: unknown): value is string {
  return typeof value === "string" && SHELL_SAFE_TOKEN.test(value);
}

/** Why `value` (a string from the field at `path`) is not shell-safe, or undefined when it is. */
export function shellSafetyProblem(value: string, path: string): string | undefined {
  if (value === "") return "must not be empty";
  const bad = firstBadChar(value, SHELL_SAFE_CHAR);
  if (bad === undefined) return undefined;
  return `${show(value, path)} contains ${bad}, which is not shell-safe (allowed: ${SHELL_SAFE_CHARSET})`;
}
