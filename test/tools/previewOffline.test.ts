import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify, parse } from "yaml";
import { renderOfflinePreview } from "../../tools/preview-offline";
import { renderPlanAgainst } from "../../tools/preview-against";
import { REPO_ROOT } from "../../harness/program/stacks";

describe("preview:offline", function () {
  this.timeout(120_000);

  it("shows, for the dev stack, every host's steps and the files they write", async () => {
    const text = await renderOfflinePreview("dev");
    // The example pins no host key: previewed all the same, with a note naming them.
    expect(text.split("\n")[0]).to.equal(
      "note: 8 host(s) pin no hostKey (server-1, server-2, server-3, agent-1, agent-2, agent-3, lb-1, lb-2); previewed offline, but pulumi up refuses them until pinned: npm run hostkeys -- --stack dev",
    );
    expect(text).to.match(/\nstack dev: API endpoint https:\/\/10\.10\.10\.100:6443/);
    for (const host of ["server-1 (10.10.10.50)", "lb-2 (10.10.10.99)", "agent-3 (10.10.10.103)"]) {
      expect(text).to.contain(`host ${host}`);
    }
    expect(text).to.contain("writes /etc/haproxy/haproxy.cfg (mode 0644):");
    expect(text).to.contain("| backend k3s-servers");
    expect(text).to.contain("writes /etc/keepalived/keepalived.conf (mode 0644):");
    expect(text).to.match(/- agent-1-install\n\s+after: registration-gate/);
  });

  it("shows the Nginx host for the staging stack", async () => {
    const text = await renderOfflinePreview("staging");
    expect(text).to.contain("load balancer nginx");
    expect(text).to.contain(
      "host lb-1 (10.10.10.98)\n  - lb-nginx\n      after: server-removal-check\n      writes /etc/nginx/nginx.conf",
    );
  });

  it("masks encrypted config values and never reads the deploy key", async () => {
    const stack = `offlinetest${process.pid}`;
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    const dev = parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    dev.config["k3s-ha:token"] = { secure: "v1:c2VjcmV0LXRva2VuLWNpcGhlcnRleHQ=" };
    dev.config["k3s-ha:sshPrivateKeyPath"] = "/nonexistent/deploy-key";
    fs.writeFileSync(file, stringify(dev));
    try {
      const text = await renderOfflinePreview(stack);
      expect(text).to.not.contain("c2VjcmV0LXRva2VuLWNpcGhlcnRleHQ");
      expect(text).to.match(
        /- server-1-token\n\s+writes \/etc\/rancher\/k3s\/cluster-token \(mode 0600\):\n\s+\[secret\]/,
      );
    } finally {
      fs.rmSync(file);
    }
  });

  describe("what it says of the stack (issue 17)", () => {
    const stack = `issuetest${process.pid}`;
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    const devText = () => fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8");
    afterEach(() => fs.rmSync(file, { force: true }));

    /** The preview's CLI as `npm run preview:offline` runs it. */
    function cli(name: string): { status: number | null; stdout: string; stderr: string } {
      const r = spawnSync(
        process.execPath,
        ["-r", "./harness/register.cjs", "tools/preview-offline.ts", "--stack", name],
        { cwd: REPO_ROOT, encoding: "utf8" },
      );
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    it("says server-1 generates the agent token when the stack sets none, never showing a content", async () => {
      const text = await renderOfflinePreview("dev");
      expect(text).to.contain(
        "  - server-1-agent-token\n" +
          "      generates /etc/rancher/k3s/agent-token (mode 0600) on the host when it has none: a random agent token (the stack sets no agentToken), kept on later runs, never shown\n" +
          "      on delete: undoes the step\n" +
          "      handles a secret: output hidden, nothing logged\n",
      );
      expect(text).to.not.contain("undefined");
    });

    it("warns about sshTrustAnyHostKey only when the stack sets it itself", async () => {
      const warned: unknown[] = [];
      const original = console.warn;
      console.warn = (...args: unknown[]) => warned.push(args);
      let text: string;
      try {
        text = await renderOfflinePreview("dev");
      } finally {
        console.warn = original;
      }
      expect(text).to.not.contain("sshTrustAnyHostKey");
      expect(warned).to.deep.equal([]);
      fs.writeFileSync(
        file,
        devText().replace("config:\n", "config:\n  k3s-ha:sshTrustAnyHostKey: true\n"),
      );
      const set = await renderOfflinePreview(stack);
      expect(set.split("\n")[0]).to.equal(
        "warning: sshTrustAnyHostKey: SSH accepts any host key for 8 host(s) (server-1, server-2, server-3, agent-1, agent-2, agent-3, lb-1, lb-2): a machine in the middle would receive the cluster token",
      );
    });

    it("reads a key without the k3s-ha: prefix as the project's, as pulumi does", async () => {
      fs.writeFileSync(file, devText().replace("k3s-ha:sshUser: root", 'sshUser: "deploy user"'));
      const error = await renderOfflinePreview(stack).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).to.equal(
        'invalid stack configuration:\n  - sshUser: "deploy user" is not a valid user name: contains a space (only letters, digits, "_", "." and "-")',
      );
    });

    it("exits 1 with one line naming a missing stack file, no stack trace", () => {
      const r = cli("nosuchstack");
      expect(r.status).to.equal(1);
      expect(r.stdout).to.equal("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(
        /^Pulumi\.nosuchstack\.yaml: no such stack file; stacks here: (.+, )?dev, (.+, )?staging(, .+)? \(create one by copying Pulumi\.dev\.yaml\)$/,
      );
    });

    it("exits 1 with the file, line and column of a YAML error", () => {
      fs.writeFileSync(file, "config:\n  k3s-ha:sshUser: root\n  k3s-ha:sshUser: ubuntu\n");
      const r = cli(stack);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.equal(
        `Pulumi.${stack}.yaml:3:3: not valid YAML: Map keys must be unique\n`,
      );
    });
  });

  describe("--against: what an edit does to a deployed stack", () => {
    const stack = `againsttest${process.pid}`;
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    const older = path.join(REPO_ROOT, `.against-${process.pid}.yaml`);
    const dev = () =>
      parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")) as {
        config: Record<string, unknown>;
      };
    afterEach(() => {
      for (const f of [file, older]) fs.rmSync(f, { force: true });
    });

    it("shows a k3sVersion upgrade as updates of the version line, per host, nothing replaced", async () => {
      const before = dev();
      before.config["k3s-ha:k3sVersion"] = "v1.26.9+k3s1";
      fs.writeFileSync(older, stringify(before));
      fs.writeFileSync(file, stringify(dev()));
      const text = await renderPlanAgainst(stack, older);
      expect(text).to.match(
        /\nstack againsttest\d+: 13 to update, 0 to replace, 0 to create, 0 to delete/,
      );
      expect(text).to.contain(
        "host server-2 (10.10.10.51)\n    ~ update  server-2-install\n      create:\n" +
          "        - version='v1.26.9+k3s1'\n        + version='v1.27.3+k3s1'",
      );
      expect(text).to.contain(
        "~ update  agent-1-membership\n      create:\n        - version='v1.26.9+k3s1'\n        + version='v1.27.3+k3s1'",
      );
    });

    it("shows a changed secret as an update with its value masked, never as unchanged", async () => {
      const before = dev();
      before.config["k3s-ha:token"] = { secure: "v1:b2xkLXRva2VuLWNpcGhlcnRleHQ=" };
      const after = dev();
      after.config["k3s-ha:token"] = { secure: "v1:bmV3LXRva2VuLWNpcGhlcnRleHQ=" };
      fs.writeFileSync(older, stringify(before));
      fs.writeFileSync(file, stringify(after));
      const text = await renderPlanAgainst(stack, older);
      expect(text).to.contain("~ update  server-1-token\n      stdin: [secret] changed");
      expect(text).to.contain("~ update  server-1-token-rotation\n      stdin: [secret] changed");
      expect(text).to.contain("~ update  server-3-install\n      stdin: [secret] changed");
      expect(text).to.not.match(/b2xk|bmV3|offline-secret/);
      expect(text).to.contain("0 to replace");
    });

    it("takes a git ref: a stack the ref does not have is all creates; HEAD's dev stack replaces nothing", async () => {
      fs.writeFileSync(file, stringify(dev()));
      const created = await renderPlanAgainst(stack, "HEAD");
      expect(created).to.match(
        /: 0 to update, 0 to replace, \d+ to create, 0 to delete, 0 unchanged/,
      );
      const head = await renderPlanAgainst("dev", "HEAD");
      // The working tree may hold program changes HEAD lacks: nothing of it is replaced or deleted.
      expect(head).to.match(
        /: \d+ to update, 0 to replace, \d+ to create, 0 to delete, \d+ unchanged/,
      );
    });
  });
});
