/** Linux network interface names (IFNAMSIZ is 16 with the terminating NUL). */
import { firstBadChar } from "../../config/display";

const MAX_LENGTH = 15;
/** Linux allows more, but these are the characters that are safe unquoted in a shell. */
const INTERFACE_CHAR = /^[A-Za-z0-9_.-]$/;

/** Why `name` is not a usable interface name, or undefined. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length > MAX_LENGTH) {
    return `is ${name.length} characters long (Linux allows at most ${MAX_LENGTH})`;
  }
  const bad = firstBadChar(name, INTERFACE_CHAR);
  if (bad) return `contains ${bad} (only letters, digits, "_", "." and "-")`;
  if (name.startsWith("-")) return 'must not start with "-"';
  if (name === "." || name === "..") return 'must not be "." or ".."';
  return undefined;
}
