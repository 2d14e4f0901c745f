/**
 * K3s STAND-IN for the end-to-end lab. It is NOT K3s: it implements the part of K3s's interface
 * that the program and its load balancers touch, and leaves on the host what K3s leaves there.
 *
 *   k3s --version                  "k3s version <version> (stand-in)": the version baked into
 *                                  this binary (the installer replaces it on an upgrade)
 *   k3s server [flags]             reads /etc/rancher/k3s/config.yaml; every etcd member keeps
 *                                  a replica of the datastore (datastore.ts, replica.ts); a
 *                                  joining server bootstraps from <server> with its token, a
 *                                  server with etcd data starts from it (server: unused); both
 *                                  are refused when the token does not match; serves TLS on 6443 (/ping,
 *                                  /cacerts, /watch, /readyz, /version, the supervisor's
 *                                  PUT /v1-k3s/token from the versions that have it, and
 *                                  /db/info: the etcd members, to the server user)
 *   k3s agent [flags]              fetches <server>/cacerts, checks the token's CA hash, verifies
 *                                  <server>/ping over TLS against that CA, joins as the node user,
 *                                  keeps that CA in agent/server-ca.crt; then posts status to the
 *                                  servers it learned (its client-side load balancer), not only
 *                                  through the registration address
 *   k3s kubectl ...                get --raw, get node(s), annotate, drain, uncordon, delete node
 *                                  (kubectl.ts) against the datastore
 *   k3s token --help | rotate      `rotate` only from v1.25.15 / v1.26.10 / v1.27.7 / v1.28.3 on
 *   k3s etcd-snapshot save --name  writes the datastore's state as a snapshot file
 *   k3s server --cluster-reset [--cluster-reset-restore-path=<file>]
 *                                  on the cluster-init server, with K3s stopped: moves the etcd
 *                                  data aside and restores the snapshot file (or keeps the data),
 *                                  resets the etcd membership to this one server, writes
 *                                  server/db/reset-flag, says K3s's message and exits 0; refused
 *                                  while reset-flag exists; the next plain start removes it. A
 *                                  joined server whose etcd member the cluster no longer lists is
 *                                  refused until its server/db is deleted, then rejoins as a new
 *                                  member (pkg/cluster/managed.go start, pkg/etcd/etcd.go Reset,
 *                                  Restore). Not modelled: S3, scheduled snapshots.
 *
 * At each start, server or agent, it reads registries.yaml and writes containerd's registry files
 * from it, as K3s does (registries.ts). The proxy variables reach it, as K3s, through the unit's
 * environment files; it makes no connection through them.
 *
 * Run by the unit the stand-in installer writes (Type=notify, as install.sh's): `k3s server`
 * and `k3s agent` tell systemd READY=1 when they are ready, and only then (see notifyReady), at
 * the point K3s does (a server once it serves, an agent once it joined, which is later than K3s's
 * token check). A stand-in started while /etc/rancher/k3s/stand-in-never-ready exists never
 * becomes ready (neither serves nor notifies) until it is stopped: `systemctl start` then waits
 * for ever, as it does for a K3s that never comes up (the unit's TimeoutStartSec=0).
 *
 * It keeps no record for tests: what a test reads is what K3s leaves too (the files under
 * /var/lib/rancher/k3s and /etc/rancher/k3s, the process and its arguments, systemd's unit state
 * and journal, what the API and /db/info answer). A running `k3s server` or `k3s agent` keeps its
 * own file open, as a running binary stays mapped, so /proc/<pid>/fd shows what it runs (a
 * replaced binary as "(deleted)"). Self-contained but for `yaml`; the mirror prepends the version
 * and the path of node_modules when it serves this file (see mirror.ts).
 */
import { execFileSync } from "child_process";
import { randomBytes, timingSafeEqual } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import {
  DATASTORE_PATH,
  Datastore,
  HEARTBEATS_PATH,
  DatastoreOp,
  DatastoreState,
  HEARTBEAT_EVERY_MS,
  Registration,
  parseLabels,
  parseTaints,
} from "./datastore";
import { Reply, basicAuth, request } from "./http";
import { KUBECONFIG_PATH, kubectl } from "./kubectl";
import { REGISTRIES_DEFAULT_PATH, applyRegistries } from "./registries";
import { Replica } from "./replica";
import { sha256, splitToken, supportsTokenRotate, tokenFormatProblem, tokenHelp } from "./tokens";

declare const STAND_IN_VERSION: string;

const CONFIG_PATH = "/etc/rancher/k3s/config.yaml";
const DATA_DIR = "/var/lib/rancher/k3s";
const SERVER_DIR = `${DATA_DIR}/server`;
const AGENT_DIR = `${DATA_DIR}/agent`;
const TLS_DIR = `${SERVER_DIR}/tls`;
const TOKEN_PATH = `${SERVER_DIR}/token`;
/** K3s's etcd data (pkg/etcd/etcd.go dbDir) and the directory holding it, snapshots and reset-flag. */
const DB_DIR = `${SERVER_DIR}/db`;
const ETCD_DIR = `${DB_DIR}/etcd`;
/** Written by a cluster reset, removed by the next normal start (pkg/etcd/etcd.go ResetFile). */
const RESET_FLAG = `${DB_DIR}/reset-flag`;
/**
 * A server is a member while it keeps its etcd data: later starts reconcile as that member (its
 * name is in the file, as etcd keeps its member id in its data) instead of joining.
 */
const MEMBER_MARKER = `${ETCD_DIR}/stand-in-member`;
/**
 * What K3s tests to call its etcd initialized (pkg/etcd/etcd.go IsInitialized, walDir): etcd makes
 * it when the member first starts. The stand-in keeps no WAL; it makes the directory alongside its
 * data, so a host script that tests it sees what it would see with K3s.
 */
const ETCD_WAL_DIR = `${ETCD_DIR}/member/wal`;
const NODE_CREDENTIAL_PATH = `${AGENT_DIR}/stand-in-node-credential`;
/** The CA an agent verified its server against (K3s: agent/server-ca.crt). */
const AGENT_CA_PATH = `${AGENT_DIR}/server-ca.crt`;
const SNAPSHOT_DIR = `${SERVER_DIR}/db/snapshots`;
/** While this file exists, a starting stand-in never becomes ready (a fault a test drops). */
const NEVER_READY_PATH = "/etc/rancher/k3s/stand-in-never-ready";
const PORT = 6443;
/** An agent not joined after this long says so in its log (and, as K3s, keeps trying). */
const AGENT_JOIN_TIMEOUT_MS = 30_000;
/** Consecutive refusals after which an agent says so in its log (and keeps trying). */
const AGENT_MAX_REFUSALS = 3;
/** How often an agent tries the token again (pkg/agent/run.go Run: every 2 s, for ever). */
const AGENT_RETRY_MS = 2_000;

/**
 * systemd's notification socket, taken out of the environment at start so no child inherits it,
 * as K3s does (pkg/cli/server/server.go run: os.Unsetenv("NOTIFY_SOCKET") until it notifies).
 */
const NOTIFY_SOCKET = process.env.NOTIFY_SOCKET;
delete process.env.NOTIFY_SOCKET;
const SECRET_KEYS = ["token", "agent-token"];

type Config = Record<string, unknown>;

process.umask(0o077);

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} k3s stand-in: ${message}\n`);
}

function fail(message: string): never {
  log(`fatal: ${message}`);
  process.exit(1);
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function writePrivate(file: string, content: string, mode = 0o600): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

/** config.yaml, then `--key=value` / `--key value` flags over it, as K3s merges them. */
function loadConfig(flags: string[]): { config: Config } {
  const configText = readIfExists(CONFIG_PATH);
  const config: Config = configText ? ((parse(configText) as Config) ?? {}) : {};
  for (let i = 0; i < flags.length; i++) {
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(flags[i]);
    if (!m) continue;
    const value = m[2] ?? (flags[i + 1] && !flags[i + 1].startsWith("-") ? flags[++i] : "true");
    const existing = config[m[1]];
    config[m[1]] = Array.isArray(existing) ? [...(existing as unknown[]), value] : value;
  }
  return { config };
}

/** containerd's registry files from registries.yaml, at every start (registries.ts). */
function setUpRegistries(config: Config): void {
  const file = configString(config, "private-registry", REGISTRIES_DEFAULT_PATH);
  try {
    applyRegistries(file, `${AGENT_DIR}/etc/containerd`);
  } catch (err) {
    fail(
      `failed to load the private registry configuration from ${file}: ${(err as Error).message}`,
    );
  }
}

function configString(config: Config, key: string, fallback: string): string {
  const value = config[key];
  return typeof value === "string" || typeof value === "number" ? String(value) : fallback;
}

/**
 * The node's arguments as K3s records them on the node (k3s.io/node-args: the command line with
 * the config file's entries appended as flags, secrets "********"; pkg/nodeconfig/nodeconfig.go).
 */
function nodeArgs(role: string, config: Config): string[] {
  const args = [role];
  for (const [k, v] of Object.entries(config)) {
    for (const value of Array.isArray(v) ? v : [v]) {
      args.push(`--${k}`, SECRET_KEYS.includes(k) ? "********" : String(value));
    }
  }
  return args;
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

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(sha256(a)), Buffer.from(sha256(b)));
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function generateCa(): void {
  openssl(
    ["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"].concat([
      "-keyout",
      `${TLS_DIR}/server-ca.key`,
      "-out",
      `${TLS_DIR}/server-ca.crt`,
      "-days",
      "3650",
      "-subj",
      "/CN=k3s-server-ca-stand-in",
    ]),
  );
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

/**
 * READY=1 to systemd, as K3s's systemd.SdNotify (server: pkg/cli/server/server.go run, once the
 * apiserver and etcd are ready; agent: pkg/agent/run.go Run, once its token is validated). Node
 * cannot send on a unix datagram socket, so the main process runs `systemd-notify --ready
 * --pid=<its own pid>`: as root, systemd-notify sends the datagram with the main process's pid
 * as its credentials, and with the unit's default NotifyAccess=main systemd accepts a
 * notification only with the main pid's credentials. That is no more forgiving than K3s: only
 * the main process, at the moment it is ready, says so, and nothing else on the host can. Without
 * NOTIFY_SOCKET (not started by a Type=notify unit) there is no one to tell, as SdNotify.
 */
function notifyReady(): void {
  if (!NOTIFY_SOCKET) return;
  execFileSync("systemd-notify", ["--ready", `--pid=${process.pid}`], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NOTIFY_SOCKET },
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 10_000,
  });
}

/**
 * The never-ready fault: a stand-in started while NEVER_READY_PATH exists says so in its log, then
 * neither serves nor notifies until it is stopped (like a K3s waiting for an etcd quorum).
 */
async function blockIfNeverReady(service: string): Promise<void> {
  if (!fs.existsSync(NEVER_READY_PATH)) return;
  log(`${NEVER_READY_PATH} exists: ${service} never becomes ready`);
  process.on("SIGTERM", () => process.exit(0));
  await new Promise<never>(() => setInterval(() => undefined, 60_000));
}

/**
 * A running binary stays mapped, so /proc/<pid>/exe names it, "(deleted)" once an upgrade replaced
 * the file, and runs the very binary that runs. This process's binary is node; the file it runs is
 * the script, which node reads and closes. So `k3s server` and `k3s agent` keep it open: its fd in
 * /proc/<pid>/fd names it, "(deleted)" once replaced, and runs (`--version`) the version running.
 */
let ownFile: number | undefined;
function holdOwnFile(): void {
  ownFile ??= fs.openSync(process.argv[1], "r");
}

function registration(config: Config, role: "server" | "agent"): Registration {
  return {
    name: configString(config, "node-name", os.hostname()),
    role,
    version: STAND_IN_VERSION,
    address: asList(config["node-ip"])[0] ?? "127.0.0.1",
    labels: parseLabels(asList(config["node-label"])),
    taints: parseTaints(asList(config["node-taint"])),
    nodeArgs: nodeArgs(role, config),
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

function basicCredentials(auth: string): { user: string; pass: string } {
  const basic = /^Basic (.+)$/.exec(auth);
  if (!basic) return { user: "", pass: "" };
  const [user, pass] = Buffer.from(basic[1], "base64").toString().split(/:(.*)/s);
  return { user: user ?? "", pass: pass ?? "" };
}

async function runServer(flags: string[]): Promise<void> {
  const { config } = loadConfig(flags);
  const nodeName = configString(config, "node-name", os.hostname());
  const token = tokenFrom(config, "token-file", "token");
  const agentToken = tokenFrom(config, "agent-token-file", "agent-token");
  // K3s parses both tokens before anything else (pkg/clientaccess/token.go parseToken).
  for (const [key, value] of [
    ["token", token],
    ["agent-token", agentToken],
  ] as const) {
    const problem = value === undefined ? undefined : tokenFormatProblem(value);
    if (problem) fail(`${key}: ${problem}`);
  }
  const joinUrl = typeof config.server === "string" ? config.server : undefined;
  if (isSet(config["cluster-reset"])) return clusterReset(config, nodeName, token, joinUrl);
  await blockIfNeverReady("k3s");
  setUpRegistries(config);
  fs.mkdirSync(TLS_DIR, { recursive: true, mode: 0o700 });
  // Once its etcd data exists a server starts its member from it: bootstrapping is skipped, so
  // neither cluster-init nor server: matter any more (pkg/cluster/bootstrap.go
  // shouldBootstrapLoad, "If the database is initialized we skip bootstrapping; if the user wants
  // to rejoin a cluster they need to delete the database").
  const hasData = fs.existsSync(DATASTORE_PATH);
  const bootstrapUrl = hasData ? undefined : joinUrl;
  const firstJoin = bootstrapUrl !== undefined;
  let adminToken: string;
  let password: string;

  if (bootstrapUrl) {
    // A joining server bootstraps over HTTP from the server it names (pkg/cluster/bootstrap.go
    // httpBootstrap); a restarting one is checked against the datastore with its token below
    // (pkg/cluster/storage.go): both fail when the token is not the cluster's.
    if (!token) fail("a server joining a cluster needs a token");
    password = splitToken(token).password;
    const cacerts = await request(`${bootstrapUrl}/cacerts`).catch((err: Error) =>
      fail(`${bootstrapUrl}/cacerts: ${err.message}`),
    );
    if (cacerts.status !== 200) fail(`${bootstrapUrl}/cacerts answered ${cacerts.status}`);
    // A secure token's hash must be the sha256 of what /cacerts serves, else the joiner sends no
    // credential (pkg/clientaccess/token.go validateCACerts).
    const { caHash } = splitToken(token);
    if (caHash && caHash !== sha256(cacerts.body)) {
      fail(`the token's CA hash does not match the CA ${bootstrapUrl} serves`);
    }
    const boot = await request(`${bootstrapUrl}/v1-k3s/server-bootstrap`, {
      ca: cacerts.body,
      headers: { authorization: basicAuth("server", password), "x-stand-in-node-name": nodeName },
    }).catch((err: Error) => fail(`${bootstrapUrl}/v1-k3s/server-bootstrap: ${err.message}`));
    if (boot.status !== 200) {
      fail(
        `${bootstrapUrl} refused the bootstrap (${boot.status} ${boot.body.trim()}): token rejected`,
      );
    }
    const data = JSON.parse(boot.body) as { caCert: string; caKey: string; adminToken: string };
    writePrivate(`${TLS_DIR}/server-ca.crt`, data.caCert);
    writePrivate(`${TLS_DIR}/server-ca.key`, data.caKey);
    adminToken = data.adminToken;
  } else {
    if (!fs.existsSync(`${TLS_DIR}/server-ca.crt`)) generateCa();
    adminToken =
      readIfExists(`${SERVER_DIR}/admin-token`)?.trim() || randomBytes(24).toString("hex");
    // A first server without a configured token keeps the one it generated (server/token).
    const existing = readIfExists(TOKEN_PATH)?.trim();
    password = token
      ? splitToken(token).password
      : existing
        ? splitToken(existing).password
        : randomBytes(16).toString("hex");
  }
  writePrivate(`${SERVER_DIR}/admin-token`, `${adminToken}\n`);
  const ca = {
    cert: fs.readFileSync(`${TLS_DIR}/server-ca.crt`, "utf8"),
    key: fs.readFileSync(`${TLS_DIR}/server-ca.key`, "utf8"),
  };
  const store = new Replica({
    node: nodeName,
    ca: ca.cert,
    adminToken,
    joinUrl: bootstrapUrl,
    log,
  });
  if (!hasData && !bootstrapUrl) store.initialize();
  if (hasData) await store.catchUp().catch((err: Error) => fail(err.message));
  // The node user's password: the agent token, else the server token (pkg/daemons/control/deps
  // genUsers/getNodePass).
  let nodePassword = agentToken ? splitToken(agentToken).password : password;
  const reg = registration(config, "server");
  const memberName = hasData ? readIfExists(MEMBER_MARKER)?.trim() || undefined : undefined;
  const started = await store.call({
    op: "serverStart",
    serverSha: sha256(password),
    nodeSha: sha256(nodePassword),
    firstJoin,
    reg,
    ...(memberName !== undefined && { memberName }),
  });
  if (started.status !== 200) {
    fail(`the datastore refused this server (${started.status}): ${started.body}`);
  }
  const { member } = JSON.parse(started.body) as { member?: string };
  writePrivate(MEMBER_MARKER, `${member ?? ""}\n`);
  fs.mkdirSync(ETCD_WAL_DIR, { recursive: true, mode: 0o700 });
  if (firstJoin) await store.takeJoinedReplica().catch((err: Error) => fail(err.message));
  // The first normal start after a reset removes the flag (pkg/cluster/managed.go start).
  if (!joinUrl && fs.existsSync(RESET_FLAG)) {
    fs.rmSync(RESET_FLAG);
    log(`removed ${RESET_FLAG}: started normally after a cluster reset`);
  }

  // K3s keeps the full token (CA hash + password) in server/token (docs.k3s.io cli/token).
  writePrivate(TOKEN_PATH, `K10${sha256(ca.cert)}::server:${password}\n`);
  // server/agent-token is in the secure form too, with the node user (docs.k3s.io cli/token).
  if (agentToken) {
    const agentPassword = splitToken(agentToken).password;
    writePrivate(`${SERVER_DIR}/agent-token`, `K10${sha256(ca.cert)}::node:${agentPassword}\n`);
  }

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

  /** Set when the datastore says this server's etcd member was removed. */
  let etcdRemoved = false;
  const watches = new Set<import("http").ServerResponse>();

  const handle = async (
    req: import("http").IncomingMessage,
    res: import("http").ServerResponse,
  ) => {
    const reply = (status: number, body: string, type = "text/plain") => {
      res.writeHead(status, { "content-type": type, "x-stand-in-node-name": nodeName });
      res.end(body);
    };
    const auth = req.headers.authorization ?? "";
    const admin = sameSecret(auth, `Bearer ${adminToken}`);
    const { user, pass } = basicCredentials(auth);
    const peer = String(req.headers["x-stand-in-node-name"] ?? "");
    const url = req.url ?? "";
    const method = req.method ?? "GET";
    if (method === "GET" && url === "/ping") return reply(200, "pong");
    if (method === "GET" && url === "/cacerts") return reply(200, ca.cert);
    if (method === "GET" && url === "/watch") {
      // Stands for a long-lived API watch (as the LB lab's stand-in): a line a second.
      res.writeHead(200, { "content-type": "text/plain", "x-stand-in-node-name": nodeName });
      watches.add(res);
      let seq = 0;
      const tick = () => res.write(`${nodeName} ${seq++}\n`);
      tick();
      const timer = setInterval(tick, 1_000);
      res.on("close", () => {
        clearInterval(timer);
        watches.delete(res);
      });
      return;
    }
    const body = await readBody(req);
    // As K3s: anonymous auth is off, so only the admin credential gets an answer. A server whose
    // etcd member was removed loses its datastore: the apiserver stops being ready.
    if (method === "GET" && ["/readyz", "/readyz/etcd", "/healthz", "/livez"].includes(url)) {
      if (!admin) return reply(401, "Unauthorized");
      return etcdRemoved ? reply(503, "etcd member removed from the cluster") : reply(200, "ok");
    }
    if (method === "GET" && url === "/version") {
      if (!admin) return reply(401, "Unauthorized");
      return reply(200, JSON.stringify({ gitVersion: STAND_IN_VERSION }), "application/json");
    }
    const forward = async (op: DatastoreOp) => {
      const answer = await store.call(op);
      return reply(answer.status, answer.body, "application/json");
    };
    if (/^\/stand-in\/datastore(\?leader)?$/.test(url) && method === "POST") {
      if (!admin) return reply(401, "Unauthorized");
      const answer = await store.call(JSON.parse(body) as DatastoreOp, url.endsWith("?leader"));
      return reply(answer.status, answer.body, "application/json");
    }
    if (url === "/stand-in/replica") {
      if (!admin) return reply(401, "Unauthorized");
      if (method === "GET") {
        const answer = store.snapshot();
        return reply(answer.status, answer.body, "application/json");
      }
      if (method === "PUT") {
        const answer = store.receive(JSON.parse(body) as DatastoreState);
        return reply(answer.status, answer.body, "application/json");
      }
      return reply(405, "");
    }
    if (url === "/stand-in/datastore" && method === "GET") {
      if (!admin) return reply(401, "Unauthorized");
      return forward({ op: "dump" });
    }
    const nodeApi = /^\/stand-in\/nodes(?:\/([^/]+))?$/.exec(url);
    if (nodeApi) {
      if (!admin) return reply(401, "Unauthorized");
      const name = nodeApi[1] && decodeURIComponent(nodeApi[1]);
      if (method === "GET") return forward(name ? { op: "get", name } : { op: "list" });
      if (method === "PATCH" && name) {
        return forward({
          op: "patch",
          name,
          patch: JSON.parse(body) as Parameters<Datastore["patch"]>[1],
        });
      }
      if (method === "DELETE" && name) return forward({ op: "remove", name });
      return reply(405, "");
    }
    if (method === "GET" && url === "/v1-k3s/server-bootstrap") {
      // The supervisor's server-authed routes need the server user (pkg/server/handlers/router.go).
      if (user !== "server") return reply(401, "Unauthorized");
      const checked = await store.call({ op: "checkServer", serverSha: sha256(pass) });
      if (checked.status !== 200) return reply(checked.status, checked.body);
      return reply(200, JSON.stringify({ caCert: ca.cert, caKey: ca.key, adminToken }));
    }
    if (method === "GET" && url === "/db/info") {
      // The etcd member list, server-authed as the bootstrap (pkg/server/router.go: serverAuthed
      // "/db/info", handlers.DBInfo: etcd's MemberList as {"members": [...]}).
      if (user !== "server") return reply(401, "Unauthorized");
      const checked = await store.call({ op: "checkServer", serverSha: sha256(pass) });
      if (checked.status !== 200) return reply(checked.status, checked.body);
      return forward({ op: "members" });
    }
    if (url === "/v1-k3s/token" && supportsTokenRotate(STAND_IN_VERSION)) {
      // pkg/server/handlers/token.go TokenRequest: PUT only, server user with the current token.
      if (method !== "PUT") return reply(405, "method not allowed");
      if (user !== "server" || !sameSecret(pass, password)) return reply(401, "Unauthorized");
      let newToken: string | undefined;
      try {
        newToken = (JSON.parse(body) as { newToken?: string }).newToken;
      } catch {
        return reply(400, "bad request");
      }
      const newPassword = newToken
        ? splitToken(newToken).password
        : randomBytes(16).toString("hex");
      const rotated = await store.call({
        op: "rotate",
        oldSha: sha256(password),
        newSha: sha256(newPassword),
        agentTokenConfigured: agentToken !== undefined,
      });
      if (rotated.status !== 200) return reply(rotated.status, rotated.body);
      log("token rotated");
      if (nodePassword === password && agentToken === undefined) nodePassword = newPassword;
      password = newPassword;
      // tokenRotate rewrites server/token with the new password (writeToken).
      writePrivate(TOKEN_PATH, `K10${sha256(ca.cert)}::server:${password}\n`);
      return reply(200, "");
    }
    if (method === "POST" && url === "/v1-k3s/stand-in-join") {
      // Agents authenticate as the node user (pkg/agent/config/config.go WithUser("node")).
      if (user !== "node") return reply(401, "Unauthorized");
      const reg = JSON.parse(body) as Registration;
      const joined = await store.call({ op: "join", nodeSha: sha256(pass), reg });
      if (joined.status !== 200) return reply(joined.status, joined.body);
      return reply(200, joined.body, "application/json");
    }
    if (method === "POST" && url === "/v1-k3s/stand-in-heartbeat") {
      const credential = String(req.headers["x-stand-in-node-credential"] ?? "");
      return forward({ op: "heartbeat", name: peer, credentialSha: sha256(credential) });
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
  }).catch((err: Error) => fail(`listening on :${PORT}: ${err.message}`));

  // Status updates (the kubelet's node lease), to the datastore.
  const heartbeat = async () => {
    const answer = await store.call({ op: "heartbeat", name: nodeName, credentialSha: "admin" });
    if (answer.status === 410 && !etcdRemoved) {
      etcdRemoved = true;
      log(answer.body);
    } else if (answer.status === 404) {
      log(`node ${nodeName} was deleted; not registering again until restarted`);
    }
  };
  const heartbeats = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);

  log(`server ${nodeName} listening on :${PORT}${joinUrl ? `, joined ${joinUrl}` : ""}`);
  notifyReady();
  const stop = () => {
    clearInterval(heartbeats);
    for (const w of watches) w.destroy();
    server.closeAllConnections();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function isSet(value: unknown): boolean {
  return typeof value === "string" ? value.toLowerCase() !== "false" : value === true;
}

/**
 * `k3s server --cluster-reset [--cluster-reset-restore-path=<file>]`, as K3s runs it
 * (pkg/cluster/managed.go start; pkg/etcd/etcd.go Reset, Restore), on the cluster-init server with
 * K3s stopped. Refused while server/db/reset-flag exists (a reset already ran and no normal start
 * followed). With a restore path, the etcd data moves to db/etcd-old-<unix> and the snapshot file
 * becomes the data; the bootstrap data in it must open with this server's token, as K3s's
 * rebootstrap needs ("bootstrap data already found and encrypted with different token"). The
 * membership becomes this server alone; reset-flag is written; then K3s's message and exit 0.
 */
function clusterReset(
  config: Config,
  nodeName: string,
  token: string | undefined,
  joinUrl: string | undefined,
): void {
  if (fs.existsSync(RESET_FLAG)) {
    fail(
      `cluster-reset was successfully performed, please remove the cluster-reset flag and start k3s normally, if you need to perform another cluster reset, you must first manually delete the ${RESET_FLAG} file`,
    );
  }
  if (joinUrl) {
    fail(
      "the stand-in models --cluster-reset on the cluster-init server only (this one joins a server)",
    );
  }
  const restorePath = config["cluster-reset-restore-path"];
  let text: string | undefined;
  if (typeof restorePath === "string" && restorePath !== "" && restorePath !== "true") {
    if (isSet(config["etcd-s3"])) {
      fail("the stand-in does not model S3: restore a local file with --etcd-s3=false");
    }
    text = readIfExists(restorePath);
    if (text === undefined) fail(`etcd: snapshot path does not exist: ${restorePath}`);
    if (fs.existsSync(ETCD_DIR)) {
      const aside = `${DB_DIR}/etcd-old-${Math.floor(Date.now() / 1000)}`;
      fs.renameSync(ETCD_DIR, aside);
      log(`moved the etcd data directory to ${aside}`);
    }
    log(`restoring etcd snapshot ${restorePath}`);
  } else {
    text = readIfExists(DATASTORE_PATH);
    if (text === undefined) fail(`no etcd data in ${ETCD_DIR} to reset`);
  }
  const state = JSON.parse(text) as DatastoreState;
  const existing = readIfExists(TOKEN_PATH)?.trim();
  const password = token ? splitToken(token).password : existing && splitToken(existing).password;
  if (!password || !state.bootstrap || state.bootstrap.server !== sha256(password)) {
    fail("bootstrap data already found and encrypted with different token");
  }
  const ds = new Datastore(state);
  ds.resetMembership(registration(config, "server"));
  writePrivate(DATASTORE_PATH, JSON.stringify({ ...ds.state, heartbeats: {} }, null, 1));
  writePrivate(HEARTBEATS_PATH, "{}");
  writePrivate(RESET_FLAG, "");
  log(
    `Managed etcd cluster membership has been reset, restart without --cluster-reset flag now. Backup and delete \${datadir}/server/db on each peer etcd server and rejoin the nodes (node ${nodeName})`,
  );
  process.exit(0);
}

class Refused extends Error {}

interface JoinAnswer {
  credential: string;
  nodeCredential: string;
  apiservers: string[];
  first: boolean;
}

async function joinOnce(
  serverUrl: string,
  token: string,
  reg: Registration,
): Promise<{ answer: JoinAnswer; ca: string }> {
  const cacerts = await request(`${serverUrl}/cacerts`);
  if (cacerts.status !== 200) throw new Error(`${serverUrl}/cacerts answered ${cacerts.status}`);
  const { caHash, password } = splitToken(token);
  // As K3s (pkg/clientaccess/token.go validateCACerts): no credential goes to a server whose CA
  // does not hash to the token's; a short token trusts whatever /cacerts serves.
  if (caHash && caHash !== sha256(cacerts.body)) {
    throw new Error(`the token's CA hash does not match the CA ${serverUrl} serves`);
  }
  // Verified against the cluster CA: fails unless the server's certificate names the address.
  const ping = await request(`${serverUrl}/ping`, { ca: cacerts.body });
  if (ping.status !== 200 || ping.body !== "pong") {
    throw new Error(`${serverUrl}/ping answered ${ping.status} ${ping.body.slice(0, 40)}`);
  }
  const joined: Reply = await request(`${serverUrl}/v1-k3s/stand-in-join`, {
    method: "POST",
    ca: cacerts.body,
    headers: { authorization: basicAuth("node", password), "x-stand-in-node-name": reg.name },
    body: JSON.stringify(reg),
  });
  if (joined.status === 401) throw new Refused(`${serverUrl} refused the join: token rejected`);
  if (joined.status !== 200) {
    throw new Error(`${serverUrl} answered the join with ${joined.status} ${joined.body.trim()}`);
  }
  return { answer: JSON.parse(joined.body) as JoinAnswer, ca: cacerts.body };
}

async function runAgent(flags: string[]): Promise<void> {
  const { config } = loadConfig(flags);
  const nodeName = configString(config, "node-name", os.hostname());
  const serverUrl = typeof config.server === "string" ? config.server : undefined;
  const token = tokenFrom(config, "token-file", "token");
  if (!serverUrl) fail("an agent needs server:");
  if (!token) fail("an agent needs a token");
  // An agent parses its token first and exits on a malformed one (pkg/clientaccess/token.go).
  const problem = tokenFormatProblem(token);
  if (problem) fail(`token: ${problem}`);
  await blockIfNeverReady("k3s-agent");
  setUpRegistries(config);
  const reg = registration(config, "agent");
  const deadline = Date.now() + AGENT_JOIN_TIMEOUT_MS;
  let joined: Awaited<ReturnType<typeof joinOnce>> | undefined;
  let refusals = 0;
  let saidSo = false;
  const notJoining = (error: string) => {
    if (saidSo) return;
    saidSo = true;
    log(`${error}; trying again every ${AGENT_RETRY_MS / 1000} s, not ready`);
  };
  // As K3s (pkg/agent/run.go Run): an agent tries its token against the server every 2 s for
  // ever and tells systemd nothing until it joined, so `systemctl start` waits.
  for (;;) {
    try {
      joined = await joinOnce(serverUrl, token, reg);
      break;
    } catch (err) {
      log(`join through ${serverUrl} failed: ${(err as Error).message}`);
      refusals = err instanceof Refused ? refusals + 1 : 0;
      if (refusals >= AGENT_MAX_REFUSALS) notJoining(`the cluster refused this agent's token`);
      if (Date.now() > deadline) notJoining(`not joined through ${serverUrl} after 30 s`);
      await new Promise((r) => setTimeout(r, AGENT_RETRY_MS));
    }
  }
  writePrivate(NODE_CREDENTIAL_PATH, `${joined.answer.nodeCredential}\n`);
  // The CA the agent verified its server against, as K3s keeps it (agent/server-ca.crt).
  writePrivate(AGENT_CA_PATH, joined.ca);

  // Once joined, an agent reaches the servers through its own client-side load balancer over the
  // apiserver addresses it learned (pkg/agent/loadbalancer, pkg/agent/tunnel), the registration
  // address being only the fallback.
  let apiservers = joined.answer.apiservers;
  let deleted = false;
  let failing = false;
  let next = 0;
  const heartbeat = async () => {
    if (deleted) return;
    const candidates = [...apiservers.map((a) => `https://${a}`), serverUrl.replace(/\/+$/, "")];
    const errors: string[] = [];
    for (let i = 0; i < candidates.length; i++) {
      const url = candidates[(next + i) % candidates.length];
      try {
        const r = await request(`${url}/v1-k3s/stand-in-heartbeat`, {
          method: "POST",
          ca: joined.ca,
          headers: {
            "x-stand-in-node-name": nodeName,
            "x-stand-in-node-credential": joined.answer.nodeCredential,
          },
        });
        if (r.status === 200) {
          apiservers = (JSON.parse(r.body) as { apiservers: string[] }).apiservers;
          if (failing) log(`status updates reach ${url} again`);
          failing = false;
          next++;
          return;
        }
        if (r.status === 404) {
          deleted = true;
          log(`node ${nodeName} was deleted; not registering again until restarted`);
          return;
        }
        errors.push(`${url}: ${r.status}`);
      } catch (err) {
        errors.push(`${url}: ${(err as Error).message}`);
      }
    }
    if (!failing) log(`status updates reach no server: ${errors.join("; ")}`);
    failing = true;
  };
  const timer = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);

  log(`agent ${nodeName} joined through ${serverUrl}`);
  notifyReady();
  const stop = () => {
    clearInterval(timer);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function flagValue(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

/** `k3s token rotate`: the same PUT /v1-k3s/token the supervisor serves (pkg/cli/token). */
async function tokenCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    process.stdout.write(tokenHelp(STAND_IN_VERSION));
    return 0;
  }
  if (sub !== "rotate" || !supportsTokenRotate(STAND_IN_VERSION)) {
    // urfave/cli's answer to a command it does not have.
    process.stderr.write(`No help topic for '${sub}'\n`);
    return 3;
  }
  const server = flagValue(rest, "--server") ?? `https://127.0.0.1:${PORT}`;
  const current =
    flagValue(rest, "--token") ?? readIfExists(TOKEN_PATH)?.trim() ?? fail("no current token");
  const newToken = flagValue(rest, "--new-token") ?? randomBytes(16).toString("hex");
  const reply = await request(`${server}/v1-k3s/token`, {
    method: "PUT",
    ca: fs.readFileSync(`${TLS_DIR}/server-ca.crt`, "utf8"),
    headers: { authorization: basicAuth("server", splitToken(current).password) },
    body: JSON.stringify({ newToken }),
  });
  if (reply.status !== 200) {
    process.stderr.write(`FATA[0000] ${server}/v1-k3s/token: ${reply.status} ${reply.body}\n`);
    return 1;
  }
  process.stderr.write("Token rotated, restart k3s nodes with new token\n");
  return 0;
}

/**
 * `k3s etcd-snapshot save --name N`: a snapshot named <name>-<node>-<unix time>
 * (pkg/etcd/snapshot.go Snapshot) under server/db/snapshots, holding the datastore's state.
 */
async function etcdSnapshot(args: string[]): Promise<number> {
  const rest = args[0] === "save" ? args.slice(1) : args;
  const name = flagValue(rest, "--name") ?? "on-demand";
  const { config } = loadConfig([]);
  const node = configString(config, "node-name", os.hostname());
  const doc = parse(fs.readFileSync(KUBECONFIG_PATH, "utf8")) as {
    users: { user: { token: string } }[];
  };
  const reply = await request(`https://127.0.0.1:${PORT}/stand-in/datastore`, {
    ca: fs.readFileSync(`${TLS_DIR}/server-ca.crt`, "utf8"),
    headers: { authorization: `Bearer ${doc.users[0].user.token}` },
  }).catch((err: Error) => ({ status: 0, body: err.message, headers: {} }));
  if (reply.status !== 200) {
    process.stderr.write(`FATA[0000] etcd snapshot failed: ${reply.status} ${reply.body}\n`);
    return 1;
  }
  const file = `${SNAPSHOT_DIR}/${name}-${node}-${Math.floor(Date.now() / 1000)}`;
  writePrivate(file, reply.body);
  process.stderr.write(`INFO[0000] Snapshot ${path.basename(file)} saved.\n`);
  return 0;
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
      holdOwnFile();
      return runServer(rest);
    case "agent":
      holdOwnFile();
      return runAgent(rest);
    case "kubectl":
      return process.exit(await kubectl(rest));
    case "token":
      return process.exit(await tokenCommand(rest));
    case "etcd-snapshot":
      return process.exit(await etcdSnapshot(rest));
    default:
      fail(`the stand-in does not implement ${JSON.stringify(command ?? "")}`);
  }
}

main().catch((err: Error) => fail(err.message));
