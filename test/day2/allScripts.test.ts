/** Every script a day-2 configuration sends to a host passes shellcheck and parses with sh -n. */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createHash } from "crypto";
import { shQuote } from "../../components/host/script";
import { runProgram } from "../../harness/program/mocks";
import { testStackConfig } from "../../harness/program/stacks";
import { runSh, scriptsOf, shellcheck } from "../../harness/program/scripts";
import { SECRET_KEYS, devStack } from "./runs";

describe("every script of the day-2 configurations", function () {
  this.timeout(180_000);
  const scripts = new Map<string, string>();
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-day2-scripts-"));
    const file = (name: string) => {
      fs.writeFileSync(path.join(dir, name), name);
      return path.join(dir, name);
    };
    const sum = (name: string) => createHash("sha256").update(name).digest("hex");
    const day2 = {
      "k3s-ha:drainBeforeUpgrade": true,
      "k3s-ha:agentBatchSize": 2,
      "k3s-ha:extraTlsSans": ["k8s.example.com"],
      "k3s-ha:extraServerArgs": ["--disable=traefik"],
    };
    const variants = [
      devStack(day2),
      devStack({
        ...day2,
        "k3s-ha:airgap": {
          k3sBinary: file("k3s"),
          installScript: file("install.sh"),
          imagesTarball: file("k3s-airgap-images-amd64.tar.zst"),
          sha256: {
            k3s: sum("k3s"),
            installScript: sum("install.sh"),
            images: sum("k3s-airgap-images-amd64.tar.zst"),
          },
        },
      }),
      { ...testStackConfig("staging"), ...day2 },
    ];
    for (const [i, config] of variants.entries()) {
      const run = await runProgram(config, SECRET_KEYS, `day2-scripts${i}`);
      for (const [key, text] of scriptsOf(run)) scripts.set(`${i}: ${key}`, text);
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("pass shellcheck", () => {
    const names = [...scripts.keys()].join(" ");
    for (const step of [
      "etcd-snapshot",
      "token-rotation",
      "membership",
      "agent-1-drain",
      "airgap-verify",
    ]) {
      expect(names, step).to.contain(step);
    }
    const distinct = new Map<string, string>();
    for (const [key, text] of scripts) if (!distinct.has(text)) distinct.set(text, key);
    const failures = [...distinct]
      .map(([text, key]) => ({ key, ...shellcheck(text) }))
      .filter((r) => r.status !== 0);
    expect(failures.map((f) => `${f.key}\n${f.output}`).join("\n")).to.equal("");
  });

  it("parse with sh -n", () => {
    for (const [key, text] of scripts) {
      expect(runSh(`sh -n -c ${shQuote(text)}`).status, key).to.equal(0);
    }
  });
});
