import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LAB_CGROUP } from "../../harness/lb-lab/cgroups";
import { CONFIG_SETS, ConfigSet } from "../../harness/lb-lab/configs/config-set";
import { LAB_DIR, PREFIX } from "../../harness/lb-lab/constants";
import { Lab, teardownLab } from "../../harness/lb-lab/lab";
import { LbTier } from "../../harness/lb-lab/lb-tier";
import { run } from "../../harness/shared/sh";
import { labNamespaces } from "../../harness/lb-lab/topology";

const REPO = path.join(__dirname, "..", "..");

/**
 * Processes the lab started: anything naming a path inside the lab dir on its command line
 * (stand-ins, load clients, LB host holders) and the LB hosts' pid 1 (whose death takes their
 * daemons with it). Read from /proc: procps is not always installed. Inside, not the bare prefix:
 * `flock /tmp/k3sha-lab.lock npm run test:lab`, which serializes lab runs, is not the lab's.
 */
function labPids(needle = `${LAB_DIR}/`): string[] {
  return fs.readdirSync("/proc").filter((pid) => {
    try {
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid) return false;
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      return cmdline.includes(needle) || comm === "lab-host-init";
    } catch {
      return false;
    }
  });
}

async function expectNothingLeft(): Promise<void> {
  expect(await labNamespaces()).to.deep.equal([]);
  expect(labPids()).to.deep.equal([]);
  expect(fs.existsSync(LAB_DIR)).to.equal(false);
  expect(fs.existsSync(LAB_CGROUP), `${LAB_CGROUP} left`).to.equal(false);
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
        "harness/lb-lab/cli.ts",
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
    fs.mkdirSync(path.join(LAB_CGROUP, "lb-1", "keepalived.service"), { recursive: true });

    const lab = new Lab();
    await lab.up();
    expect(await labNamespaces()).to.not.include(`${PREFIX}stray`);
    expect(fs.existsSync(path.join(LAB_DIR, "stale"))).to.equal(false);
    expect(fs.existsSync(path.join(LAB_CGROUP, "lb-1")), "a crashed run's cgroup").to.equal(false);
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
    expect(labPids(`${LAB_DIR}/bin/standIn.js`)).to.have.length(3);

    await lab.down();
    await expectNothingLeft();
  });

  it("leaves no namespace, daemon or file behind when bringing up the LB tier fails", async () => {
    const lab = new Lab();
    const tier = new LbTier(lab.dir);
    const broken: ConfigSet = {
      ...CONFIG_SETS.ours,
      haproxyCfg: () => CONFIG_SETS.ours.haproxyCfg().replace("balance leastconn", "balance nope"),
    };
    await lab.up();
    try {
      const failure = await tier.startHaproxyPair(broken, "multicast").then(
        () => undefined,
        (err: Error) => err,
      );
      expect(failure?.message).to.match(/haproxy listening on lb-1/);
      expect(labPids().length, "lab processes while up").to.be.greaterThan(3);
      expect(
        fs.existsSync(`${LAB_CGROUP}/lb-1/haproxy.service`),
        "lb-1's HAProxy unit group",
      ).to.equal(true);
    } finally {
      await tier.stop();
      await lab.down();
    }
    await expectNothingLeft();
  });
});
