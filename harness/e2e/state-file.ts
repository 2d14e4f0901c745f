/**
 * The e2e stacks' state files: one per stack under the lab dir, kept between runs (the lab removes
 * them with everything else), written after every step like the snapshot manager's checkpoints.
 * Secrets are kept in clear text (the model does not encrypt): files are 0600 under a 0700 dir.
 */
import * as fs from "fs";
import * as path from "path";
import { StackState, loadState, saveState } from "../engine/state";
import { E2E_DIR } from "./constants";

export const STATE_DIR = path.join(E2E_DIR, "state");
let stateDir = STATE_DIR;

/** Where the state files go from now on (the `pulumi` stand-in: its backend's directory). */
export function useStateDir(dir: string): void {
  stateDir = dir;
}

export function stateFile(stack: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(stack)) throw new Error(`bad stack name ${JSON.stringify(stack)}`);
  return path.join(stateDir, `${stack}.json`);
}

export function readStack(stack: string): StackState {
  return loadState(stateFile(stack), stack);
}

export function writeStack(state: StackState): void {
  saveState(stateFile(state.stack), state);
}

/** Forgets a stack (`pulumi stack rm --force`): its state file goes, nothing on the hosts changes. */
export function removeStack(stack: string): void {
  fs.rmSync(stateFile(stack), { force: true });
}
