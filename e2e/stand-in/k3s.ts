/**
 * K3s STAND-IN for the end-to-end lab. It is NOT K3s: it implements the part of K3s's interface
 * that the program and its load balancers touch, and records what it was started with.
 *
 *   k3s --version                  "k3s version <version> (stand-in)"
 *   k3s server [flags]             reads /etc/rancher/k3s/config.yaml; a joining server fetches
 *                                  <server>/cacerts and bootstraps from it with its token; serves
 *                                  TLS on 6443 (/ping, /cacerts, /readyz with the admin token);
 *                                  writes k3s.yaml and /var/lib/rancher/k3s/server/token
 *   k3s agent [flags]              fetches <server>/cacerts, checks the token's CA hash, verifies
 *                                  <server>/ping over TLS against that CA (so the server's
 *                                  certificate must hold the registration address), joins with its
 *                                  token; fails when any of that fails
 *   k3s kubectl ...                get --raw, get node(s), annotate, drain, uncordon, delete node
 *                                  (kubectl.ts) against a node store the first server keeps
 *   k3s stand-in-record-install    the stand-in installer records INSTALL_K3S_* through this
 *
 * Records go to /var/lib/rancher/k3s/stand-in-*.json{,l}, mode 0600. Secrets are never recorded,
 * only their sha256. Self-contained but for `yaml`; the mirror prepends the version and the path
 * of node_modules when it serves this file (see mirror.ts).
 */
import { execFileSync } from "child_process";
import { createHash, randomBytes, timingSafeEqual } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import { parse, stringify } from "yaml";
import { Reply, basicAuth, request } from "./http";
import { KUBECONFIG_PATH, StandInNode, kubectl } from "./kubectl";

declare const STAND_IN_VERSION: string;

const CONFIG_PATH = "/etc/rancher/k3s/config.yaml";
const DATA_DIR = "/var/lib/rancher/k3s";
const SERVER_DIR = `${DATA_DIR}/server`;
const TLS_DIR = `${SERVER_DIR}/tls`;
const TOKEN_PATH = `${SERVER_DIR}/token`;
const RECORD_PATH = `${DATA_DIR}/stand-in-record.json`;
const INSTALLS_PATH = `${DATA_DIR}/stand-in-installs.jsonl`;
const JOINS_PATH = `${DATA_DIR}/stand-in-joins.jsonl`;
/** The node objects, kept by the server that started the cluster (the "datastore"). */
const NODES_PATH = `${SERVER_DIR}/stand-in-nodes.json`;
const READY_DIR = "/run/k3s-stand-in";
const PORT = 6443;
const AGENT_JOIN_TIMEOUT_MS = 30_000;

type Config = Record<string, unknown>;

process.umask(0o077);

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} k3s stand-in: ${message}\n`);
}

function fail(message: string): never {
  log(`fatal: ${message}`);
  process.exit(1);
}

const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function writePrivate(file: string, content: string, mode = 0o600): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}

function appendRecord(file: string, entry: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`, {
    mode: 0o600,
  });
}

/** config.yaml, then `--key=value` / `--key value` flags over it, as K3s merges them. */
function loadConfig(flags: string[]): { config: Config; configText?: string } {
  const configText = readIfExists(CONFIG_PATH);
  const config: Config = configText ? ((parse(configText) as Config) ?? {}) : {};
  for (let i = 0; i < flags.length; i++) {
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(flags[i]);
    if (!m) continue;
    const value = m[2] ?? (flags[i + 1] && !flags[i + 1].startsWith("-") ? flags[++i] : "true");
    const existing = config[m[1]];
    config[m[1]] = Array.isArray(existing) ? [...(existing as unknown[]), value] : value;
  }
  return { config, configText };
}

function configString(config: Config, key: string, fallback: string): string {
  const value = config[key];
  return typeof value === "string" || typeof value === "number" ? String(value) : fallback;
}

/** The config as recorded: inline secrets replaced by their hash. */
function recordableConfig(config: Config): Config {
  const out: Config = {};
  for (const [k, v] of Object.entries(config)) {
    out[k] = k === "token" || k === "agent-token" ? `sha256:${sha256(String(v))}` : v;
  }
  return out;
}

function fileDigest(file: unknown): { path: string; sha256: string; mode: string } | undefined {
  if (typeof file !== "string") return undefined;
  const text = readIfExists(file);
  if (text === undefined) fail(`cannot read ${file}`);
  return { path: file, sha256: sha256(text), mode: (fs.statSync(file).mode & 0o777).toString(8) };
}

function tokenFrom(config: Config, fileKey: string, inlineKey: string): string | undefined {
  const file = config[fileKey];
  if (typeof file === "string") {
    const text = readIfExists(file);
    if (text === undefined) fail(`cannot read ${fileKey} ${file}`);
    return text.trim();
  }
  const inline = config[inlineKey];
  return typeof inline === "string" ? inline.trim() : undefined;
}

/** K10<ca-hash>::<user>:<password>, or a bare password. */
function splitToken(token: string): { caHash?: string; password: string } {
  const m = /^K10([0-9a-f]{64})::[^:]+:(.+)$/.exec(token);
  return m ? { caHash: m[1], password: m[2] } : { password: token };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(sha256(a));
  const y = Buffer.from(sha256(b));
  return timingSafeEqual(x, y);
}

function get(
  url: string,
  opts: { ca?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return request(url, opts);
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function generateCa(): { cert: string; key: string } {
  const key = `${TLS_DIR}/server-ca.key`;
  const cert = `${TLS_DIR}/server-ca.crt`;
  openssl(
    ["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"].concat([
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "3650",
      "-subj",
      "/CN=k3s-server-ca-stand-in",
    ]),
  );
  return { cert: fs.readFileSync(cert, "utf8"), key: fs.readFileSync(key, "utf8") };
}

function sanEntry(value: string): string {
  return net.isIP(value) ? `IP:${value}` : `DNS:${value}`;
}

function issueServingCert(sans: string[]): { cert: string; key: string } {
  const key = `${TLS_DIR}/serving-kube-apiserver.key`;
  const csr = `${TLS_DIR}/serving-kube-apiserver.csr`;
  const cert = `${TLS_DIR}/serving-kube-apiserver.crt`;
  openssl(
    ["req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
      .concat(["-keyout", key, "-out", csr, "-subj", "/CN=k3s"])
      .concat(["-addext", `subjectAltName=${sans.map(sanEntry).join(",")}`]),
  );
  openssl(
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      `${TLS_DIR}/server-ca.crt`,
      "-CAkey",
      `${TLS_DIR}/server-ca.key`,
    ]
      .concat(["-CAcreateserial", "-CAserial", `${TLS_DIR}/serial`, "-days", "365"])
      .concat(["-copy_extensions", "copy", "-out", cert]),
  );
  return { cert: fs.readFileSync(cert, "utf8"), key: fs.readFileSync(key, "utf8") };
}

function asList(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(","));
}

function markReady(service: string): void {
  fs.mkdirSync(READY_DIR, { recursive: true, mode: 0o755 });
  fs.writeFileSync(`${READY_DIR}/${service}.ready`, `${process.pid}\n`);
}

function lastInstall(): unknown {
  const lines = (readIfExists(INSTALLS_PATH) ?? "").trim().split("\n").filter(Boolean);
  return lines.length > 0 ? JSON.parse(lines[lines.length - 1]) : undefined;
}

/** Node objects: kept by the first server; a joined server forwards to the server it joined. */
class NodeStore {
  constructor(private readonly upstream?: { url: string; ca: string; adminToken: string }) {}

  private load(): StandInNode[] {
    return JSON.parse(readIfExists(NODES_PATH) ?? "[]") as StandInNode[];
  }

  private save(nodes: StandInNode[]): void {
    writePrivate(NODES_PATH, JSON.stringify(nodes, null, 2));
  }

  /** Answers a node API request locally, or forwards it upstream. */
  async handle(
    method: string,
    name: string | undefined,
    body: string,
  ): Promise<{ status: number; body: string }> {
    if (this.upstream) {
      const path = `/stand-in/nodes${name ? `/${encodeURIComponent(name)}` : ""}`;
      const reply = await request(`${this.upstream.url}${path}`, {
        method,
        ca: this.upstream.ca,
        headers: { authorization: `Bearer ${this.upstream.adminToken}` },
        body: method === "GET" || method === "DELETE" ? undefined : body,
      });
      return { status: reply.status, body: reply.body };
    }
    const nodes = this.load();
    const i = nodes.findIndex((n) => n.metadata.name === name);
    if (method === "GET" && !name) return { status: 200, body: JSON.stringify(nodes) };
    if (method === "PUT" && name) {
      const incoming = JSON.parse(body) as StandInNode;
      const old = nodes[i];
      // A restart re-registers: annotations and cordon survive it, as in Kubernetes.
      if (old) {
        incoming.metadata.annotations = {
          ...old.metadata.annotations,
          ...incoming.metadata.annotations,
        };
        incoming.spec.unschedulable = old.spec.unschedulable;
        nodes[i] = incoming;
      } else nodes.push(incoming);
      this.save(nodes);
      return { status: 200, body: "{}" };
    }
    if (i < 0) return { status: 404, body: "not found" };
    if (method === "PATCH") {
      const patch = JSON.parse(body) as {
        annotations?: Record<string, string | null>;
        unschedulable?: boolean;
      };
      const node = nodes[i];
      for (const [k, v] of Object.entries(patch.annotations ?? {})) {
        if (v === null) delete node.metadata.annotations[k];
        else node.metadata.annotations[k] = v;
      }
      // K3s removes the etcd member of a node annotated for removal, then records it.
      if (node.metadata.annotations["etcd.k3s.cattle.io/remove"] === "true") {
        node.metadata.annotations["etcd.k3s.cattle.io/removed-node-name"] = node.metadata.name;
        delete node.metadata.labels["node-role.kubernetes.io/etcd"];
      }
      if (patch.unschedulable !== undefined)
        node.spec.unschedulable = patch.unschedulable || undefined;
      this.save(nodes);
      return { status: 200, body: JSON.stringify(node) };
    }
    if (method === "DELETE") {
      nodes.splice(i, 1);
      this.save(nodes);
      return { status: 200, body: "{}" };
    }
    return { status: 405, body: "" };
  }
}

function nodeObject(config: Config, role: "server" | "agent"): StandInNode {
  const labels: Record<string, string> = {};
  for (const l of asList(config["node-label"]))
    labels[l.split("=")[0]] = l.split("=").slice(1).join("=");
  if (role === "server") {
    for (const r of ["etcd", "control-plane", "master"])
      labels[`node-role.kubernetes.io/${r}`] = "true";
  }
  return {
    metadata: { name: String(config["node-name"]), labels, annotations: {} },
    spec: { taints: asList(config["node-taint"]) },
    status: {
      conditions: [{ type: "Ready", status: "True" }],
      nodeInfo: { kubeletVersion: STAND_IN_VERSION },
      addresses: asList(config["node-ip"]).map((address) => ({ type: "InternalIP", address })),
    },
  };
}

function readBody(req: import("http").IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => resolve(body));
  });
}

async function runServer(flags: string[]): Promise<void> {
  const { config, configText } = loadConfig(flags);
  fs.mkdirSync(TLS_DIR, { recursive: true, mode: 0o700 });
  const token = tokenFrom(config, "token-file", "token");
  const agentToken = tokenFrom(config, "agent-token-file", "agent-token");
  const joinUrl = typeof config.server === "string" ? config.server : undefined;
  let join: Record<string, unknown> | undefined;
  let adminToken: string;

  if (joinUrl) {
    if (!token) fail("a server joining a cluster needs a token");
    const cacerts = await get(`${joinUrl}/cacerts`);
    if (cacerts.status !== 200) fail(`${joinUrl}/cacerts answered ${cacerts.status}`);
    const { caHash, password } = splitToken(token);
    if (caHash && caHash !== sha256(cacerts.body)) {
      fail(`the token's CA hash does not match the CA ${joinUrl} serves`);
    }
    const boot = await get(`${joinUrl}/v1-k3s/server-bootstrap`, {
      ca: cacerts.body,
      headers: {
        authorization: basicAuth("server", password),
        "x-stand-in-node-name": String(config["node-name"]),
      },
    });
    if (boot.status !== 200)
      fail(`${joinUrl} refused the bootstrap (${boot.status}): token rejected`);
    const data = JSON.parse(boot.body) as { caCert: string; caKey: string; adminToken: string };
    writePrivate(`${TLS_DIR}/server-ca.crt`, data.caCert);
    writePrivate(`${TLS_DIR}/server-ca.key`, data.caKey);
    adminToken = data.adminToken;
    join = {
      server: joinUrl,
      cacertsSha256: sha256(cacerts.body),
      bootstrapFrom: boot.headers["x-stand-in-node-name"],
    };
  } else if (fs.existsSync(`${TLS_DIR}/server-ca.crt`)) {
    adminToken = fs.readFileSync(`${SERVER_DIR}/admin-token`, "utf8").trim();
  } else {
    generateCa();
    adminToken = randomBytes(24).toString("hex");
  }
  writePrivate(`${SERVER_DIR}/admin-token`, `${adminToken}\n`);
  const ca = {
    cert: fs.readFileSync(`${TLS_DIR}/server-ca.crt`, "utf8"),
    key: fs.readFileSync(`${TLS_DIR}/server-ca.key`, "utf8"),
  };

  // K3s keeps the full token (CA hash + password) in server/token; a first server without a
  // configured token generates the password.
  const existing = readIfExists(TOKEN_PATH)?.trim();
  const password = token
    ? splitToken(token).password
    : existing
      ? splitToken(existing).password
      : randomBytes(16).toString("hex");
  const fullToken = `K10${sha256(ca.cert)}::server:${password}`;
  writePrivate(TOKEN_PATH, `${fullToken}\n`);
  const agentPassword = agentToken ? splitToken(agentToken).password : undefined;
  if (agentToken) writePrivate(`${SERVER_DIR}/agent-token`, `${agentToken}\n`);

  const nodeName = configString(config, "node-name", "server");
  const tlsSans = asList(config["tls-san"]);
  const sans = [
    "127.0.0.1",
    "localhost",
    "kubernetes",
    nodeName,
    ...asList(config["node-ip"]),
    ...tlsSans,
  ];
  const serving = issueServingCert([...new Set(sans)]);

  const mode = parseInt(configString(config, "write-kubeconfig-mode", "0600"), 8);
  const kubeconfig = stringify({
    apiVersion: "v1",
    clusters: [
      {
        cluster: {
          "certificate-authority-data": Buffer.from(ca.cert).toString("base64"),
          server: `https://127.0.0.1:${PORT}`,
        },
        name: "default",
      },
    ],
    contexts: [{ context: { cluster: "default", user: "default" }, name: "default" }],
    "current-context": "default",
    kind: "Config",
    preferences: {},
    users: [{ name: "default", user: { token: adminToken } }],
  });
  writePrivate(KUBECONFIG_PATH, kubeconfig, mode);

  const store = new NodeStore(joinUrl ? { url: joinUrl, ca: ca.cert, adminToken } : undefined);
  const handle = async (
    req: import("http").IncomingMessage,
    res: import("http").ServerResponse,
  ) => {
    const reply = (status: number, body: string) => {
      res.writeHead(status, { "content-type": "text/plain", "x-stand-in-node-name": nodeName });
      res.end(body);
    };
    const auth = req.headers.authorization ?? "";
    const admin = auth === `Bearer ${adminToken}`;
    const basic = /^Basic (.+)$/.exec(auth);
    const [user, pass] = basic
      ? Buffer.from(basic[1], "base64").toString().split(/:(.*)/s)
      : ["", ""];
    const peer = String(req.headers["x-stand-in-node-name"] ?? "");
    const url = req.url ?? "";
    const body = await readBody(req);
    const nodeApi = /^\/stand-in\/nodes(?:\/([^/]+))?$/.exec(url);
    if (nodeApi) {
      if (!admin) return reply(401, "Unauthorized");
      const answer = await store.handle(
        req.method ?? "GET",
        nodeApi[1] && decodeURIComponent(nodeApi[1]),
        body,
      );
      return reply(answer.status, answer.body);
    }
    if (req.method === "GET" && url === "/ping") return reply(200, "pong");
    if (req.method === "GET" && url === "/cacerts") return reply(200, ca.cert);
    // As K3s: anonymous auth is off, so only the admin credential gets an answer.
    if (req.method === "GET" && ["/readyz", "/readyz/etcd", "/healthz"].includes(url)) {
      return admin ? reply(200, "ok") : reply(401, "Unauthorized");
    }
    if (req.method === "GET" && url === "/v1-k3s/server-bootstrap") {
      if (user !== "server" || !sameSecret(pass ?? "", password)) return reply(401, "Unauthorized");
      appendRecord(JOINS_PATH, { node: peer, kind: "server" });
      return reply(200, JSON.stringify({ caCert: ca.cert, caKey: ca.key, adminToken }));
    }
    if (req.method === "POST" && url === "/v1-k3s/stand-in-join") {
      const credential =
        user === "node" && agentPassword !== undefined && sameSecret(pass ?? "", agentPassword)
          ? "agent-token"
          : user === "node" && sameSecret(pass ?? "", password)
            ? "server-token"
            : undefined;
      if (!credential) return reply(401, "Unauthorized");
      const node = JSON.parse(body) as StandInNode;
      const stored = await store.handle("PUT", node.metadata.name, JSON.stringify(node));
      if (stored.status !== 200) return reply(502, `node store answered ${stored.status}`);
      appendRecord(JOINS_PATH, { node: node.metadata.name, kind: "agent", credential });
      return reply(200, "joined");
    }
    return reply(404, "not found");
  };
  const server = https.createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      log(`request ${req.method} ${req.url} failed: ${err.message}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(PORT, "0.0.0.0", resolve);
  });
  const registered = await store.handle(
    "PUT",
    nodeName,
    JSON.stringify(nodeObject(config, "server")),
  );
  if (registered.status !== 200) fail(`registering node ${nodeName} failed (${registered.status})`);

  writePrivate(
    RECORD_PATH,
    JSON.stringify(
      {
        standIn: true,
        role: "server",
        version: STAND_IN_VERSION,
        pid: process.pid,
        argv: process.argv.slice(2),
        config: recordableConfig(config),
        configSha256: configText === undefined ? null : sha256(configText),
        tokenFile: fileDigest(config["token-file"]) ?? null,
        agentTokenFile: fileDigest(config["agent-token-file"]) ?? null,
        tokenCaHashMatches: splitToken(fullToken).caHash === sha256(ca.cert),
        tlsSans,
        servingSans: [...new Set(sans)],
        join: join ?? null,
        install: lastInstall() ?? null,
        startedAt: new Date().toISOString(),
      },
      null,
      2,
    ),
  );
  markReady("k3s");
  log(`server ${nodeName} listening on :${PORT}${joinUrl ? `, joined ${joinUrl}` : ""}`);
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

async function joinOnce(
  serverUrl: string,
  token: string,
  node: StandInNode,
): Promise<Record<string, unknown>> {
  const nodeName = node.metadata.name;
  const cacerts = await get(`${serverUrl}/cacerts`);
  if (cacerts.status !== 200) throw new Error(`${serverUrl}/cacerts answered ${cacerts.status}`);
  const { caHash, password } = splitToken(token);
  if (caHash && caHash !== sha256(cacerts.body)) {
    throw new Error(`the token's CA hash does not match the CA ${serverUrl} serves`);
  }
  // Verified against the cluster CA: fails unless the server's certificate names the address.
  const ping = await get(`${serverUrl}/ping`, { ca: cacerts.body });
  if (ping.status !== 200 || ping.body !== "pong") {
    throw new Error(`${serverUrl}/ping answered ${ping.status} ${ping.body.slice(0, 40)}`);
  }
  const joined = await request(`${serverUrl}/v1-k3s/stand-in-join`, {
    method: "POST",
    ca: cacerts.body,
    headers: { authorization: basicAuth("node", password), "x-stand-in-node-name": nodeName },
    body: JSON.stringify(node),
  });
  if (joined.status !== 200)
    throw new Error(`${serverUrl} refused the join (${joined.status}): token rejected`);
  return {
    server: serverUrl,
    cacertsSha256: sha256(cacerts.body),
    tokenCaHashChecked: caHash !== undefined,
    pingVerifiedTls: true,
    answeredBy: joined.headers["x-stand-in-node-name"],
  };
}

async function runAgent(flags: string[]): Promise<void> {
  const { config, configText } = loadConfig(flags);
  const serverUrl =
    typeof config.server === "string" ? config.server : fail("an agent needs server:");
  const token = tokenFrom(config, "token-file", "token") ?? fail("an agent needs a token");
  const nodeName = configString(config, "node-name", "agent");
  const deadline = Date.now() + AGENT_JOIN_TIMEOUT_MS;
  let join: Record<string, unknown> | undefined;
  for (;;) {
    try {
      join = await joinOnce(serverUrl, token, nodeObject(config, "agent"));
      break;
    } catch (err) {
      log(`join through ${serverUrl} failed: ${(err as Error).message}`);
      if (Date.now() > deadline) fail(`gave up joining through ${serverUrl}`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  fs.mkdirSync(DATA_DIR, { recursive: true, mode: 0o700 });
  writePrivate(
    RECORD_PATH,
    JSON.stringify(
      {
        standIn: true,
        role: "agent",
        version: STAND_IN_VERSION,
        pid: process.pid,
        argv: process.argv.slice(2),
        config: recordableConfig(config),
        configSha256: configText === undefined ? null : sha256(configText),
        tokenFile: fileDigest(config["token-file"]) ?? null,
        join,
        install: lastInstall() ?? null,
        startedAt: new Date().toISOString(),
      },
      null,
      2,
    ),
  );
  markReady("k3s-agent");
  log(`agent ${nodeName} joined through ${serverUrl}`);
  const keepAlive = setInterval(() => undefined, 60_000);
  const stop = () => {
    clearInterval(keepAlive);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function recordInstall(args: string[]): void {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k.startsWith("INSTALL_K3S_")),
  );
  appendRecord(INSTALLS_PATH, { version: STAND_IN_VERSION, args, env });
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case "--version":
    case "-v":
    case "version":
      process.stdout.write(`k3s version ${STAND_IN_VERSION} (stand-in)\ngo version stand-in\n`);
      return;
    case "server":
      return runServer(rest);
    case "agent":
      return runAgent(rest);
    case "kubectl":
      return process.exit(await kubectl(rest));
    case "stand-in-record-install":
      return recordInstall(rest);
    default:
      fail(`the stand-in does not implement ${JSON.stringify(command ?? "")}`);
  }
}

main().catch((err: Error) => fail(err.message));
