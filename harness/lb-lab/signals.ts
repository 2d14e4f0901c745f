/** Tears the lab down when the process is interrupted (Ctrl-C, CI cancel), then exits. */
import { teardownLab } from "./lab";

export function teardownOnSignals(): () => void {
  const handler = (sig: NodeJS.Signals) => {
    console.error(`lab: ${sig}, tearing down`);
    void teardownLab().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  return () => {
    process.removeListener("SIGINT", handler);
    process.removeListener("SIGTERM", handler);
  };
}
