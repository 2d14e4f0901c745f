/**
 * Mount points the hosts' private trees need on this machine. Missing ones are created and listed
 * in a file, so teardown removes exactly those (and only while empty).
 */
import * as fs from "fs";
import * as path from "path";
import { E2E_DIR } from "./constants";

const RECORD = path.join(E2E_DIR, "created-mountpoints.json");

export function ensureMountpoints(dirs: string[]): void {
  const created: string[] = readCreated();
  for (const dir of dirs) {
    if (fs.existsSync(dir)) continue;
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    created.push(dir);
  }
  fs.writeFileSync(RECORD, JSON.stringify(created));
}

export function removeCreatedMountpoints(): void {
  for (const dir of readCreated().reverse()) {
    try {
      fs.rmdirSync(dir);
    } catch {
      // not empty or already gone: leave it
    }
  }
  fs.rmSync(RECORD, { force: true });
}

function readCreated(): string[] {
  try {
    return JSON.parse(fs.readFileSync(RECORD, "utf8")) as string[];
  } catch {
    return [];
  }
}
