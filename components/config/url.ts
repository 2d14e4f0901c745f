/** http(s) URLs in the stack: parsed, never with credentials, shell-safe when a shell sees them. */
import { show } from "./display";
import { readString } from "./fields";
import { Problems } from "./problems";
import { shellSafetyProblem } from "./shellWord";

export interface UrlRules {
  /** An example for the messages, e.g. https://registry.example.com:5000. */
  example: string;
  /** Why a user name or password is refused, and where it goes instead. */
  noCredentials: string;
  /** The URL reaches a shell command line or an env file unquoted. */
  shellSafe: boolean;
}

export function readHttpUrl(
  p: Problems,
  path: string,
  value: unknown,
  rules: UrlRules,
): string | undefined {
  const text = readString(p, path, value, `an http(s) URL such as ${rules.example}`);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    p.error(path, `${show(text, path)} is not a URL (expected e.g. ${rules.example})`);
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    p.error(path, `${show(text, path)} is not an http(s) URL`);
    return undefined;
  }
  if (url.username !== "" || url.password !== "") {
    p.error(path, `must not contain a user name or password: ${rules.noCredentials}`);
    return undefined;
  }
  const unsafe = rules.shellSafe ? shellSafetyProblem(text, path) : undefined;
  if (unsafe) {
    p.error(path, unsafe);
    return undefined;
  }
  return text;
}
