/** extraTlsSans: more addresses or DNS names for the servers' certificate (tls-san). */
import type { RawClusterConfig } from "../config/keys";
import { parseIpAddress } from "../config/address";
import { indexPath, show } from "../config/display";
import { readArray } from "../config/fields";
import { dnsSubdomainProblem } from "../config/dnsNames";
import { Problems } from "../config/problems";

export function readExtraTlsSans(p: Problems, raw: RawClusterConfig): string[] {
  const path = "extraTlsSans";
  const list = readArray(p, path, raw.extraTlsSans, "an array of IP addresses or DNS names") ?? [];
  const sans: string[] = [];
  list.forEach((item, i) => {
    const itemPath = indexPath(path, i);
    if (typeof item !== "string" || item === "") {
      p.error(itemPath, `expected an IP address or DNS name, got ${show(item, itemPath)}`);
      return;
    }
    if (typeof parseIpAddress(item) !== "string") {
      sans.push(item);
      return;
    }
    const problem = dnsSubdomainProblem(item);
    if (problem) {
      p.error(
        itemPath,
        `${show(item, itemPath)} is neither an IP address nor a DNS name: it ${problem}`,
      );
      return;
    }
    sans.push(item);
  });
  return sans;
}
