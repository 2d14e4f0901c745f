/**
 * The validated configuration as the components read it. Names, roles and settings are known
 * when the program runs; a host's address or host key may be another resource's output, known at
 * deploy time only. Whatever is rendered from addresses goes through `derive`, which reads the
 * configuration validated again with the resolved values (or the plain one when nothing is
 * deferred, so a stack of plain addresses renders exactly as before, with no extra outputs).
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../config/types";

export class ClusterView {
  constructor(
    /** The configuration with each deferred address or host key left as the input it is. */
    readonly shape: ClusterConfig<pulumi.Input<string>>,
    private readonly resolved: ClusterConfig | pulumi.Output<ClusterConfig>,
  ) {}

  /** A value computed from the resolved configuration: plain when it is, an output when not. */
  derive<T>(f: (config: ClusterConfig) => T): pulumi.Input<T> {
    const resolved = this.resolved;
    return pulumi.Output.isInstance(resolved) ? resolved.apply(f) : f(resolved);
  }
}
