/** Runs one command over SSH the way the command provider does: its own connection, stdin, exit status. */
import * as path from "path";
import { Client, ConnectConfig } from "ssh2";
import { dialFromController } from "./relay";

/** The connection a `command:remote:Command` carries (the fields this harness honours). */
export interface SshConnection {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  /** Pinned host key as known_hosts holds it ("ssh-ed25519 AAAA..."). */
  hostKey?: string;
  dialErrorLimit?: number;
  perDialTimeout?: number;
}

export interface ExecResult {
  /** Exit status, or null when the channel closed without one (connection lost, signal). */
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  stdin?: string;
  /** Called with the open client, so a test can cut the connection midway. */
  onClient?: (client: Client) => void;
  /** Bound on the whole command. */
  timeoutMs?: number;
}

function hostVerifier(pinned: string | undefined): ConnectConfig["hostVerifier"] {
  if (!pinned) return undefined;
  const expected = Buffer.from(pinned.trim().split(/\s+/)[1] ?? "", "base64");
  return (key: Buffer) => Buffer.isBuffer(key) && key.equals(expected);
}

async function connect(conn: SshConnection): Promise<Client> {
  // The lab's addresses exist only inside its namespaces: dial from the controller netns.
  const sock = await dialFromController(conn.host, conn.port ?? 22);
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once("ready", () => resolve(client));
    client.once("error", (err) => reject(err));
    client.connect({
      sock,
      host: conn.host,
      port: conn.port ?? 22,
      username: conn.user ?? "root",
      privateKey: conn.privateKey,
      hostVerifier: hostVerifier(conn.hostKey),
      readyTimeout: (conn.perDialTimeout ?? 15) * 1000,
    });
  });
}

/** Dials like the provider: up to dialErrorLimit attempts, each bounded by perDialTimeout. */
async function dial(conn: SshConnection): Promise<Client> {
  const attempts = Math.max(1, conn.dialErrorLimit ?? 10);
  let last: Error | undefined;
  for (let i = 0; i < attempts; i++) {
    try {
      return await connect(conn);
    } catch (err) {
      last = err as Error;
      // A refused host key or a refused login does not get better by retrying.
      if (/verification|authentication/i.test(last.message)) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  throw new Error(`ssh ${conn.user ?? "root"}@${conn.host}:${conn.port ?? 22}: ${last?.message}`);
}

export async function sshExec(
  conn: SshConnection,
  command: string,
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const client = await dial(conn);
  opts.onClient?.(client);
  try {
    return await new Promise<ExecResult>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      const timer = setTimeout(() => {
        client.end();
        reject(new Error(`timed out after ${opts.timeoutMs} ms`));
      }, opts.timeoutMs ?? 600_000);
      client.once("close", () => {
        clearTimeout(timer);
        resolve({ code: null, signal: "connection closed", stdout, stderr });
      });
      client.exec(command, (err, channel) => {
        if (err) {
          clearTimeout(timer);
          reject(err);
          return;
        }
        let code: number | null = null;
        let signal: string | undefined;
        channel.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
        channel.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
        channel.on("exit", (c: number | null, s?: string) => {
          code = c;
          signal = s;
        });
        channel.on("close", () => {
          clearTimeout(timer);
          resolve({ code, signal, stdout, stderr });
        });
        channel.end(opts.stdin ?? "");
      });
    });
  } finally {
    client.end();
  }
}

/**
 * Copies a local file to the host over SFTP as CopyToRemote does (pulumi-command
 * remote/copyController.go sftpCopy, copyFile): to remotePath, or into it when it is an existing
 * directory; an existing file is overwritten. Resolves with the path written.
 */
export async function sftpPut(
  conn: SshConnection,
  localPath: string,
  remotePath: string,
  opts: Pick<ExecOptions, "onClient" | "timeoutMs"> = {},
): Promise<string> {
  const client = await dial(conn);
  opts.onClient?.(client);
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.end();
        reject(new Error(`copy timed out after ${opts.timeoutMs} ms`));
      }, opts.timeoutMs ?? 600_000);
      const done = (err: Error | null | undefined, dest?: string) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(dest!);
      };
      client.once("close", () => done(new Error("connection closed")));
      client.sftp((err, sftp) => {
        if (err) return done(err);
        sftp.stat(remotePath, (statErr, stats) => {
          const dest =
            !statErr && stats.isDirectory()
              ? path.posix.join(remotePath, path.basename(localPath))
              : remotePath;
          sftp.fastPut(localPath, dest, (putErr) => done(putErr, dest));
        });
      });
    });
  } finally {
    client.end();
  }
}
