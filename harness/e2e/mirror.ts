/**
 * Fills the mirror's document root: the stand-in installer at /install.sh and, per K3s version, the
 * stand-in k3s with its sha256 list, laid out as GitHub's releases
 * (/k3s-io/k3s/releases/download/<version>/k3s, what RELEASES_URL points at). Then runs the
 * mirror's server on the mirror host: HTTP, and HTTPS with a certificate the systemd hosts trust
 * (trustMirrorCertificate). Any number of versions: each binary reports its own.
 */
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { E2E_DIR, HOST_ADDRESSES, MIRROR_PORT, MIRROR_TLS_PORT, RELEASES_URL } from "./constants";
import { E2eHost } from "./host";
import { waitFor } from "../shared/sh";

export const MIRROR_ROOT = path.join(E2E_DIR, "mirror", "root");
export const MIRROR_LOG = path.join(E2E_DIR, "mirror", "requests.jsonl");
const MIRROR_TLS = {
  cert: path.join(E2E_DIR, "mirror", "mirror.crt"),
  key: path.join(E2E_DIR, "mirror", "mirror.key"),
};
/** Where GitHub's layout starts under the document root (RELEASES_URL's path). */
const RELEASES_PATH = new URL(RELEASES_URL).pathname;
/**
 * The stand-in's one dependency (`yaml`, which has none of its own), copied where every lab host
 * sees it: the hosts' private /tmp hides a checkout that lives under /tmp, and the systemd hosts
 * see only this directory of this machine's (bound read-only at the same path).
 */
export const STAND_IN_NODE_MODULES = path.join(E2E_DIR, "node_modules");
const NODE_MODULES = STAND_IN_NODE_MODULES;
const YAML_PACKAGE = path.dirname(require.resolve("yaml/package.json"));

function transpile(file: string): string {
  return ts.transpileModule(fs.readFileSync(path.join(__dirname, "stand-in", file), "utf8"), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
}

export const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

/** Where the mirror keeps the stand-in k3s of `version` (GitHub's release layout). */
export function mirroredK3s(version: string): string {
  return path.join(MIRROR_ROOT, RELEASES_PATH, "download", version, "k3s");
}

/** The stand-in installer as served; its sha256 is what the stack's installScriptSha256 pins. */
export function installerText(): string {
  return fs
    .readFileSync(path.join(__dirname, "stand-in", "install.sh"), "utf8")
    .replace("@GITHUB_RELEASES@", RELEASES_URL);
}

const STAND_IN_MODULES = [
  "http",
  "jsonpath",
  "kubectl",
  "tokens",
  "datastore",
  "replication",
  "replica",
  "registries",
];

/**
 * The stand-in k3s for one version, as one executable file: its modules bundled behind a small
 * require shim, this machine's node, and a copy of `yaml` under E2E_DIR.
 */
function standInK3s(version: string): string {
  const modules = STAND_IN_MODULES.map(
    (name) =>
      `  "./${name}": function (module, exports, require) {\n${transpile(`${name}.ts`)}\n  },`,
  );
  return [
    `#!${process.execPath}`,
    "// K3s STAND-IN served by the k3s-ha e2e lab mirror. Not K3s.",
    `const STAND_IN_VERSION = ${JSON.stringify(version)};`,
    `module.paths.unshift(${JSON.stringify(NODE_MODULES)});`,
    "const standInModules = {",
    ...modules,
    "};",
    "const standInCache = {};",
    "function standInRequire(name) {",
    "  if (!standInModules[name]) return require(name);",
    "  if (!standInCache[name]) {",
    "    const m = { exports: {} };",
    "    standInCache[name] = m;",
    "    standInModules[name](m, m.exports, standInRequire);",
    "  }",
    "  return standInCache[name].exports;",
    "}",
    "(function (module, exports, require) {",
    transpile("k3s.ts"),
    "})(module, exports, standInRequire);",
  ].join("\n");
}

export function populateMirror(versions: string[]): void {
  fs.rmSync(path.dirname(MIRROR_ROOT), { recursive: true, force: true });
  fs.mkdirSync(MIRROR_ROOT, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(MIRROR_ROOT, "install.sh"), installerText(), { mode: 0o644 });
  fs.rmSync(NODE_MODULES, { recursive: true, force: true });
  fs.cpSync(YAML_PACKAGE, path.join(NODE_MODULES, "yaml"), { recursive: true });
  for (const version of versions) {
    const dir = path.dirname(mirroredK3s(version));
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const k3s = standInK3s(version);
    fs.writeFileSync(path.join(dir, "k3s"), k3s, { mode: 0o644 });
    fs.writeFileSync(path.join(dir, "sha256sum-amd64.txt"), `${sha256(k3s)}  k3s\n`);
  }
  fs.writeFileSync(
    path.join(path.dirname(MIRROR_ROOT), "mirror-server.js"),
    transpile("mirror-server.ts"),
  );
  // Self-signed for the mirror's address, and a CA: a trust store takes it as an anchor.
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
      ...["-keyout", MIRROR_TLS.key, "-out", MIRROR_TLS.cert, "-days", "2"],
      ...[
        "-subj",
        "/CN=k3s-ha e2e lab mirror",
        "-addext",
        `subjectAltName=IP:${HOST_ADDRESSES.mirror}`,
      ],
      ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ],
    { stdio: "ignore" },
  );
}

/**
 * Adds the mirror's certificate to a host's CA bundle (Debian's /etc/ssl/certs/ca-certificates.crt,
 * what curl reads), as an operator adds an internal CA; `root` is the host's root as this machine
 * sees it.
 */
export function trustMirrorCertificate(root: string): void {
  const bundle = path.join(root, "etc", "ssl", "certs", "ca-certificates.crt");
  const system = fs.readFileSync(bundle, "utf8");
  fs.rmSync(bundle);
  fs.writeFileSync(bundle, `${system}${fs.readFileSync(MIRROR_TLS.cert, "utf8")}`, { mode: 0o644 });
}

export async function startMirror(host: E2eHost): Promise<void> {
  const serverJs = path.join(path.dirname(MIRROR_ROOT), "mirror-server.js");
  host.spawn("mirror.log", process.execPath, [
    serverJs,
    MIRROR_ROOT,
    String(MIRROR_PORT),
    MIRROR_LOG,
    String(MIRROR_TLS_PORT),
    MIRROR_TLS.cert,
    MIRROR_TLS.key,
  ]);
  for (const port of [MIRROR_PORT, MIRROR_TLS_PORT]) {
    await waitFor(
      `the mirror listening on ${host.address}:${port}`,
      async () => (await host.exec("ss", ["-Hltn", `sport = :${port}`])).trim() !== "",
      10_000,
      50,
    );
  }
}

export function mirrorRequests(): { from: string; path: string; status: number }[] {
  if (!fs.existsSync(MIRROR_LOG)) return [];
  return fs
    .readFileSync(MIRROR_LOG, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { from: string; path: string; status: number });
}
