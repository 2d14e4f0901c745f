/** Inputs that are plain values stay plain: computing from one makes an output only when it is not. */
import * as pulumi from "@pulumi/pulumi";

/** An output or a promise: a value known only later. */
export function isDeferred(value: unknown): boolean {
  return pulumi.Output.isInstance(value) || value instanceof Promise;
}

export function mapInput<T, U>(value: pulumi.Input<T>, f: (plain: T) => U): pulumi.Input<U> {
  return isDeferred(value) ? pulumi.output(value).apply((v) => f(v as T)) : f(value as T);
}

export function mapAll<U>(
  values: pulumi.Input<string>[],
  f: (plain: string[]) => U,
): pulumi.Input<U> {
  return values.some(isDeferred) ? pulumi.all(values).apply(f) : f(values as string[]);
}
