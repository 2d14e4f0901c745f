/**
 * The lab mirror: a file server for the stand-in installer and the stand-in k3s, over HTTP and
 * HTTPS, reachable only inside the lab. Logs every request (method, path, status) as JSON lines.
 * Self-contained (node builtins only); run as
 * `node mirror-server.js <root> <port> <log> <tls port> <cert> <key>`.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";

const [root, port, logFile, tlsPort, cert, key] = process.argv.slice(2);

const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
  let status = 404;
  try {
    const urlPath = decodeURIComponent(new URL(req.url ?? "/", "http://mirror").pathname);
    const file = path.resolve(root, `.${urlPath}`);
    if (
      req.method === "GET" &&
      file.startsWith(`${path.resolve(root)}/`) &&
      fs.statSync(file).isFile()
    ) {
      status = 200;
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(fs.readFileSync(file));
    }
  } catch {
    // not found
  }
  if (status !== 200) {
    res.writeHead(status);
    res.end();
  }
  const entry = {
    at: new Date().toISOString(),
    from: req.socket.remoteAddress,
    path: req.url,
    status,
  };
  fs.appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
};
http.createServer(serve).listen(Number(port), "0.0.0.0");
https
  .createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, serve)
  .listen(Number(tlsPort), "0.0.0.0");
