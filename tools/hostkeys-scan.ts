/**
 * Reads hosts' SSH host keys from the handshake, directly or through a bastion (one authenticated
 * connection, a forwarded channel per host). A key counts once the host proved it holds it (the
 * handshake's signature verified); the final hosts are never authenticated to. Every connection
 * is bounded by the connect timeout and the whole scan by the overall timeout.
 */
import { Client, ClientChannel, ConnectConfig } from "ssh2";
import { PublicKey, algorithmsFor, keyFromBlob, preferredAlgorithms } from "./hostkeys-keys";

export interface ScanTarget {
  name: string;
  address: string;
  port: number;
  /** The pinned key's type: the handshake asks for that type only, as the command provider does. */
  pinnedType?: string;
}

export type ScanOutcome = { key: PublicKey } | { error: string };

export interface BastionAccess {
  target: ScanTarget;
  user: string;
  /** Private key content; else `agent`. */
  privateKey?: string;
  /** ssh-agent socket. */
  agent?: string;
  /** Called with the bastion's key before authenticating to it: a reason refuses the connection. */
  refuse: (key: PublicKey) => string | undefined;
}

export interface ScanOptions {
  /** Bound on each host: TCP connect (or the bastion's forward) and the handshake. */
  connectTimeoutMs: number;
  /** Bound on the whole scan; hosts not done by then are reported as not scanned. */
  overallTimeoutMs: number;
  /** Hosts scanned at once. */
  concurrency: number;
  bastion?: BastionAccess;
}

export interface ScanResults {
  bastion?: ScanOutcome;
  /** By target, in the order given. */
  hosts: Map<ScanTarget, ScanOutcome>;
}

/** Ends every connection still open when the overall timeout runs out. */
class Deadline {
  private readonly cancels = new Set<(reason: string) => void>();
  private readonly timer: NodeJS.Timeout;
  expired?: string;

  constructor(ms: number) {
    this.timer = setTimeout(() => {
      this.expired = `not scanned: the overall timeout (${ms / 1000} s) ran out`;
      for (const cancel of [...this.cancels]) cancel(this.expired);
    }, ms);
  }

  /** Registers a cancel function; returns its removal. */
  watch(cancel: (reason: string) => void): () => void {
    this.cancels.add(cancel);
    return () => this.cancels.delete(cancel);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

function describeError(err: Error & { code?: string; level?: string }): string {
  switch (err.code) {
    case "ECONNREFUSED":
      return "connection refused (no SSH server on that port?)";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "no route to host";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve";
    default:
      return err.message.replace(/^Handshake failed: /, "handshake failed: ");
  }
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

/** Runs the handshake with `config` and resolves with the key the host proved, or why not. */
function handshakeKey(
  config: ConnectConfig,
  target: ScanTarget,
  timeoutMs: number,
  deadline: Deadline,
  onEnd: () => void = () => undefined,
): Promise<ScanOutcome> {
  return new Promise((resolve) => {
    const client = new Client();
    let presented: PublicKey | undefined;
    let done = false;
    const finish = (outcome: ScanOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unwatch();
      client.removeAllListeners();
      client.on("error", () => undefined);
      client.destroy();
      onEnd();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => finish({ error: `no SSH handshake within ${seconds(timeoutMs)}` }),
      timeoutMs,
    );
    const unwatch = deadline.watch((reason) => finish({ error: reason }));
    // The handshake is over once the host's signature verified: the key is its own. Stop there.
    client.on("handshake", () =>
      finish(presented ? { key: presented } : { error: "the handshake presented no host key" }),
    );
    client.on("error", (err: Error) => {
      const missingType = /no matching host key format/.test(err.message);
      finish({
        error:
          missingType && target.pinnedType
            ? `the host offers no ${target.pinnedType} host key (the pinned key's type)`
            : describeError(err),
      });
    });
    client.on("close", () => finish({ error: "the connection closed during the handshake" }));
    try {
      client.connect({
        ...config,
        readyTimeout: timeoutMs + 1000,
        algorithms: {
          serverHostKey: (target.pinnedType
            ? algorithmsFor(target.pinnedType)
            : preferredAlgorithms()) as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"],
        },
        hostVerifier: (blob: Buffer) => {
          const key = keyFromBlob(blob);
          if (typeof key === "string") return false;
          presented = key;
          return true;
        },
      });
    } catch (err) {
      finish({ error: describeError(err as Error) });
    }
  });
}

function scanDirect(
  target: ScanTarget,
  user: string,
  options: ScanOptions,
  deadline: Deadline,
): Promise<ScanOutcome> {
  const config = { host: target.address, port: target.port, username: user };
  return handshakeKey(config, target, options.connectTimeoutMs, deadline);
}

/** Opens a channel from the bastion to the target and runs the handshake over it. */
function scanThrough(
  bastion: Client,
  target: ScanTarget,
  user: string,
  options: ScanOptions,
  deadline: Deadline,
): Promise<ScanOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: ScanOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unwatch();
      resolve(outcome);
    };
    const timer = setTimeout(
      () =>
        finish({
          error: `the bastion did not reach the host within ${seconds(options.connectTimeoutMs)}`,
        }),
      options.connectTimeoutMs,
    );
    const unwatch = deadline.watch((reason) => finish({ error: reason }));
    bastion.forwardOut("127.0.0.1", 0, target.address, target.port, (err, stream) => {
      if (done) {
        stream?.destroy();
        return;
      }
      if (err) {
        const reason = err.message.replace(/^\(SSH\) Channel open failure: /, "").toLowerCase();
        finish({ error: `the bastion could not reach it (${reason})` });
        return;
      }
      clearTimeout(timer);
      unwatch();
      done = true;
      const left = Math.max(1000, options.connectTimeoutMs - (Date.now() - started));
      const channel: ClientChannel = stream;
      channel.on("error", () => undefined);
      void handshakeKey({ sock: channel, username: user }, target, left, deadline, () =>
        channel.destroy(),
      ).then(resolve);
    });
  });
}

/** Connects and authenticates to the bastion; resolves with the client and the bastion's key. */
function connectBastion(
  access: BastionAccess,
  options: ScanOptions,
  deadline: Deadline,
): Promise<{ client?: Client; outcome: ScanOutcome; failure?: string }> {
  return new Promise((resolve) => {
    const client = new Client();
    let presented: PublicKey | undefined;
    let refusal: string | undefined;
    let done = false;
    const finish = (ok: boolean, failure?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unwatch();
      const outcome: ScanOutcome = presented ? { key: presented } : { error: failure ?? "" };
      if (ok) {
        resolve({ client, outcome });
        return;
      }
      client.removeAllListeners();
      client.on("error", () => undefined);
      client.destroy();
      resolve({ outcome, failure: refusal ?? failure });
    };
    const timeoutMs = options.connectTimeoutMs;
    const timer = setTimeout(
      () => finish(false, `the bastion was not ready within ${seconds(timeoutMs)}`),
      timeoutMs,
    );
    const unwatch = deadline.watch((reason) => finish(false, reason));
    client.on("ready", () => finish(true));
    client.on("error", (err: Error) => {
      const text = /authentication methods failed/.test(err.message)
        ? `authentication to the bastion as ${access.user} failed (the key in sshPrivateKeyPath, --identity or ssh-agent)`
        : describeError(err);
      finish(false, text);
    });
    client.on("close", () => finish(false, "the bastion closed the connection"));
    const target = access.target;
    try {
      client.connect({
        host: target.address,
        port: target.port,
        username: access.user,
        ...(access.privateKey !== undefined
          ? { privateKey: access.privateKey }
          : { agent: access.agent }),
        readyTimeout: timeoutMs + 1000,
        keepaliveInterval: 5000,
        algorithms: {
          serverHostKey: (target.pinnedType
            ? algorithmsFor(target.pinnedType)
            : preferredAlgorithms()) as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"],
        },
        hostVerifier: (blob: Buffer) => {
          const key = keyFromBlob(blob);
          if (typeof key === "string") return false;
          presented = key;
          refusal = access.refuse(key);
          return refusal === undefined;
        },
      });
    } catch (err) {
      finish(false, describeError(err as Error));
    }
  });
}

async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  const queue = [...items];
  const workers = Array.from({ length: Math.max(1, Math.min(limit, queue.length)) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  });
  await Promise.all(workers);
}

/** Scans every target (through the bastion when there is one); never throws for a host. */
export async function scanHostKeys(
  targets: ScanTarget[],
  user: string,
  options: ScanOptions,
): Promise<ScanResults> {
  const deadline = new Deadline(options.overallTimeoutMs);
  const hosts = new Map<ScanTarget, ScanOutcome>();
  try {
    if (!options.bastion) {
      await pool(targets, options.concurrency, async (t) => {
        hosts.set(
          t,
          deadline.expired
            ? { error: deadline.expired }
            : await scanDirect(t, user, options, deadline),
        );
      });
      return { hosts: new Map(targets.map((t) => [t, hosts.get(t)!])) };
    }
    const bastion = await connectBastion(options.bastion, options, deadline);
    if (!bastion.client) {
      const why = `not scanned: ${bastion.failure ?? "the bastion failed"}`;
      return {
        bastion: bastion.outcome,
        hosts: new Map(targets.map((t) => [t, { error: why }])),
      };
    }
    const client = bastion.client;
    client.on("error", () => undefined);
    try {
      await pool(targets, options.concurrency, async (t) => {
        hosts.set(
          t,
          deadline.expired
            ? { error: deadline.expired }
            : await scanThrough(client, t, user, options, deadline),
        );
      });
    } finally {
      client.end();
      client.destroy();
    }
    return { bastion: bastion.outcome, hosts: new Map(targets.map((t) => [t, hosts.get(t)!])) };
  } finally {
    deadline.clear();
  }
}
