/**
 * The token rotation script against a local HTTPS stand-in for the K3s supervisor: the request it
 * sends is the one `k3s token rotate` sends (PUT /v1-k3s/token, basic auth as `server` with the
 * current password, JSON {"newToken": ...}, the server CA verified), and neither token appears in
 * any process's command line or environment while it runs.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import { AddressInfo } from "net";
import * as path from "path";
import { tokenRotationScript } from "../../components/k3s/tokenRotation";
import { shellcheck } from "../../harness/program/scripts";
import { FakeHost } from "./fakeHost";

const OLD_PASSWORD = "old-pass-7f3a91c2";
const NEW_TOKEN = 'new-"quoted"\\token-44b1';

interface Seen {
  method?: string;
  url?: string;
  authorization?: string;
  body?: string;
  /** Processes whose command line or environment held a token while the request was open. */
  leaks: string[];
}

/** Every process's command line and environment that holds one of `needles`. */
function processesHolding(needles: string[]): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    for (const part of ["cmdline", "environ"]) {
      let text: string;
      try {
        text = fs.readFileSync(`/proc/${pid}/${part}`, "latin1");
      } catch {
        continue; // gone already, or not readable
      }
      if (needles.some((n) => text.includes(n))) found.push(`${pid} ${part}`);
    }
  }
  return found;
}

describe("rotating the server token", function () {
  this.timeout(60_000);
  let dir: string;
  let server: https.Server;
  let seen: Seen;
  let status: number;
  let host: FakeHost;
  const needles = [OLD_PASSWORD, 'new-"quoted"', "token-44b1"];

  before(async () => {
    dir = fs.mkdtempSync("/tmp/k3sha-rotate-");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=k3s-supervisor",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "server-ca.crt"),
      ],
      { stdio: "ignore" },
    );
    server = https.createServer(
      {
        key: fs.readFileSync(path.join(dir, "key.pem")),
        cert: fs.readFileSync(path.join(dir, "server-ca.crt")),
      },
      (req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
          // curl is waiting for this answer: its arguments and environment are in /proc now.
          seen = {
            method: req.method,
            url: req.url,
            authorization: req.headers.authorization,
            body,
            leaks: processesHolding(needles),
          };
          res.writeHead(status);
          res.end();
        });
      },
    );
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen = { leaks: [] };
    status = 200;
    host = new FakeHost({ version: "v1.28.5+k3s1", running: ["k3s"] });
    fs.writeFileSync(path.join(dir, "token"), `K10cafe0123::server:${OLD_PASSWORD}\n`);
  });
  afterEach(() => host.remove());

  const rotation = () =>
    tokenRotationScript({
      serverTokenPath: path.join(dir, "token"),
      serverCaPath: path.join(dir, "server-ca.crt"),
      supervisor: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    });

  /** Runs the script while polling /proc for the tokens; returns the result and what leaked. */
  async function runWatched(stdin: string) {
    const leaks = new Set<string>();
    const poll = setInterval(() => processesHolding(needles).forEach((l) => leaks.add(l)), 2);
    try {
      const r = await host.run(rotation(), { stdin });
      return { ...r, polled: [...leaks] };
    } finally {
      clearInterval(poll);
    }
  }

  it("sends what `k3s token rotate` sends, verified against the server CA", async () => {
    const r = await runWatched(`${NEW_TOKEN}\n`);
    expect(r.status, r.stderr).to.equal(0);
    expect(seen.method).to.equal("PUT");
    expect(seen.url).to.equal("/v1-k3s/token");
    expect(seen.authorization).to.equal(
      `Basic ${Buffer.from(`server:${OLD_PASSWORD}`).toString("base64")}`,
    );
    expect(JSON.parse(seen.body!)).to.deep.equal({ newToken: NEW_TOKEN });
    expect(r.stderr).to.contain("server token rotated");
  });

  it("keeps both tokens out of every command line, environment and log", async () => {
    const r = await runWatched(`${NEW_TOKEN}\n`);
    expect(r.status, r.stderr).to.equal(0);
    expect(seen.leaks, "while curl waited").to.deep.equal([]);
    expect(r.polled, "polled during the run").to.deep.equal([]);
    for (const needle of needles) expect(`${r.stdout}${r.stderr}`).to.not.contain(needle);
  });

  it("accepts a full K10 token and sends only its password", async () => {
    const r = await host.run(rotation(), { stdin: `K10feed::server:${NEW_TOKEN}\n` });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(seen.body!)).to.deep.equal({ newToken: NEW_TOKEN });
  });

  it("does nothing when the cluster already uses the token or K3s is not running yet", async () => {
    const same = await host.run(rotation(), { stdin: `${OLD_PASSWORD}\n` });
    expect(same.status).to.equal(0);
    expect(same.stderr).to.contain("already uses the configured server token");
    host.remove();
    host = new FakeHost({});
    const fresh = await host.run(rotation(), { stdin: `${NEW_TOKEN}\n` });
    expect(fresh.status).to.equal(0);
    expect(fresh.stderr).to.contain("nothing to rotate");
    expect(seen.method).to.equal(undefined);
  });

  it("stops with a clear error on a K3s without token rotation, or when the server refuses", async () => {
    host.set({ noTokenRotate: true });
    const old = await host.run(rotation(), { stdin: `${NEW_TOKEN}\n` });
    expect(old.status).to.equal(1);
    expect(old.stderr).to.contain(
      "cannot rotate the cluster's token: k3s token rotate came with v1.25.15+k3s1, v1.26.10+k3s1, v1.27.7+k3s1, v1.28.3+k3s1 and every later minor release",
    );
    expect(old.stderr).to.contain("Nothing was changed on any host");
    expect(seen.method).to.equal(undefined);
    host.set({ noTokenRotate: false });
    status = 500;
    const refused = await host.run(rotation(), { stdin: `${NEW_TOKEN}\n` });
    expect(refused.status).to.equal(1);
    expect(refused.stderr).to.contain("the cluster keeps its current token");
  });

  it("rejects an empty token or one with control characters", async () => {
    for (const bad of ["\n", "a\tb\n"]) {
      const r = await host.run(rotation(), { stdin: bad });
      expect(r.status, JSON.stringify(bad)).to.equal(1);
    }
    expect(seen.method).to.equal(undefined);
  });

  it("passes shellcheck", () => {
    expect(shellcheck(tokenRotationScript()).output).to.equal("");
  });
});
