/**
 * The lab mirror: a plain HTTP file server for the stand-in installer and the stand-in k3s,
 * reachable only inside the lab. Logs every request (method, path, status) as JSON lines.
 * Self-contained (node builtins only); run as `node mirror-server.js <root> <port> <log>`.
 */
import * as fs from "fs";
import * as http from "http";
import * as path from "path";

const [root, port, logFile] = process.argv.slice(2);

const server = http.createServer((req, res) => {
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
});
server.listen(Number(port), "0.0.0.0");
