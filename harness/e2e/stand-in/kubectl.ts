/**
 * The stand-in's `k3s kubectl`: the commands the program's scripts run, against the stand-in
 * server's node API with the admin kubeconfig. Unsupported commands fail loudly.
 *   get --raw=<path> | get node <name> | get nodes [-l k=v] [-o jsonpath=<template> | -o json]
 *   annotate [--overwrite] node <name> k=v|k- | drain <name> | uncordon <name> | delete node <name>
 *   global: --server <url>, KUBECONFIG
 */
import * as fs from "fs";
import { parse } from "yaml";
import { StandInNode } from "./datastore";
import { request } from "./http";
import { jsonpath } from "./jsonpath";

export const KUBECONFIG_PATH = "/etc/rancher/k3s/k3s.yaml";

class UsageError extends Error {}

function option(args: string[], names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    for (const name of names) {
      if (args[i] === name) return args.splice(i, 2)[1];
      if (args[i].startsWith(`${name}=`)) return args.splice(i, 1)[0].slice(name.length + 1);
      if (name === "-o" && args[i].startsWith("-o") && args[i].length > 2)
        return args.splice(i, 1)[0].slice(2);
    }
  }
  return undefined;
}

function flag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
}

export async function kubectl(argv: string[]): Promise<number> {
  const args = [...argv];
  const file = process.env.KUBECONFIG || KUBECONFIG_PATH;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    process.stderr.write(`error: cannot read kubeconfig ${file}\n`);
    return 1;
  }
  const doc = parse(text) as {
    clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
    users: { user: { token: string } }[];
  };
  const server = option(args, ["--server", "-s"]) ?? doc.clusters[0].cluster.server;
  const ca = Buffer.from(
    doc.clusters[0].cluster["certificate-authority-data"],
    "base64",
  ).toString();
  const auth = { authorization: `Bearer ${doc.users[0].user.token}` };
  const call = async (method: string, path: string, body?: unknown) => {
    const reply = await request(`${server}${path}`, {
      method,
      ca,
      headers: auth,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return reply;
  };
  const out = (s: string) => process.stdout.write(s);
  const notFound = (name: string) => {
    process.stderr.write(`Error from server (NotFound): nodes "${name}" not found\n`);
    return 1;
  };

  try {
    const verb = args.shift();
    if (verb === "get") {
      const raw = option(args, ["--raw"]);
      if (raw !== undefined) {
        const reply = await call("GET", raw);
        out(reply.body);
        return reply.status === 200 ? 0 : 1;
      }
      const output = option(args, ["-o", "--output"]);
      const selector = option(args, ["-l", "--selector"]);
      const [kind, name, ...extra] = args;
      if (!/^nodes?$/.test(kind ?? "") || extra.length > 0) throw new UsageError();
      if (output !== undefined && output !== "json" && !output.startsWith("jsonpath=")) {
        throw new UsageError();
      }
      const reply = await call("GET", "/stand-in/nodes");
      if (reply.status !== 200) throw new Error(`node list answered ${reply.status}`);
      let nodes = JSON.parse(reply.body) as StandInNode[];
      if (selector) {
        const [k, v] = selector.split("=");
        nodes = nodes.filter((n) => n.metadata.labels[k] === v);
      }
      let root: unknown = { apiVersion: "v1", kind: "List", items: nodes };
      if (name) {
        const node = nodes.find((n) => n.metadata.name === name);
        if (!node) return notFound(name);
        root = node;
        nodes = [node];
      }
      if (output === "json") out(`${JSON.stringify(root, null, 4)}\n`);
      else if (output) out(jsonpath(output.slice("jsonpath=".length), root));
      else {
        out("NAME STATUS ROLES VERSION\n");
        for (const n of nodes) {
          const ready = n.status.conditions.find((c) => c.type === "Ready")?.status === "True";
          out(
            `${n.metadata.name} ${ready ? "Ready" : "NotReady"}${n.spec.unschedulable ? ",SchedulingDisabled" : ""} <none> ${n.status.nodeInfo.kubeletVersion}\n`,
          );
        }
      }
      return 0;
    }
    if (verb === "annotate") {
      flag(args, "--overwrite");
      const [kind, name, ...changes] = args;
      if (kind !== "node" || !name || changes.length === 0) throw new UsageError();
      const annotations: Record<string, string | null> = {};
      for (const c of changes) {
        if (c.endsWith("-")) annotations[c.slice(0, -1)] = null;
        else annotations[c.slice(0, c.indexOf("="))] = c.slice(c.indexOf("=") + 1);
      }
      const reply = await call("PATCH", `/stand-in/nodes/${encodeURIComponent(name)}`, {
        annotations,
      });
      if (reply.status === 404) return notFound(name);
      out(`node/${name} annotated\n`);
      return reply.status === 200 ? 0 : 1;
    }
    if (verb === "drain" || verb === "uncordon") {
      option(args, ["--timeout"]);
      flag(args, "--ignore-daemonsets");
      flag(args, "--delete-emptydir-data");
      const [name, ...extra] = args;
      if (!name || extra.length > 0) throw new UsageError();
      const unschedulable = verb === "drain";
      const reply = await call("PATCH", `/stand-in/nodes/${encodeURIComponent(name)}`, {
        unschedulable,
      });
      if (reply.status === 404) return notFound(name);
      out(
        unschedulable
          ? `node/${name} cordoned\nnode/${name} drained\n`
          : `node/${name} uncordoned\n`,
      );
      return reply.status === 200 ? 0 : 1;
    }
    if (verb === "delete") {
      option(args, ["--timeout"]);
      const [kind, name, ...extra] = args;
      if (kind !== "node" || !name || extra.length > 0) throw new UsageError();
      const reply = await call("DELETE", `/stand-in/nodes/${encodeURIComponent(name)}`);
      if (reply.status === 404) return notFound(name);
      out(`node "${name}" deleted\n`);
      return reply.status === 200 ? 0 : 1;
    }
    throw new UsageError();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(
        `error: the stand-in's kubectl does not implement: kubectl ${argv.join(" ")}\n`,
      );
      return 2;
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}
