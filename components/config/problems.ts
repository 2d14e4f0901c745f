/** Collects every problem found in one validation pass, each prefixed with its field path. */
export class Problems {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];

  /**
   * @param rename turns a stack-key path (`lbHosts[1].priority`) into the path the caller's input
   * uses (`loadBalancer.hosts[1].priority`); the stack's own names by default.
   * @param isDeferred true for a value known only at deploy time (another resource's output): the
   * checks that need it are left to the deploy-time pass.
   */
  constructor(
    private readonly rename: (path: string) => string = (path) => path,
    readonly isDeferred: (value: unknown) => boolean = () => false,
  ) {}

  error(path: string, message: string): void {
    this.errors.push(`${this.rename(path)}: ${message}`);
  }

  warn(path: string, message: string): void {
    this.warnings.push(`${this.rename(path)}: ${message}`);
  }
}
