/** The lab for one mocha suite: up before its tests, always down after (and on Ctrl-C). */
import { Lab } from "../../harness/lb-lab/lab";
import { LbTier } from "../../harness/lb-lab/lb-tier";
import { teardownOnSignals } from "../../harness/lb-lab/signals";

export function useLab(): { lab: Lab; tier: LbTier } {
  const lab = new Lab();
  const tier = new LbTier(lab.dir);
  let removeSignalHandlers: () => void = () => undefined;

  before(async () => {
    removeSignalHandlers = teardownOnSignals();
    await lab.up();
  });

  after(async () => {
    try {
      await tier.stop();
    } finally {
      await lab.down();
      removeSignalHandlers();
    }
  });
  return { lab, tier };
}
