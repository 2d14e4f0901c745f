/** Input checks and address formatting shared by the load-balancer renderers. Pure. */
import * as ipaddr from "ipaddr.js";
import type { LbBackend } from "./haproxy-pair/haproxyCfg";

/** A backend whose address has been checked; `host` is ready to put before `:port`. */
export interface CheckedBackend {
  name: string;
  /** Dotted IPv4, or canonical IPv6 in brackets. */
  host: string;
  family: 4 | 6;
}

// Names end up unquoted in haproxy.cfg and in nginx.conf comments: no spaces, no newlines.
const BACKEND_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The address family of a literal IPv4 (four decimal parts) or IPv6 address, else undefined. */
export function ipFamily(address: string): 4 | 6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return 4;
  // Zone ids (fe80::1%eth0) would need per-host interface names; K3s servers do not use them.
  if (ipaddr.IPv6.isValid(address) && !address.includes("%")) return 6;
  return undefined;
}

/** Records a problem unless `port` is an integer in 1..65535. */
export function checkPort(port: number, field: string, problems: string[]): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`${field}: ${String(port)} is not a TCP port (1-65535)`);
  }
}

/** Checks every backend, recording each problem with its field path; returns the usable ones. */
export function checkBackends(backends: LbBackend[], problems: string[]): CheckedBackend[] {
  if (backends.length === 0) problems.push("backends: at least one backend is required");
  const names = new Set<string>();
  const hosts = new Set<string>();
  const checked: CheckedBackend[] = [];
  backends.forEach((backend, i) => {
    if (!BACKEND_NAME.test(backend.name)) {
      problems.push(
        `backends[${i}].name: ${JSON.stringify(backend.name)} must be 1-63 letters, digits, '.', '_' or '-'`,
      );
    } else if (names.has(backend.name)) {
      problems.push(`backends[${i}].name: ${backend.name} appears more than once`);
    }
    names.add(backend.name);
    const family = ipFamily(backend.address);
    if (family === undefined) {
      problems.push(
        `backends[${i}].address: ${JSON.stringify(backend.address)} is not an IPv4 or IPv6 address`,
      );
      return;
    }
    const host =
      family === 6 ? `[${ipaddr.IPv6.parse(backend.address).toString()}]` : backend.address;
    if (hosts.has(host)) problems.push(`backends[${i}].address: ${host} appears more than once`);
    hosts.add(host);
    checked.push({ name: backend.name, host, family });
  });
  return checked;
}

/** Throws one error naming every problem, if there are any. */
export function failOnProblems(what: string, problems: string[]): void {
  if (problems.length > 0) {
    throw new Error(`cannot render ${what}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}
