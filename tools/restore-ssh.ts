/**
 * The restore's SSH sessions: one connection per host, the host's key checked against the one the
 * stack pins (only that key type is asked for, as the command provider does), and every command a
 * `sh -s` script on stdin, through `sudo -n` for a user other than root (as the program's steps),
 * each bounded: a command that outlives its bound is cut and reported.
 */
import * as fs from "fs";
import { Client, ConnectConfig } from "ssh2";
import { algorithmsFor, fingerprint, parseAuthorizedKey } from "./hostkeys-keys";
import type { RestoreHost } from "./restore-plan";

export const CONNECT_TIMEOUT_MS = 20_000;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Credentials {
  user: string;
  /** Private key content; else ssh-agent. */
  privateKey?: string;
  agent?: string;
}

/** The key file, or ssh-agent; refused with a message naming what to set. */
export function credentialsFor(
  user: string,
  privateKeyPath: string | undefined,
  env: NodeJS.ProcessEnv,
): Credentials {
  if (privateKeyPath !== undefined) {
    let privateKey: string;
    try {
      privateKey = fs.readFileSync(privateKeyPath, "utf8");
    } catch (err) {
      throw new Error(
        `sshPrivateKeyPath: cannot read ${privateKeyPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    return { user, privateKey };
  }
  if (env.SSH_AUTH_SOCK) return { user, agent: env.SSH_AUTH_SOCK };
  throw new Error(
    "no SSH key: set sshPrivateKeyPath in the stack file or load the key into ssh-agent (the sshPrivateKey secret is not read by this tool)",
  );
}

export class HostSession {
  private constructor(
    readonly host: RestoreHost,
    private readonly client: Client,
    private readonly sudo: boolean,
  ) {}

  static connect(host: RestoreHost, creds: Credentials): Promise<HostSession> {
    const pinned = parseAuthorizedKey(host.hostKey);
    if (typeof pinned === "string") {
      return Promise.reject(new Error(`${host.name}: hostKey: ${pinned}`));
    }
    return new Promise((resolve, reject) => {
      const client = new Client();
      let presented: string | undefined;
      const config: ConnectConfig = {
        host: host.address,
        port: host.port,
        username: creds.user,
        readyTimeout: CONNECT_TIMEOUT_MS,
        algorithms: { serverHostKey: algorithmsFor(pinned.type) as never },
        hostVerifier: (key: Buffer) => {
          presented = fingerprint({ type: pinned.type, blob: key });
          return key.equals(pinned.blob);
        },
        ...(creds.privateKey !== undefined && { privateKey: creds.privateKey }),
        ...(creds.agent !== undefined && { agent: creds.agent }),
      };
      const timer = setTimeout(() => {
        client.destroy();
        reject(
          new Error(
            `${host.name} (${host.address}): no SSH session within ${CONNECT_TIMEOUT_MS / 1000} s`,
          ),
        );
      }, CONNECT_TIMEOUT_MS + 5_000);
      client.once("ready", () => {
        clearTimeout(timer);
        client.on("error", () => undefined);
        resolve(new HostSession(host, client, creds.user !== "root"));
      });
      client.once("error", (err) => {
        clearTimeout(timer);
        const mismatch =
          presented !== undefined && presented !== fingerprint(pinned)
            ? `: the host presented ${presented}, the stack pins ${fingerprint(pinned)}; refusing (run npm run hostkeys if the host was reinstalled)`
            : "";
        reject(new Error(`${host.name} (${host.address}): ${err.message}${mismatch}`));
      });
      client.connect(config);
    });
  }

  /**
   * Runs `script` with `sh -s` (as root: sudo -n for another user), its arguments quoted; resolves
   * with its exit code and output, or rejects once `timeoutMs` ran out (the channel is closed).
   */
  run(script: string, args: string[], timeoutMs: number): Promise<RunResult> {
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
    const command = `${this.sudo ? "sudo -n " : ""}sh -s -- ${quoted}`;
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, channel) => {
        if (err) return reject(new Error(`${this.host.name}: ${err.message}`));
        let stdout = "";
        let stderr = "";
        const timer = setTimeout(() => {
          channel.close();
          reject(new Error(`${this.host.name}: gave up after ${timeoutMs / 1000} s`));
        }, timeoutMs);
        channel.on("data", (d: Buffer) => (stdout += d.toString()));
        channel.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        channel.on("close", (code: number | null) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
        channel.end(script);
      });
    });
  }

  /** Streams a file out of this host into `to`'s `dest` (both as root), bounded. */
  async copyFileTo(
    to: HostSession,
    source: string,
    dest: string,
    timeoutMs: number,
  ): Promise<void> {
    const read = `${this.sudo ? "sudo -n " : ""}cat -- '${source}'`;
    const write = `${to.sudo ? "sudo -n " : ""}sh -c 'umask 077; cat > "$1.part" && mv "$1.part" "$1"' sh '${dest}'`;
    const closed = (channel: import("ssh2").ClientChannel) =>
      new Promise<number | null>((resolve) =>
        channel.on("close", (code: number | null) => resolve(code)),
      );
    const exec = (session: HostSession, command: string) =>
      new Promise<import("ssh2").ClientChannel>((resolve, reject) =>
        session.client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel))),
      );
    const copy = async () => {
      const out = await exec(this, read);
      const into = await exec(to, write);
      const codes = Promise.all([closed(out), closed(into)]);
      out.pipe(into);
      const [readCode, writeCode] = await codes;
      if (readCode !== 0) {
        throw new Error(`reading ${source} on ${this.host.name} failed (exit ${readCode})`);
      }
      if (writeCode !== 0) {
        throw new Error(`writing ${dest} on ${to.host.name} failed (exit ${writeCode})`);
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`copying ${source}: gave up after ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([copy(), bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  end(): void {
    this.client.end();
  }
}
