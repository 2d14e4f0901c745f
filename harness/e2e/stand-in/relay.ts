/**
 * The controller's dialer: runs inside the controller netns (the machine that would run Pulumi,
 * on the lab network) and listens on a unix socket, which the test process outside the netns can
 * reach. Each connection starts with one line "<address> <port>\n"; the relay dials that address
 * from inside the lab and then pipes bytes both ways. Only addresses in the lab subnet are dialled.
 * Self-contained (node builtins only); run as `node relay.js <socket> <subnet-prefix>`.
 */
import * as fs from "fs";
import * as net from "net";

const [socketPath, subnetPrefix] = process.argv.slice(2);
fs.rmSync(socketPath, { force: true });

const server = net.createServer((client) => {
  let header = "";
  const onData = (chunk: Buffer) => {
    header += chunk.toString("latin1");
    const end = header.indexOf("\n");
    if (end < 0) {
      if (header.length > 100) client.destroy();
      return;
    }
    client.off("data", onData);
    client.pause();
    const [host, port] = header.slice(0, end).trim().split(" ");
    const rest = Buffer.from(header.slice(end + 1), "latin1");
    if (!host.startsWith(`${subnetPrefix}.`) || !/^\d+$/.test(port ?? "")) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host, port: Number(port), timeout: 10_000 }, () => {
      upstream.setTimeout(0);
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on("timeout", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
  };
  client.on("data", onData);
});
server.listen(socketPath, () => fs.chmodSync(socketPath, 0o600));
