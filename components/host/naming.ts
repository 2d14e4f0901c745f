/**
 * Names of a cluster's resources. A cluster a program imports prefixes each with its own name, so
 * two clusters in one program never collide. k3s-ha's own stack program (one cluster per stack)
 * keeps the names its earlier releases gave, unprefixed, and aliases the resources they made at
 * the root of the stack to their old place and type: a stack deployed before this component
 * existed is updated in place. Their children keep their names and follow them: in a whole run
 * through the aliases the engine inherits to children, in a run cut short and retried through
 * their URNs, which the engine moved below the moved parent (NormalizeURNReferences in
 * pulumi/pulumi pkg/resource/deploy/snapshot.go).
 */
import * as pulumi from "@pulumi/pulumi";

export class Naming {
  constructor(
    /** The prefix of every name ("" for the stack program's cluster). */
    readonly prefix: string,
    /** Alias the resources the stack program made at the root to their old place. */
    readonly fromStackProgram: boolean,
  ) {}

  /** A resource's name: the cluster's prefix, then the resource's own. */
  name(local: string): string {
    return this.prefix === "" ? local : `${this.prefix}-${local}`;
  }

  /**
   * Options of a resource the stack program made at the root of the stack (a component, the
   * registration gate, the host records): its old type, when it changed, and no parent.
   */
  formerlyAtRoot(local: string, formerType?: string): Pick<pulumi.ResourceOptions, "aliases"> {
    if (!this.fromStackProgram) return {};
    return {
      aliases: [
        { name: local, parent: pulumi.rootStackResource, ...(formerType && { type: formerType }) },
      ],
    };
  }
}
