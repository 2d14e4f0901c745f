/** One error listing every problem with the configuration, each with its field path. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}
