/**
 * K3s server stand-in: a TLS server on 6443 that answers like the K3s supervisor for what the
 * load-balancer tier touches. It is NOT K3s. Self-contained (node builtins only): the lab
 * transpiles it to plain JS and runs it inside a server netns.
 *   GET /ping    -> "pong" (what K3s's supervisor answers unauthenticated)
 *   GET /cacerts -> the CA PEM
 *   GET /watch   -> one line per second until the client closes, like a long-lived API watch
 */
import * as fs from "fs";
import * as https from "https";

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`missing --${name}`);
  return process.argv[i + 1];
}

const name = arg("name");
const cert = fs.readFileSync(arg("cert"));
const key = fs.readFileSync(arg("key"));
const port = Number(arg("port"));

const server = https.createServer({ cert, key }, (req, res) => {
  if (req.method === "GET" && req.url === "/ping") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("pong");
  } else if (req.method === "GET" && req.url === "/cacerts") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(cert);
  } else if (req.method === "GET" && req.url === "/watch") {
    res.writeHead(200, { "content-type": "text/plain" });
    let seq = 0;
    const tick = () => res.write(`${name} ${seq++}\n`);
    tick();
    const timer = setInterval(tick, 1000);
    res.on("close", () => clearInterval(timer));
  } else {
    res.writeHead(404);
    res.end();
  }
});
server.keepAliveTimeout = 5_000;
server.headersTimeout = 10_000;
server.listen(port, "0.0.0.0", () => process.stdout.write(`ready ${name}\n`));
