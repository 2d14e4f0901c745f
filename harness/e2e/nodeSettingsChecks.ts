/**
 * Whether the stack's registries and proxy are in effect on K3s hosts, read where they show on a
 * real host too: registries.yaml and the containerd registry files K3s writes from it at its
 * start (certs.d/<registry>/hosts.toml), the unit's env file the installer wrote, and the
 * environment of the running K3s process (/proc/<pid>/environ, which systemd built from it).
 */
import { expect } from "chai";
import * as fs from "fs";
import { K3sNodeName } from "./constants";
import { E2eLab } from "./lab";
import { E2eHost } from "./host";
import { exists, fileMode, fileText, installedFiles, k3sProcess, K3S_DATA_DIR } from "./inspect";

const REGISTRIES = "/etc/rancher/k3s/registries.yaml";
const CONTAINERD = `${K3S_DATA_DIR}/agent/etc/containerd`;

/** The environment the host's running K3s process was started with. */
export async function k3sEnvironment(host: E2eHost): Promise<Record<string, string>> {
  const process = await k3sProcess(host);
  if (!process) throw new Error(`${host.name}: no K3s process`);
  const out = await host.exec("sh", ["-c", `tr '\\0' '\\n' </proc/${process.pid}/environ`]);
  return Object.fromEntries(
    out
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/**
 * Each node's K3s started after `sinceMs` and, in this order, one after the other: the servers as
 * listed, then the agents (a restart of every node, rolled).
 */
export async function expectRestartedInOrder(
  lab: E2eLab,
  servers: readonly K3sNodeName[],
  agents: readonly K3sNodeName[],
  sinceMs: number,
): Promise<void> {
  const started = new Map<string, number>();
  for (const name of [...servers, ...agents]) {
    const process = await k3sProcess(lab.host(name));
    expect(process, `${name}: a K3s process`).to.not.equal(null);
    started.set(name, process!.startedAtMs);
    expect(process!.startedAtMs, `${name} restarted during the edit`).to.be.greaterThan(sinceMs);
  }
  for (let i = 1; i < servers.length; i++) {
    expect(
      started.get(servers[i])!,
      `${servers[i]} restarted after ${servers[i - 1]}`,
    ).to.be.greaterThan(started.get(servers[i - 1])!);
  }
  const lastServer = started.get(servers[servers.length - 1])!;
  for (const a of agents) {
    expect(started.get(a)!, `${a} restarted after the last server`).to.be.greaterThan(lastServer);
  }
}

export interface RegistriesExpected {
  registry: string;
  /** What hosts.toml names the endpoint as (`[host."<url>/v2"]`). */
  hostEntry: string;
  /** The registry whose credentials containerd got. */
  authFor?: string;
}

/** registries.yaml as written (0600) and what K3s made of it at its last start; or none of it. */
export function expectRegistries(
  lab: E2eLab,
  nodes: readonly K3sNodeName[],
  expected: RegistriesExpected | null,
): void {
  for (const name of nodes) {
    const host = lab.host(name);
    if (!expected) {
      expect(exists(host, REGISTRIES), `${name}:${REGISTRIES} removed`).to.equal(false);
      expect(hostsDirs(host), `${name}: containerd's registry hosts`).to.deep.equal([]);
      continue;
    }
    expect(fileMode(host, REGISTRIES), `${name}:${REGISTRIES}`).to.equal("0600");
    const hosts = fileText(host, `${CONTAINERD}/certs.d/${expected.registry}/hosts.toml`);
    expect(hosts, `${name}: hosts.toml for ${expected.registry}`).to.contain(
      `[host."${expected.hostEntry}"]`,
    );
    if (expected.authFor) {
      const auth = JSON.parse(
        fileText(host, `${CONTAINERD}/stand-in-registry-auth.json`),
      ) as object;
      expect(Object.keys(auth), `${name}: registries with credentials`).to.deep.equal([
        expected.authFor,
      ]);
    }
  }
}

function hostsDirs(host: E2eHost): string[] {
  const dir = `${CONTAINERD}/certs.d`;
  return exists(host, dir) ? fs.readdirSync(host.hostPath(dir)) : [];
}

export interface ProxyExpected {
  httpsProxy: string;
  /** Entries NO_PROXY must hold. */
  noProxyIncludes: string[];
}

/** The proxy in the unit's env file and in the running K3s's environment; or none. */
export async function expectProxy(
  lab: E2eLab,
  nodes: readonly K3sNodeName[],
  expected: ProxyExpected | null,
): Promise<void> {
  for (const name of nodes) {
    const host = lab.host(name);
    const unit = name.startsWith("server") ? "k3s" : "k3s-agent";
    const envFile = fileText(host, installedFiles(unit).env);
    const env = await k3sEnvironment(host);
    if (!expected) {
      expect(envFile, `${name}: ${installedFiles(unit).env}`).to.not.match(/proxy/i);
      expect(
        Object.keys(env).filter((k) => /proxy/i.test(k)),
        `${name}: K3s's env`,
      ).to.deep.equal([]);
      continue;
    }
    expect(envFile, `${name}: ${installedFiles(unit).env}`).to.contain(
      `HTTPS_PROXY='${expected.httpsProxy}'`,
    );
    expect(env.HTTPS_PROXY, `${name}: K3s's HTTPS_PROXY`).to.equal(expected.httpsProxy);
    expect((env.NO_PROXY ?? "").split(","), `${name}: K3s's NO_PROXY`).to.include.members(
      expected.noProxyIncludes,
    );
  }
}
