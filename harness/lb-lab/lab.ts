/** The whole lab: topology, stand-ins, LB hosts. `up` clears leftovers first; `down` removes all. */
import * as fs from "fs";
import * as path from "path";
import { LAB_DIR, STAND_INS } from "./constants";
import { CertPaths, generateCert } from "./certs";
import { removeLabCgroups } from "./cgroups";
import { StandIns } from "./stand-ins";
import { createTopology, destroyTopology } from "./topology";
import { LabProgram, transpilePrograms } from "./transpile";

export function requireRoot(): void {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    throw new Error(
      "the lab needs root: it creates network namespaces, veth pairs and a bridge, and runs " +
        "haproxy, keepalived and nginx inside them. Run it as root (e.g. sudo npm run lab:up).",
    );
  }
}

export class Lab {
  readonly dir = LAB_DIR;
  cert!: CertPaths;
  programs!: Record<LabProgram, string>;
  standIns!: StandIns;

  async up(): Promise<void> {
    requireRoot();
    await teardownLab();
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    this.programs = transpilePrograms(path.join(this.dir, "bin"));
    this.cert = await generateCert(path.join(this.dir, "pki"));
    await createTopology();
    this.standIns = new StandIns(this.programs.standIn, this.cert, this.dir);
    for (const name of STAND_INS) await this.standIns.start(name);
  }

  async down(): Promise<void> {
    this.standIns?.stopAll();
    await teardownLab();
  }
}

/** Removes everything a lab (this one or a crashed earlier one) left: processes, netns, cgroups, files. */
export async function teardownLab(): Promise<void> {
  await destroyTopology();
  await removeLabCgroups();
  fs.rmSync(LAB_DIR, { recursive: true, force: true });
}
