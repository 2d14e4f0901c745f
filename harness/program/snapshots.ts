/**
 * Registration snapshots: what a release of the program registers for a fixed set of stacks. A
 * user's deployed stack holds exactly these inputs (and the old `delete` text), so a later release
 * is planned against them as the engine would plan it against that user's state.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RecordedResource, StackConfig } from "./mocks";
import { REPO_ROOT, loadStackConfig } from "./stacks";

export const SNAPSHOT_DIR = path.join(REPO_ROOT, "test", "fixtures", "registrations");

export interface SnapshotStack {
  config: StackConfig;
  secretKeys: string[];
}

export interface RegistrationSnapshot {
  /** The program's version (package.json) and commit the registrations were taken from. */
  release: string;
  commit: string;
  stacks: Record<string, SnapshotStack & { resources: RecordedResource[] }>;
}

const FAKE_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nsnapshot-fake-key-material\n-----END OPENSSH PRIVATE KEY-----\n";
const TOKEN = "snapshot-server-token-3f9a";
const AGENT_TOKEN = "snapshot-agent-token-77c2";

/** Fixed paths, so the registrations (which hold them) are the same on every machine. */
const FIXTURE_DIR = path.join(os.tmpdir(), "k3sha-snapshot-fixtures");

function fixtureFile(name: string, content: string, mode = 0o600): string {
  const file = path.join(FIXTURE_DIR, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode });
  return file;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Air-gap files of one (fake) release, with their sums. */
export function airgapSetting(version: string): Record<string, unknown> {
  const k3s = `#!/bin/sh\necho "k3s version ${version} (snapshot fake)"\n`;
  const installer = "#!/bin/sh\necho snapshot fake installer\n";
  const images = `snapshot fake images of ${version}\n`;
  const dir = version.replace(/[^A-Za-z0-9.-]/g, "_");
  return {
    k3sBinary: fixtureFile(`${dir}/k3s`, k3s, 0o755),
    installScript: fixtureFile(`${dir}/install.sh`, installer, 0o755),
    imagesTarball: fixtureFile(`${dir}/k3s-airgap-images-amd64.tar.zst`, images),
    sha256: { k3s: sha256(k3s), installScript: sha256(installer), images: sha256(images) },
  };
}

/**
 * The stacks every snapshot covers: both example stacks, with a key file, with both tokens, with
 * the upgrade options, in Docker mode and air-gapped. Secrets are fake; configs are kept in the
 * snapshot, so a later change to the example files does not change what is compared.
 */
export function snapshotStacks(): Record<string, SnapshotStack> {
  const key = fixtureFile("id_ed25519", FAKE_KEY);
  const dev = loadStackConfig("dev");
  const staging = loadStackConfig("staging");
  const version = dev["k3s-ha:k3sVersion"] as string;
  const tokens = { "k3s-ha:token": TOKEN, "k3s-ha:agentToken": AGENT_TOKEN };
  const secretKeys = Object.keys(tokens);
  return {
    dev: { config: { ...dev, "k3s-ha:sshPrivateKeyPath": key }, secretKeys: [] },
    "dev-tokens-upgrade-options": {
      config: {
        ...dev,
        ...tokens,
        "k3s-ha:drainBeforeUpgrade": true,
        "k3s-ha:agentBatchSize": 2,
      },
      secretKeys,
    },
    "dev-airgap": { config: { ...dev, "k3s-ha:airgap": airgapSetting(version) }, secretKeys: [] },
    staging: { config: { ...staging, ...tokens }, secretKeys },
    "staging-docker": {
      config: { ...staging, "k3s-ha:nginxMode": "docker", "k3s-ha:sshPrivateKeyPath": key },
      secretKeys: [],
    },
  };
}

export function snapshotFile(release: string): string {
  return path.join(SNAPSHOT_DIR, `${release}.json`);
}

/**
 * Scripts repeat across hosts and stacks, so the file keeps each long string once, in `texts`, and
 * puts `{ "$text": <its sha256 prefix> }` where it occurred.
 */
const LONG_TEXT = 200;

interface PackedSnapshot {
  snapshot: RegistrationSnapshot;
  texts: Record<string, string>;
}

function mapStrings(v: unknown, f: (s: string) => unknown): unknown {
  if (typeof v === "string") return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  if (typeof v === "object" && v !== null) {
    const ref = (v as { $text?: unknown }).$text;
    if (typeof ref === "string" && Object.keys(v).length === 1) return f(v as unknown as string);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, f)]));
  }
  return v;
}

export function packSnapshot(snapshot: RegistrationSnapshot): string {
  const texts: Record<string, string> = {};
  const packed = mapStrings(snapshot, (s) => {
    if (typeof s !== "string" || s.length < LONG_TEXT) return s;
    const id = sha256(s).slice(0, 16);
    texts[id] = s;
    return { $text: id };
  }) as RegistrationSnapshot;
  return `${JSON.stringify({ snapshot: packed, texts } satisfies PackedSnapshot, null, 1)}\n`;
}

export function unpackSnapshot(text: string): RegistrationSnapshot {
  const { snapshot, texts } = JSON.parse(text) as PackedSnapshot;
  return mapStrings(snapshot, (s) => {
    if (typeof s === "string") return s;
    const id = (s as { $text: string }).$text;
    if (!(id in texts)) throw new Error(`snapshot refers to a missing text ${id}`);
    return texts[id];
  }) as RegistrationSnapshot;
}

/** Every committed snapshot, oldest release first. */
export function loadSnapshots(): RegistrationSnapshot[] {
  return fs
    .readdirSync(SNAPSHOT_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => unpackSnapshot(fs.readFileSync(path.join(SNAPSHOT_DIR, f), "utf8")))
    .sort((a, b) => a.release.localeCompare(b.release, undefined, { numeric: true }));
}
