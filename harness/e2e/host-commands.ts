/**
 * The command provider's resources run over real SSH: the e2e stand-in for pulumi-command
 * v1.2.1's plugin (`provider/pkg/provider/remote/commandController.go`, `commandOutputs.go`):
 * - Create runs `create`; with no `create` it runs nothing and never dials;
 * - Update runs `update`, else `create`, with the NEW inputs (connection, stdin); with neither
 *   it runs nothing and keeps the old stdout/stderr;
 * - Delete runs the OLD state's `delete` with the OLD connection and the old stdin; no `delete`,
 *   nothing;
 * - stdin is written (when not empty) and closed; stdout/stderr are kept with one trailing
 *   newline trimmed; a non-zero exit fails the step.
 * `command:remote:CopyToRemote` (remote/copyController.go) with a file asset: Create copies the
 * file over SFTP; Update copies again only when the asset's content or remotePath changed; there
 * is no Delete (the copy stays on the host).
 * `command:local:Command` (local/commandController.go): without commands (the program's records)
 * Create, Update and Delete run nothing; with one (the address book) it runs on this machine as
 * the provider runs it (harness/engine/localCommand.ts).
 * The harness refuses `environment` and `addPreviousOutputInEnv` (the program must send
 * secrets and content on stdin), and never puts a secret step's output (`logging: none`) in an
 * error. The real provider's error text is `<ssh error>: running "<command>":\n<stdout+stderr>`
 * (the output even for a secret step); this harness reports `<step> on <host> exited <n>:` and
 * the last lines of stderr instead.
 */
import { Client } from "ssh2";
import { COMMAND_TYPE, COPY_TYPE, LOCAL_COMMAND_TYPE } from "../engine/providers";
import { CreateRequest, DeleteRequest, ProviderOps, UpdateRequest } from "../engine/deployment";
import { runLocalCommand } from "../engine/localCommand";
import { newId } from "../engine/state";
import { PropertyMap, deepEquals } from "../engine/values";
import { reveal } from "../program/mocks";
import { SshConnection, sftpPut, sshExec } from "./ssh";

/** Bound on one step; the program's own waits give up after at most 300 s. */
export const STEP_TIMEOUT_MS = 420_000;

export interface StepRecord {
  name: string;
  urn: string;
  /** The provider call: create (also a replacement's), update, delete. */
  op: "create" | "update" | "delete";
  host: string;
  user: string;
  /** The step handles a secret (`logging: none`). */
  secret: boolean;
  /** ms since the epoch. */
  startedAt: number;
  endedAt: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Set when the step failed; never holds a secret step's output. */
  error?: string;
  /** The test cut this step's SSH connection. */
  interrupted?: boolean;
}

/** Cut one step's SSH connection once `when()` holds while the step runs. */
export interface Interrupt {
  step: string;
  when: () => boolean | Promise<boolean>;
  /**
   * `cut-ssh` (default): only the session drops (a network cut); the provider reports the
   * failure. `kill-cli`: the CLI itself stops at that moment, and with it the provider plugin:
   * every session open then drops, nothing more is recorded, and the operations of the steps in
   * flight stay pending in the state.
   */
  mode?: "cut-ssh" | "kill-cli";
}

export class NotCoveredError extends Error {}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

const trimOneNewline = (s: string) => (s.endsWith("\n") ? s.slice(0, -1) : s);

/** A step's record as it starts. */
function newRecord(
  op: StepRecord["op"],
  name: string,
  urn: string,
  conn: SshConnection,
  secret: boolean,
): StepRecord {
  const base = { name, urn, op, host: conn.host, user: conn.user ?? "root", secret };
  return { ...base, startedAt: Date.now(), endedAt: 0, exitCode: null, stdout: "", stderr: "" };
}

/** What a killed `pulumi up` or a dropped network does to the provider's session. */
function cut(session: { record: StepRecord; client?: Client }): void {
  session.record.interrupted = true;
  (session.client as unknown as { _sock?: { destroy(): void } } | undefined)?._sock?.destroy();
  session.client?.end();
}

export class HostCommands implements ProviderOps {
  /** Every command that ran (creates, updates, deletes), in the order they ended. */
  readonly records: StepRecord[] = [];
  /** The SSH sessions open now (the provider plugin's). */
  private readonly sessions = new Set<{ record: StepRecord; client?: Client }>();
  private killed = false;

  constructor(
    private readonly interrupt?: Interrupt,
    /** Called at the cut of a `kill-cli` interrupt, before the step's failure is seen. */
    private readonly onKill?: () => void,
  ) {}

  /**
   * The CLI is killed: the engine stops first (nothing more is recorded), then the provider
   * plugin dies with it, and every SSH session it holds drops.
   */
  kill(): void {
    this.killed = true;
    this.onKill?.();
    for (const session of this.sessions) cut(session);
  }

  private covered(type: string, name: string, props: PropertyMap): void {
    if (type === COMMAND_TYPE) return;
    if (type === COPY_TYPE) {
      if (typeof (props.source as { path?: unknown } | undefined)?.path === "string") return;
      throw new NotCoveredError(`the e2e executor copies file assets only (${name}): not covered`);
    }
    if (type === LOCAL_COMMAND_TYPE) return;
    throw new NotCoveredError(`the e2e executor does not run ${type} (${name}): not covered`);
  }

  async create(req: CreateRequest): Promise<{ id: string; outputs: PropertyMap }> {
    const props = reveal(req.inputs) as PropertyMap;
    this.covered(req.type, req.name, props);
    const id = newId(req.name);
    if (req.type === COPY_TYPE) {
      await this.copy("create", req.name, req.urn, props);
      return { id, outputs: { ...req.inputs } };
    }
    if (req.type === LOCAL_COMMAND_TYPE && typeof props.create === "string") {
      return { id, outputs: { ...req.inputs, ...runLocalCommand(props.create, props) } };
    }
    if (typeof props.create !== "string") {
      return { id, outputs: { ...req.inputs, stdout: "", stderr: "" } };
    }
    const out = await this.run("create", req.name, req.urn, props, props.create);
    return { id, outputs: { ...req.inputs, ...out } };
  }

  async update(req: UpdateRequest): Promise<{ outputs: PropertyMap }> {
    const props = reveal(req.newInputs) as PropertyMap;
    this.covered(req.type, req.name, props);
    if (req.type === COPY_TYPE) {
      const old = reveal(req.oldOutputs) as PropertyMap;
      if (!deepEquals(old.source, props.source) || old.remotePath !== props.remotePath) {
        await this.copy("update", req.name, req.urn, props);
      }
      return { outputs: { ...req.newInputs } };
    }
    const command =
      typeof props.update === "string"
        ? props.update
        : typeof props.create === "string"
          ? props.create
          : undefined;
    const old = reveal(req.oldOutputs) as PropertyMap;
    if (command === undefined) {
      return { outputs: { ...req.newInputs, stdout: old.stdout ?? "", stderr: old.stderr ?? "" } };
    }
    if (req.type === LOCAL_COMMAND_TYPE) {
      return { outputs: { ...req.newInputs, ...runLocalCommand(command, props, old) } };
    }
    const out = await this.run("update", req.name, req.urn, props, command);
    return { outputs: { ...req.newInputs, ...out } };
  }

  async delete(req: DeleteRequest): Promise<void> {
    const props = reveal(req.outputs) as PropertyMap;
    this.covered(req.type, req.name, props);
    if (req.type === COPY_TYPE || typeof props.delete !== "string") return;
    if (req.type === LOCAL_COMMAND_TYPE) {
      runLocalCommand(props.delete, props, props);
      return;
    }
    await this.run("delete", req.name, req.urn, props, props.delete);
  }

  /** A CopyToRemote's copy, recorded like a command (its stderr says what went where). */
  private async copy(
    op: "create" | "update",
    name: string,
    urn: string,
    props: PropertyMap,
  ): Promise<void> {
    const conn = props.connection as SshConnection;
    const local = (props.source as { path: string }).path;
    const record = newRecord(op, name, urn, conn, false);
    const session = { record, client: undefined as Client | undefined };
    try {
      const dest = await sftpPut(conn, local, String(props.remotePath), {
        timeoutMs: STEP_TIMEOUT_MS,
        // A killed CLI takes the copy's session with it too.
        onClient: (client) => {
          session.client = client;
          if (this.killed) cut(session);
          else this.sessions.add(session);
        },
      });
      record.exitCode = 0;
      record.stderr = `copied ${local} to ${dest}`;
    } catch (err) {
      record.error = `${name} on ${conn.host}: copying ${local}: ${(err as Error).message}`;
      throw new Error(record.error);
    } finally {
      this.sessions.delete(session);
      record.endedAt = Date.now();
      this.records.push(record);
    }
  }

  private async run(
    op: StepRecord["op"],
    name: string,
    urn: string,
    props: PropertyMap,
    command: string,
  ): Promise<{ stdout: string; stderr: string }> {
    const conn = props.connection as SshConnection;
    const secret = props.logging === "none";
    const record = newRecord(op, name, urn, conn, secret);
    const fail = (message: string): never => {
      record.error = message;
      record.endedAt = Date.now();
      this.records.push(record);
      throw new Error(message);
    };
    // The provider sends `environment` over SSH (sshd drops it without AcceptEnv) and, with
    // addPreviousOutputInEnv, the previous stdout too: the program must use neither.
    const env = props.environment as Record<string, unknown> | undefined;
    if ((env && Object.keys(env).length > 0) || props.addPreviousOutputInEnv !== false) {
      fail(`${name}: sets environment or addPreviousOutputInEnv; secrets and content go on stdin`);
    }
    let watcher: NodeJS.Timeout | undefined;
    const interrupt = this.interrupt;
    const session = { record, client: undefined as Client | undefined };
    const onClient = (client: Client) => {
      session.client = client;
      // A session still dialling when the CLI was killed never gets to run anything.
      if (this.killed) return cut(session);
      this.sessions.add(session);
      if (interrupt?.step !== name || op === "delete") return;
      const check = async () => {
        if (record.interrupted || !(await interrupt.when())) return;
        clearInterval(watcher);
        if (interrupt.mode === "kill-cli") this.kill();
        else cut(session);
      };
      watcher = setInterval(() => void check(), 20);
    };
    let result;
    try {
      result = await sshExec(conn, command, {
        stdin: typeof props.stdin === "string" && props.stdin.length > 0 ? props.stdin : undefined,
        onClient,
        timeoutMs: STEP_TIMEOUT_MS,
      });
    } catch (err) {
      return fail(`${name} on ${conn.host}: ${(err as Error).message}`);
    } finally {
      if (watcher) clearInterval(watcher);
      this.sessions.delete(session);
    }
    record.exitCode = result.code;
    record.stdout = result.stdout;
    record.stderr = result.stderr;
    if (result.code !== 0) {
      const how =
        result.code === null
          ? `lost its session (${result.signal ?? "no exit status"})`
          : `exited ${result.code}`;
      const what = op === "create" ? "" : ` ${op}`;
      fail(
        secret
          ? `${name}${what} on ${conn.host} ${how} (output hidden: the step handles a secret)`
          : `${name}${what} on ${conn.host} ${how}:\n${tail(result.stderr)}`,
      );
    }
    record.endedAt = Date.now();
    this.records.push(record);
    return { stdout: trimOneNewline(result.stdout), stderr: trimOneNewline(result.stderr) };
  }
}

/** What the provider answers in a preview: the inputs, stdout/stderr unknown; nothing runs. */
export const PREVIEW_COMMANDS: ProviderOps = {
  create: (req) => {
    if (![COMMAND_TYPE, LOCAL_COMMAND_TYPE, COPY_TYPE].includes(req.type)) {
      return Promise.reject(
        new NotCoveredError(`the e2e executor does not run ${req.type} (${req.name}): not covered`),
      );
    }
    return Promise.resolve({ id: "", outputs: { ...req.inputs } });
  },
  update: (req) => Promise.resolve({ outputs: { ...req.newInputs } }),
  delete: () => Promise.resolve(),
};
