/**
 * The end-to-end lab: every host of the dev topology, server-4 and agent-4 (which day-2 scenarios
 * add), a mirror, each with its own sshd, and the optional hosts a suite asks for (server-5 and
 * server-6). Every K3s host and lb-1 boot systemd in a container
 * (harness/e2e/systemd-host.ts); lb-2 and the mirror are network namespaces without init (harness/e2e/host.ts).
 * up() first removes whatever a previous run left; down() removes everything up() made;
 * teardownOnSignals() makes Ctrl-C (or a CI cancel) do the same.
 */
import * as fs from "fs";
import * as path from "path";
import {
  E2E_DIR,
  HOSTS,
  HostName,
  JOURNALS_DIR,
  NETNS_HOSTS,
  OPTIONAL_HOSTS,
  SYSTEMD_HOSTS,
} from "./constants";
import { E2eHost, MOUNTPOINTS, NetnsHost } from "./host";
import { populateMirror, startMirror } from "./mirror";
import { createNetwork, destroyNetwork } from "./network";
import { startRelay } from "./relay";
import { ensureRootfs } from "./rootfs";
import { CLIENT_KEY, SECOND_CLIENT_KEY, generateClientKey, setAuthorizedClientKeys } from "./sshd";
import { SystemdHost, stopLeftoverContainers } from "./systemd-host";
import { ensureMountpoints, removeCreatedMountpoints } from "./mountpoints";
import { ensureSudoUser, removeSudoUserIfCreated } from "./user";

/** How long up() took: the root file system (built or found) and the hosts' boot. */
export interface LabTimings {
  rootfsBuilt: boolean;
  rootfsMs: number;
  bootMs: number;
}

export class E2eLab {
  readonly hosts = new Map<HostName, E2eHost>();
  readonly clientKeyPath = CLIENT_KEY;
  /** A second key pair, authorized like the first for root and the sudo user on every host. */
  readonly secondClientKeyPath = SECOND_CLIENT_KEY;
  timings?: LabTimings;
  /** Set when a signal started the teardown: the hosts are going, their journals with them. */
  private interrupted = false;

  host(name: HostName): E2eHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in the lab`);
    return h;
  }

  /**
   * Boots every host but the optional ones not in `optional`; `versions` are the K3s versions the
   * mirror serves a stand-in for.
   */
  async up(versions: string[], optional: readonly HostName[] = []): Promise<void> {
    const hosts = HOSTS.filter((h) => !OPTIONAL_HOSTS.includes(h) || optional.includes(h));
    const systemdHosts = SYSTEMD_HOSTS.filter((h) => hosts.includes(h));
    await cleanupLeftovers();
    fs.mkdirSync(E2E_DIR, { recursive: true, mode: 0o755 });
    fs.chmodSync(E2E_DIR, 0o755);
    ensureMountpoints(MOUNTPOINTS);
    await ensureSudoUser();
    await generateClientKey();
    populateMirror(versions);
    const rootfs = await ensureRootfs();
    await createNetwork(hosts);
    const t0 = Date.now();
    for (const name of hosts) {
      this.hosts.set(
        name,
        NETNS_HOSTS.includes(name) ? new NetnsHost(name) : new SystemdHost(name, rootfs.dir),
      );
    }
    // The namespace hosts first: their mount namespaces then copy none of the overlays.
    await Promise.all(NETNS_HOSTS.map((name) => this.host(name).boot()));
    await Promise.all(systemdHosts.map((name) => this.host(name).boot()));
    this.timings = { rootfsBuilt: rootfs.built, rootfsMs: rootfs.ms, bootMs: Date.now() - t0 };
    console.log(
      `    e2e lab: rootfs ${rootfs.built ? "built" : "found"} in ${seconds(rootfs.ms)}, ` +
        `${hosts.length} hosts (${systemdHosts.length} systemd) booted in ${seconds(this.timings.bootMs)}`,
    );
    await startMirror(this.host("mirror"));
    await startRelay();
  }

  async down(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((host) => host.shutdown()));
    this.hosts.clear();
    await cleanupLeftovers();
  }

  /**
   * Writes every host's journal (a namespace host: its log files) under JOURNALS_DIR, which
   * teardown keeps, and prints the last lines of each. Returns the directory (none while a
   * signal tears the lab down: the hosts are going).
   */
  async saveJournals(label: string, tailLines = 25): Promise<string | undefined> {
    if (this.interrupted) return undefined;
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const slug = label.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 80);
    const dir = path.join(JOURNALS_DIR, `${stamp}-${slug}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const host of this.hosts.values()) {
      const text = await host.journal().catch((err: Error) => `journal unreadable: ${err.message}`);
      fs.writeFileSync(path.join(dir, `${host.name}.log`), text);
      if (host.kind !== "systemd") continue;
      const tail = text.trimEnd().split("\n").slice(-tailLines).join("\n      ");
      console.log(`    ${host.name} journal, last ${tailLines} lines:\n      ${tail}`);
    }
    console.log(`    e2e lab: journals of every host saved in ${dir}`);
    // Bounded: the newest KEPT_JOURNALS failures stay.
    const saved = fs.readdirSync(JOURNALS_DIR).sort();
    for (const old of saved.slice(0, Math.max(0, saved.length - KEPT_JOURNALS))) {
      fs.rmSync(path.join(JOURNALS_DIR, old), { recursive: true, force: true });
    }
    return dir;
  }

  /** From now on every host accepts only these client keys (e.g. after an SSH key rotation). */
  authorizeOnly(privateKeyPaths: string[]): void {
    setAuthorizedClientKeys(privateKeyPaths);
  }

  /**
   * On SIGINT or SIGTERM: tear the lab down, then exit (130 / 143). Returns the function that
   * removes the handlers (call it in `after`).
   */
  teardownOnSignals(): () => void {
    const handler = (sig: NodeJS.Signals) => {
      console.error(`e2e lab: ${sig}, tearing down`);
      this.interrupted = true;
      void this.down()
        .catch((err: Error) => console.error(`e2e lab: teardown failed: ${err.message}`))
        .finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
    };
    process.once("SIGINT", handler);
    process.once("SIGTERM", handler);
    return () => {
      process.removeListener("SIGINT", handler);
      process.removeListener("SIGTERM", handler);
    };
  }
}

/**
 * Removes everything any e2e run made: containers (powered off, overlays unmounted, cgroups
 * removed), namespaces (and their processes), user, mount points, files. The root file system
 * cache and saved journals stay.
 */
export async function cleanupLeftovers(): Promise<void> {
  await stopLeftoverContainers();
  await destroyNetwork();
  if (fs.existsSync(E2E_DIR)) {
    await removeSudoUserIfCreated();
    removeCreatedMountpoints();
    fs.rmSync(E2E_DIR, { recursive: true, force: true });
  }
}

/** How many saved journal sets (one per failure) JOURNALS_DIR keeps. */
const KEPT_JOURNALS = 30;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
