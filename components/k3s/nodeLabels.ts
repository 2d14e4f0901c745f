/** A node's labels and taints, as servers and agents list them. */
import { childPath, indexPath, show } from "../config/display";
import { readArray, readObject } from "../config/fields";
import { Problems } from "../config/problems";
import { kubeletLabelProblem, labelKeyProblem, labelValueProblem, parseTaint } from "./kubernetes";

export function readLabels(p: Problems, path: string, value: unknown): Record<string, string> {
  const raw = readObject(p, path, value, "an object of label keys to values") ?? {};
  const labels: Record<string, string> = {};
  for (const [key, labelValue] of Object.entries(raw)) {
    const keyPath = childPath(path, key);
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) {
      p.error(keyPath, `not a valid label key: ${keyProblem}`);
      continue;
    }
    const reserved = kubeletLabelProblem(key);
    if (reserved) {
      p.error(keyPath, reserved);
      continue;
    }
    if (typeof labelValue !== "string") {
      p.error(keyPath, `expected a string, got ${show(labelValue, keyPath)}`);
      continue;
    }
    const valueProblem = labelValueProblem(labelValue);
    if (valueProblem) {
      p.error(keyPath, `${show(labelValue, keyPath)} is not a valid label value: ${valueProblem}`);
      continue;
    }
    labels[key] = labelValue;
  }
  return labels;
}

export function readTaints(p: Problems, path: string, value: unknown): string[] {
  const list = readArray(p, path, value, "an array of taints such as dedicated=gpu:NoSchedule");
  const taints: string[] = [];
  const seen = new Map<string, string>();
  (list ?? []).forEach((item, i) => {
    const itemPath = indexPath(path, i);
    if (typeof item !== "string") {
      p.error(itemPath, `expected a taint string, got ${show(item, itemPath)}`);
      return;
    }
    const taint = parseTaint(item);
    if (typeof taint === "string") {
      p.error(itemPath, `${show(item, itemPath)} is not a valid taint: ${taint}`);
      return;
    }
    // Kubernetes allows one taint per key and effect.
    const identity = `${taint.key}:${taint.effect}`;
    const earlier = seen.get(identity);
    if (earlier) {
      p.error(itemPath, `repeats the key and effect of ${earlier}`);
      return;
    }
    seen.set(identity, itemPath);
    taints.push(item);
  });
  return taints;
}
