import { expect } from "chai";
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
      "host lb-1 (10.10.10.98)\n  - lb-nginx\n      writes /etc/nginx/nginx.conf",
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
