/**
 * Kubernetes name, label and taint syntax (k8s.io/apimachinery validation), plus the kubelet's
 * rule on which kubernetes.io labels a node may set on itself at registration.
 */
import { firstBadChar } from "../config/display";
import { dnsSubdomainProblem } from "../config/dnsNames";

export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;
export type TaintEffect = (typeof TAINT_EFFECTS)[number];

const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const QUALIFIED_NAME_CHAR = /^[-A-Za-z0-9_.]$/;

/** Why `text` is not a qualified-name part (label name or value), phrased without a subject. */
function qualifiedNamePartProblem(text: string): string | undefined {
  if (text.length > 63) return `is ${text.length} characters long (at most 63)`;
  const bad = firstBadChar(text, QUALIFIED_NAME_CHAR);
  if (bad) return `contains ${bad} (only letters, digits, "-", "_" and ".")`;
  if (!QUALIFIED_NAME.test(text)) return "must start and end with a letter or digit";
  return undefined;
}

/** Why `key` is not a label (or taint) key `[prefix/]name`, phrased "name ..." / "prefix ...". */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) return 'has more than one "/"';
  if (parts.length === 2) {
    if (parts[0] === "") return 'has an empty prefix before "/"';
    const prefixProblem = dnsSubdomainProblem(parts[0]);
    if (prefixProblem) return `prefix ${prefixProblem}`;
  }
  const name = parts[parts.length - 1];
  if (name === "") return "has an empty name";
  const nameProblem = qualifiedNamePartProblem(name);
  return nameProblem && `name ${nameProblem}`;
}

/** Why `value` is not a label (or taint) value, or undefined. Empty is allowed. */
export function labelValueProblem(value: string): string | undefined {
  return value === "" ? undefined : qualifiedNamePartProblem(value);
}

/** Labels in these namespaces (and their subdomains) are Kubernetes-reserved. */
const RESERVED_NAMESPACES = ["kubernetes.io", "k8s.io"];
/** Reserved namespaces a kubelet may still set on its own node (and their subdomains). */
const KUBELET_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];
/** Reserved keys a kubelet may still set on its own node. */
const KUBELET_LABELS = new Set([
  "kubernetes.io/hostname",
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "kubernetes.io/instance-type",
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "failure-domain.kubernetes.io/region",
  "failure-domain.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
]);

function inNamespace(namespace: string, domains: string[]): boolean {
  return domains.some((d) => namespace === d || namespace.endsWith(`.${d}`));
}

/**
 * Why the kubelet would refuse to start with `key` in `--node-labels`, or undefined. K3s passes
 * node labels to the kubelet, which rejects reserved ones (e.g. node-role.kubernetes.io/worker;
 * k3s#1289) and the node never registers.
 */
export function kubeletLabelProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  if (slash < 0) return undefined;
  const namespace = key.slice(0, slash);
  if (!inNamespace(namespace, RESERVED_NAMESPACES)) return undefined;
  if (KUBELET_LABELS.has(key) || inNamespace(namespace, KUBELET_NAMESPACES)) return undefined;
  return (
    "is in a kubernetes.io/k8s.io namespace the kubelet may not set on its own node, so it " +
    "would refuse to start (allowed there: [*.]kubelet.kubernetes.io/*, [*.]node.kubernetes.io/* " +
    "and well-known keys such as topology.kubernetes.io/zone); apply it with kubectl after the " +
    "node joins"
  );
}

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
}

const TAINT_FORM = `key[=value]:${TAINT_EFFECTS.join("|")}`;

/** Parses `key[=value]:Effect`, or returns why it is not a taint. */
export function parseTaint(text: string): Taint | string {
  const colon = text.lastIndexOf(":");
  if (colon < 0) return `has no ":Effect" suffix (expected ${TAINT_FORM})`;
  const effect = text.slice(colon + 1);
  if (!(TAINT_EFFECTS as readonly string[]).includes(effect)) {
    return `has an effect that is not one of ${TAINT_EFFECTS.join(", ")}`;
  }
  const spec = text.slice(0, colon);
  const equals = spec.indexOf("=");
  const key = equals < 0 ? spec : spec.slice(0, equals);
  if (key === "") return `has no key (expected ${TAINT_FORM})`;
  const keyProblem = labelKeyProblem(key);
  if (keyProblem) return `key ${keyProblem}`;
  if (equals < 0) return { key, effect: effect as TaintEffect };
  const value = spec.slice(equals + 1);
  const valueProblem = labelValueProblem(value);
  if (valueProblem) return `value ${valueProblem}`;
  return { key, value, effect: effect as TaintEffect };
}
