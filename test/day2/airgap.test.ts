/**
 * Air-gap installs: validation of the `airgap` setting, the local file check index.ts runs, the
 * copy and verification steps per host under mocks, and the staging, verification and install
 * scripts run for real in a private mount namespace.
 */
import { expect } from "chai";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../components/config/errors";
import { RawClusterConfig } from "../../components/config/keys";
import { validateClusterConfig } from "../../components/cluster/validate";
import {
  AIRGAP_STAGING_DIR,
  AIRGAP_VERIFIED_DIR,
  K3S_IMAGES_DIR,
  airgapStagingScript,
  airgapVerifyScript,
} from "../../components/airgap/scripts";
import { installK3sScript } from "../../components/k3s/scripts";
import { shQuote } from "../../components/host/script";
import { dependsOn } from "../../harness/program/graph";
import { ProgramRun, runProgram } from "../../harness/program/mocks";
import { hostOf, step } from "../../harness/program/queries";
import { shellcheck, unwrapCommandLine } from "../../harness/program/scripts";
import { loadStackConfig, withPinnedHostKeys } from "../../harness/program/stacks";
import { FakeHost } from "./fakeHost";
import { SECRET_KEYS, devStack } from "./runs";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const VERSION = "v1.27.3+k3s1";

/** Three small local files standing in for the K3s binary, the install script and the images. */
function airgapFiles(dir: string) {
  const content = {
    k3s: `#!/bin/sh\necho "k3s version ${VERSION} (air-gap fake)"\n`,
    installScript:
      '#!/bin/sh\necho "installer skip=$INSTALL_K3S_SKIP_DOWNLOAD"\ntouch "$FAKE_K3S_STATE/running-k3s-agent"\n',
    images: "not really a tarball\n",
  };
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text, { mode: 0o755 });
    return p;
  };
  return {
    k3sBinary: file("k3s", content.k3s),
    installScript: file("install.sh", content.installScript),
    imagesTarball: file("k3s-airgap-images-amd64.tar.zst", content.images),
    sha256: {
      k3s: sha(content.k3s),
      installScript: sha(content.installScript),
      images: sha(content.images),
    },
  };
}

function problemsOf(raw: RawClusterConfig): string[] {
  try {
    validateClusterConfig(raw);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("validateClusterConfig should have thrown");
}

const devRaw = (extra: Record<string, unknown>): RawClusterConfig => ({
  ...Object.fromEntries(
    Object.entries(withPinnedHostKeys(loadStackConfig("dev"))).map(([k, v]) => [
      k.split(":")[1],
      v,
    ]),
  ),
  ...extra,
});

describe("the airgap setting", function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-airgap-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe("validation", () => {
    const sums = { k3s: "a".repeat(64), installScript: "B".repeat(64), images: "c".repeat(64) };
    const airgap = {
      k3sBinary: "dist/k3s",
      installScript: "dist/install.sh",
      imagesTarball: "dist/k3s-airgap-images-amd64.tar.zst",
      sha256: sums,
    };

    it("accepts the three files and their sums, lower-casing the sums", () => {
      const config = validateClusterConfig(devRaw({ airgap }));
      expect(config.k3s.airgap).to.deep.equal({
        ...airgap,
        sha256: { ...sums, installScript: "b".repeat(64) },
      });
      expect(validateClusterConfig(devRaw({})).k3s).to.not.have.property("airgap");
    });

    it("names every bad field: sums, missing files, the tarball's type, a stray sum", () => {
      const problems = problemsOf(
        devRaw({
          airgap: {
            k3sBinary: "",
            imagesTarball: "dist/images.zip",
            sha256: { k3s: "123", installScript: "a".repeat(64), images: "nothex".repeat(11) },
            extra: 1,
          },
        }),
      );
      expect(problems).to.include.members([
        "airgap.extra: unknown key (allowed: k3sBinary, installScript, imagesTarball, sha256)",
        "airgap.k3sBinary: must not be empty (expected a path to a file on the machine running Pulumi)",
        "airgap.installScript: missing (expected a path to a file on the machine running Pulumi)",
        'airgap.sha256.k3s: expected 64 hexadecimal digits, got "123"',
      ]);
      expect(problems.join("\n")).to.contain("airgap.imagesTarball: K3s imports only .tar");
      expect(problems.join("\n")).to.contain(
        "airgap.sha256.images: expected 64 hexadecimal digits",
      );
      const stray = problemsOf(
        devRaw({ airgap: { k3sBinary: "k", installScript: "i", sha256: sums } }),
      );
      expect(stray).to.deep.equal([
        "airgap.sha256.images: set airgap.imagesTarball too, or remove this sum",
      ]);
    });

    it("warns that the online installer settings are ignored", () => {
      const config = validateClusterConfig(
        devRaw({ airgap, installMirror: "cn", installScriptSha256: "d".repeat(64) }),
      );
      expect(config.warnings).to.include.members([
        "installScriptSha256: ignored with airgap: the install script comes from airgap.installScript",
        "installMirror: ignored with airgap: the install script comes from airgap.installScript",
      ]);
    });
  });

  describe("under mocks", () => {
    let run: ProgramRun;
    before(async () => {
      run = await runProgram(
        devStack({ "k3s-ha:airgap": airgapFiles(dir) }),
        SECRET_KEYS,
        "airgap",
      );
    });

    it("copies each file to every K3s host, verifies it there, and installs only after that", () => {
      for (const [node, address] of [
        ["server-1", "10.10.10.50"],
        ["agent-2", "10.10.10.102"],
      ]) {
        const copies = run.resources.filter(
          (r) => r.type === "command:remote:CopyToRemote" && r.name.startsWith(`${node}-airgap-`),
        );
        expect(copies.map((c) => c.name).sort()).to.deep.equal([
          `${node}-airgap-images`,
          `${node}-airgap-installer`,
          `${node}-airgap-k3s`,
        ]);
        const verify = step(run, `${node}-airgap-verify`);
        for (const c of copies) {
          expect(String(c.inputs.remotePath)).to.match(new RegExp(`^${AIRGAP_STAGING_DIR}/`));
          expect(JSON.stringify(c.inputs.source)).to.contain(dir);
          expect(hostOf(c)).to.equal(address);
          // CopyToRemote is not a command, so its edges are read off the recorded resources.
          expect(c.dependencies, c.name).to.include(step(run, `${node}-airgap-staging`).urn);
          expect(verify.dependencies, c.name).to.include(c.urn);
        }
        expect(hostOf(step(run, `${node}-airgap-verify`))).to.equal(address);
        expect(dependsOn(run, `${node}-install`, `${node}-airgap-verify`)).to.equal(true);
        const install = unwrapCommandLine(step(run, `${node}-install`).inputs.create as string);
        // install.sh takes its air-gap branch: the verified files, no download, no installer URL.
        expect(install).to.contain(
          "\nairgap='true'\nimages_file='k3s-airgap-images-amd64.tar.zst'\n",
        );
        expect(install).to.contain("\ninstall_script_url=''\n");
        expect(install).to.not.contain("get.k3s.io");
      }
      expect(run.resources.filter((r) => r.name.startsWith("lb-") && r.name.includes("airgap"))).to
        .be.empty;
    });

    it("puts the configured sums into the verification script", () => {
      const verify = unwrapCommandLine(step(run, "agent-1-airgap-verify").inputs.create as string);
      for (const sum of Object.values(airgapFiles(dir).sha256)) expect(verify).to.contain(sum);
      expect(shellcheck(verify).output).to.equal("");
      expect(shellcheck(airgapStagingScript()).output).to.equal("");
    });

    it("refuses, before any host is touched, a local file that is missing or differs from its sum", async () => {
      const files = airgapFiles(dir);
      let error: Error | undefined;
      try {
        await runProgram(
          devStack({
            "k3s-ha:airgap": {
              ...files,
              k3sBinary: path.join(dir, "no-such-file"),
              sha256: { ...files.sha256, installScript: "0".repeat(64) },
            },
          }),
          SECRET_KEYS,
          "airgap-bad",
        );
      } catch (err) {
        error = err as Error;
      }
      expect(error?.name).to.equal("ConfigError");
      expect(error?.message).to.contain(
        `airgap.k3sBinary: cannot read ${dir}/no-such-file (ENOENT)`,
      );
      expect(error?.message).to.contain(
        `airgap.installScript: ${dir}/install.sh has sha256 ${files.sha256.installScript}, but airgap.sha256.installScript is ${"0".repeat(64)}`,
      );
    });
  });

  describe("on a host (private mount namespace)", () => {
    const hosts: FakeHost[] = [];
    afterEach(() => hosts.splice(0).forEach((h) => h.remove()));
    const files = () => airgapFiles(dir);
    /** Shell that stages the local files as the copy steps would. */
    const stage = () => {
      const f = files();
      return [
        `mkdir -p ${AIRGAP_STAGING_DIR}`,
        `cp ${f.k3sBinary} ${AIRGAP_STAGING_DIR}/k3s`,
        `cp ${f.installScript} ${AIRGAP_STAGING_DIR}/install.sh`,
      ].join("\n");
    };
    const verify = (k3sSum: string) =>
      airgapVerifyScript([
        { name: "k3s", sha256: k3sSum, sumKey: "airgap.sha256.k3s" },
        {
          name: "install.sh",
          sha256: files().sha256.installScript,
          sumKey: "airgap.sha256.installScript",
        },
      ]);

    it("gives the staging dir to the SSH user alone, under a root-owned parent", async () => {
      const host = new FakeHost({});
      hosts.push(host);
      const r = await host.run(
        `${airgapStagingScript()}\nstat -c '%U %a' ${AIRGAP_STAGING_DIR} /var/lib/k3s-ha`,
        { isolated: true, env: { SUDO_USER: "root" } },
      );
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout.trim().split("\n")).to.deep.equal(["root 700", "root 755"]);
    });

    it("keeps a staged file only when its sha256 matches the config", async () => {
      const host = new FakeHost({});
      hosts.push(host);
      const good = await host.run(`${verify(files().sha256.k3s)}\nls ${AIRGAP_VERIFIED_DIR}`, {
        isolated: true,
        setup: stage(),
      });
      expect(good.status, good.stderr).to.equal(0);
      expect(good.stdout.trim().split("\n")).to.deep.equal(["install.sh", "k3s"]);

      const bad = await host.run(`${verify("f".repeat(64))}`, { isolated: true, setup: stage() });
      expect(bad.status).to.equal(1);
      expect(bad.stderr).to.contain(`airgap.sha256.k3s says ${"f".repeat(64)}; refusing to use it`);
    });

    it("installs the verified binary with the verified installer and no download", async () => {
      const host = new FakeHost({});
      hosts.push(host);
      const install = installK3sScript(
        "agent",
        {
          version: VERSION,
          installScriptUrl: "https://get.k3s.io",
          extraServerArgs: [],
          extraAgentArgs: [],
          extraTlsSans: [],
        },
        [],
        { nodeName: "agent-1", airgap: {} },
      );
      const r = await host.run(
        `sh -c ${shQuote(verify(files().sha256.k3s))}\nsh -c ${shQuote(install)}\n/usr/local/bin/k3s --version`,
        { isolated: true, setup: stage() },
      );
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.contain("installer skip=true");
      expect(r.stdout).to.contain(`k3s version ${VERSION} (air-gap fake)`);
      expect(shellcheck(install).output).to.equal("");
    });

    /** Stages and verifies a fake release of `version` whose images tarball is `images`. */
    const release = (version: string, images: string) => {
      const k3s = `#!/bin/sh\necho "k3s version ${version} (air-gap fake)"\n`;
      const installer = "#!/bin/sh\necho installer-ran >&2\n";
      const digest = (text: string) => createHash("sha256").update(text).digest("hex");
      const files = [
        { name: "k3s", text: k3s },
        { name: "install.sh", text: installer },
        { name: images, text: `images of ${version}\n` },
      ];
      const stageIt = files
        .map(
          (f) =>
            `mkdir -p ${AIRGAP_STAGING_DIR}; printf '%s' ${shQuote(f.text)} >${AIRGAP_STAGING_DIR}/${f.name}`,
        )
        .join("\n");
      const verifyIt = airgapVerifyScript(
        files.map((f) => ({ name: f.name, sha256: digest(f.text), sumKey: `sum of ${f.name}` })),
      );
      const install = installK3sScript(
        "agent",
        {
          version,
          installScriptUrl: "https://get.k3s.io",
          extraServerArgs: [],
          extraAgentArgs: [],
          extraTlsSans: [],
        },
        [],
        { nodeName: "agent-1", airgap: { imagesFile: images } },
      );
      return `${stageIt}\nsh -c ${shQuote(verifyIt)}\nsh -c ${shQuote(install)}`;
    };

    it("restarts K3s on an air-gap upgrade, though the installer finds the binary already in place", async () => {
      const host = new FakeHost({});
      hosts.push(host);
      const r = await host.run(
        `${release(VERSION, "k3s-airgap-images-amd64.tar.zst")}
${release("v1.27.7+k3s1", "k3s-airgap-images-amd64.tar.zst")}
/usr/local/bin/k3s --version`,
        { isolated: true },
      );
      expect(r.status, r.stderr).to.equal(0);
      expect(host.calls().filter((c) => c === "service k3s-agent restart")).to.have.length(2);
      expect(r.stdout).to.contain("k3s version v1.27.7+k3s1");
    });

    it("removes the images tarball it put in place for the earlier release when the name changes", async () => {
      const host = new FakeHost({});
      hosts.push(host);
      const r = await host.run(
        `${release(VERSION, "k3s-airgap-images-amd64.tar.gz")}
${release("v1.27.7+k3s1", "k3s-airgap-images-amd64.tar.zst")}
ls ${K3S_IMAGES_DIR}`,
        { isolated: true },
      );
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout.trim().split("\n")).to.deep.equal(["k3s-airgap-images-amd64.tar.zst"]);
      expect(r.stderr).to.contain(
        "removed the earlier images tarball k3s-airgap-images-amd64.tar.gz",
      );
    });

    it("stops before anything changes on an air-gapped host that lacks curl, naming it", async () => {
      const host = new FakeHost({});
      hosts.push(host);
      // A PATH with every tool the scripts use but curl.
      const bin = path.join(host.dir, "nocurl");
      const tools = [
        "sh",
        "cat",
        "mkdir",
        "install",
        "sha256sum",
        "awk",
        "sed",
        "timeout",
        "base64",
        "rm",
        "ls",
        "stat",
      ];
      const link = tools.map((t) => `ln -s "$(command -v ${t})" ${bin}/${t}`).join("; ");
      const r = await host.run(
        `mkdir -p ${bin}; ${link}
PATH=${bin} sh -c ${shQuote(airgapStagingScript())}; echo "exit $?"
ls -A /var/lib`,
        { isolated: true },
      );
      expect(r.stdout).to.contain("exit 1");
      expect(r.stderr).to.contain("this air-gapped host lacks: curl.");
      expect(r.stdout).to.not.contain("k3s-ha");
    });
  });
});
