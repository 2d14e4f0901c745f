import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { stringify, parse } from "yaml";
import { renderOfflinePreview } from "../../tools/preview-offline";
import { REPO_ROOT } from "../support/stacks";

describe("preview:offline", function () {
  this.timeout(120_000);

  it("shows, for the dev stack, every host's steps and the files they write", async () => {
    const text = await renderOfflinePreview("dev");
    expect(text).to.match(/^stack dev: API endpoint https:\/\/10\.10\.10\.100:6443/);
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
});
