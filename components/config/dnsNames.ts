/** RFC 1123 names: node names (labels) and DNS subdomains, as Kubernetes checks them. */
import { firstBadChar } from "./display";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_CHAR = /^[-a-z0-9]$/;
const DNS_SUBDOMAIN_CHAR = /^[-a-z0-9.]$/;

/** Why `name` is not an RFC 1123 label (a Kubernetes node name), or undefined. */
export function dnsLabelProblem(name: string): string | undefined {
  if (name.length > 63) return `is ${name.length} characters long (at most 63)`;
  const bad = firstBadChar(name, DNS_LABEL_CHAR);
  if (bad) return `contains ${bad} (only lowercase letters, digits and "-")`;
  if (!DNS_LABEL.test(name)) return "must start and end with a lowercase letter or digit";
  return undefined;
}

/** Why `name` is not an RFC 1123 subdomain (a label key prefix), or undefined. */
export function dnsSubdomainProblem(name: string): string | undefined {
  if (name.length > 253) return `is ${name.length} characters long (at most 253)`;
  const bad = firstBadChar(name, DNS_SUBDOMAIN_CHAR);
  if (bad) return `contains ${bad} (only lowercase letters, digits, "-" and ".")`;
  for (const label of name.split(".")) {
    if (!DNS_LABEL.test(label)) {
      return "must be dot-separated labels that start and end with a lowercase letter or digit";
    }
  }
  return undefined;
}
