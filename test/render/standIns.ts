/** Stand-ins for the K3s supervisor that render tests run behind the real load balancers. */
import { expect } from "chai";
import { ChildProcess } from "child_process";
import { run } from "./checkers";
import { ProcessGroup } from "./processes";

// TLS on <host>:6443, answering GET /ping with <body> like K3s's supervisor answers pong.
const PING_SERVER = `
const [host, body, cert, key] = process.argv.slice(1);
const fs = require("fs");
require("https")
  .createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(req.url === "/ping" ? body : "not found");
  })
  .listen(6443, host, () => console.log("ready"));
`;

/** Writes a throwaway self-signed cert.pem/key.pem pair into `dir`. */
export async function makeSelfSignedCert(dir: string): Promise<void> {
  const result = await run([
    ...(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 " +
      "-subj /CN=k3s-stand-in"
    ).split(" "),
    ...["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
  ]);
  expect(result.code, result.output).to.equal(0);
}

/** Starts a ping stand-in on `host`:6443 in `netns`, using the cert in `certDir`. */
export function startPingServer(
  processes: ProcessGroup,
  netns: string,
  certDir: string,
  host: string,
  body = "pong",
): Promise<ChildProcess> {
  return processes.start(
    netns,
    [process.execPath, "-e", PING_SERVER, host, body, `${certDir}/cert.pem`, `${certDir}/key.pem`],
    /ready/,
  );
}
