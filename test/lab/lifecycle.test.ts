import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LAB_DIR, PREFIX } from "../../lab/constants";
import { Lab, teardownLab } from "../../lab/lab";
import { run } from "../../lab/sh";
import { labNamespaces } from "../../lab/topology";

const REPO = path.join(__dirname, "..", "..");

/** Processes running the lab's stand-in script (read from /proc: procps is not always there). */
function standInPids(): string[] {
  const script = `${LAB_DIR}/bin/standIn.js`;
  return fs.readdirSync("/proc").filter((pid) => {
    try {
      return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(script);
    } catch {
      return false;
    }
  });
}

describe("lab lifecycle", function () {
  this.timeout(120_000);

  after(() => teardownLab());

  it("refuses to run without root, saying why, with a non-zero exit", async () => {
    const res = spawnSync(
      "runuser",
      [
        "-u",
        "nobody",
        "--",
        process.execPath,
        "-r",
        "ts-node/register/transpile-only",
        "lab/cli.ts",
        "up",
      ],
      { cwd: REPO, encoding: "utf8", timeout: 60_000 },
    );
    expect(res.status).to.equal(1);
    expect(res.stderr).to.match(/needs root/);
    expect(await labNamespaces()).to.deep.equal([]);
  });

  it("clears a crashed run's leftovers on the way up and leaves nothing after down", async () => {
    await run("ip", ["netns", "add", `${PREFIX}stray`]);
    fs.mkdirSync(LAB_DIR, { recursive: true });
    fs.writeFileSync(path.join(LAB_DIR, "stale"), "from a crashed run");

    const lab = new Lab();
    await lab.up();
    expect(await labNamespaces()).to.not.include(`${PREFIX}stray`);
    expect(fs.existsSync(path.join(LAB_DIR, "stale"))).to.equal(false);
    const ping = await run("ip", [
      "netns",
      "exec",
      `${PREFIX}client`,
      "curl",
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      lab.cert.cert,
      "https://10.10.10.50:6443/ping",
    ]);
    expect(ping).to.equal("pong");
    expect(standInPids()).to.have.length(3);

    await lab.down();
    expect(await labNamespaces()).to.deep.equal([]);
    expect(standInPids()).to.deep.equal([]);
    expect(fs.existsSync(LAB_DIR)).to.equal(false);
  });
});
