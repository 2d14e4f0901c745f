/**
 * "previous": what the program rendered before issue 12 (LB tier v2), frozen so every change shows
 * its effect side by side with the page's config and the current render. The keepalived.conf files
 * and the check script under lab/configs/previous/ are the renderer's output at PREVIOUS_COMMIT for
 * the lab's hosts (same interface, router id, priorities, VIP and unicast peers as harness/lb-lab/configs/ours.ts),
 * with one header line naming that commit. HAProxy and Nginx configs are not part of the change:
 * previous uses the current render of both.
 */
import * as fs from "fs";
import * as path from "path";
import { LbHostName } from "../constants";

export const PREVIOUS_COMMIT = "f58bc4880f34a176d16074bf71ce48483f1f912b";
export const PREVIOUS_DIR = path.join(__dirname, "previous");
/** Where the frozen keepalived.conf runs the script (the renderer's path at PREVIOUS_COMMIT). */
export const PREVIOUS_CHECK_SCRIPT_PATH = "/etc/keepalived/check_haproxy.sh";

function fixture(name: string): string {
  const content = fs.readFileSync(path.join(PREVIOUS_DIR, name), "utf8");
  if (!content.includes(`at commit ${PREVIOUS_COMMIT}`)) {
    throw new Error(`${name} does not say it was rendered at ${PREVIOUS_COMMIT}`);
  }
  return content;
}

export function previousKeepalivedConf(host: LbHostName, unicast: boolean): string {
  const conf = fixture(`keepalived-${host}-${unicast ? "unicast" : "multicast"}.conf`);
  if (!conf.includes(`script "${PREVIOUS_CHECK_SCRIPT_PATH}"`)) {
    throw new Error(
      `the frozen keepalived.conf for ${host} does not run ${PREVIOUS_CHECK_SCRIPT_PATH}`,
    );
  }
  return conf;
}

export function previousCheckScript(): string {
  return fixture("check_haproxy.sh");
}
