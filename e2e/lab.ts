/**
 * The end-to-end lab: every host of the dev topology, server-4 and agent-4 (which day-2 scenarios
 * add), a mirror, each with its own sshd. up() first removes whatever a previous run left; down()
 * removes everything up() made; teardownOnSignals() makes Ctrl-C (or a CI cancel) do the same.
 */
import * as fs from "fs";
import { E2E_DIR, HOSTS, HostName } from "./constants";
import { E2eHost, MOUNTPOINTS } from "./host";
import { populateMirror, startMirror } from "./mirror";
import { createNetwork, destroyNetwork } from "./network";
import { startRelay } from "./relay";
import { CLIENT_KEY, SECOND_CLIENT_KEY, generateClientKey, setAuthorizedClientKeys } from "./sshd";
import { ensureMountpoints, removeCreatedMountpoints } from "./mountpoints";
import { ensureSudoUser, removeSudoUserIfCreated } from "./user";

export class E2eLab {
  readonly hosts = new Map<HostName, E2eHost>();
  readonly clientKeyPath = CLIENT_KEY;
  /** A second key pair, authorized like the first for root and the sudo user on every host. */
  readonly secondClientKeyPath = SECOND_CLIENT_KEY;

  host(name: HostName): E2eHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in the lab`);
    return h;
  }

  /** Boots every host; `versions` are the K3s versions the mirror serves a stand-in for. */
  async up(versions: string[]): Promise<void> {
    await cleanupLeftovers();
    fs.mkdirSync(E2E_DIR, { recursive: true, mode: 0o755 });
    fs.chmodSync(E2E_DIR, 0o755);
    ensureMountpoints(MOUNTPOINTS);
    await ensureSudoUser();
    await generateClientKey();
    populateMirror(versions);
    await createNetwork();
    await Promise.all(
      HOSTS.map(async (name) => {
        const host = new E2eHost(name);
        this.hosts.set(name, host);
        await host.boot();
      }),
    );
    await startMirror(this.host("mirror"));
    await startRelay();
  }

  async down(): Promise<void> {
    for (const host of this.hosts.values()) await host.shutdown();
    this.hosts.clear();
    await cleanupLeftovers();
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

/** Removes everything any e2e run made: namespaces (and their processes), user, mount points, files. */
export async function cleanupLeftovers(): Promise<void> {
  await destroyNetwork();
  if (fs.existsSync(E2E_DIR)) {
    await removeSudoUserIfCreated();
    removeCreatedMountpoints();
    fs.rmSync(E2E_DIR, { recursive: true, force: true });
  }
}
