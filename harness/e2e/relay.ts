/** Dialling lab hosts from the controller netns: the relay process and the sockets it hands out. */
import * as net from "net";
import * as path from "path";
import * as fs from "fs";
import * as ts from "typescript";
import { ChildProcess } from "child_process";
import { CONTROLLER_NS, E2E_DIR, SUBNET } from "./constants";
import { startLogged } from "../shared/processes";
import { waitFor } from "../shared/sh";

export const RELAY_SOCKET = path.join(E2E_DIR, "controller.sock");

export async function startRelay(): Promise<ChildProcess> {
  const js = ts.transpileModule(
    fs.readFileSync(path.join(__dirname, "stand-in", "relay.ts"), "utf8"),
    {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    },
  ).outputText;
  const file = path.join(E2E_DIR, "relay.js");
  fs.writeFileSync(file, js);
  const child = startLogged(
    "ip",
    ["netns", "exec", CONTROLLER_NS, process.execPath, file, RELAY_SOCKET, SUBNET],
    path.join(E2E_DIR, "relay.log"),
  );
  await waitFor("the controller relay", () => fs.existsSync(RELAY_SOCKET), 10_000, 20);
  return child;
}

/** A stream to host:port, dialled from inside the lab. */
export function dialFromController(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(RELAY_SOCKET, () => {
      sock.off("error", reject);
      sock.write(`${host} ${port}\n`);
      resolve(sock);
    });
    sock.once("error", reject);
  });
}
