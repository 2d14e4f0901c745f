/**
 * Host scripts as files: every `.sh` under components/ is shellcheck-clean on its own, the shared
 * library parses into units, a script carries only the units it uses, and its parameters are
 * exactly those it declares.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LIBRARY_FILES, libraryUnitsFor, libraryVariable } from "../../components/host/library";
import {
  K3S_HA_STATE_DIR,
  MANAGED_HEADER,
  hostScript,
  withLibrary,
} from "../../components/host/script";
import { REPO_ROOT } from "../../harness/program/stacks";
import { runSh, shellcheck } from "../../harness/program/scripts";

const COMPONENTS = path.join(REPO_ROOT, "components");

function shFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return shFiles(full);
    return e.name.endsWith(".sh") ? [path.relative(COMPONENTS, full)] : [];
  });
}

describe("host scripts as files", function () {
  this.timeout(120_000);
  const files = shFiles(COMPONENTS);

  it("finds every host script beside its feature", () => {
    expect(files.length).to.be.greaterThan(30);
    for (const lib of LIBRARY_FILES) expect(files).to.include(lib);
    expect(files).to.include("k3s/install.sh");
    expect(files).to.include("lb/haproxy-pair/apply-keepalived-conf.sh");
  });

  it("passes shellcheck, each file on its own", () => {
    const failures = files
      .map((f) => ({ f, ...shellcheck(fs.readFileSync(path.join(COMPONENTS, f), "utf8")) }))
      .filter((r) => r.status !== 0)
      .map((r) => `${r.f}\n${r.output}`);
    expect(failures.join("\n")).to.equal("");
  });

  it("every file starts with #!/bin/sh and says what it does", () => {
    for (const f of files) {
      const lines = fs.readFileSync(path.join(COMPONENTS, f), "utf8").split("\n");
      expect(lines[0], f).to.equal("#!/bin/sh");
      expect(lines[1], f).to.match(/^# \S/);
    }
  });

  it("a script carries the library units it uses, and only those", () => {
    const text = withLibrary('log "hello"');
    expect(text).to.equal(`set -eu\nlog() { printf '%s\\n' "$*" >&2; }\nlog "hello"`);
    // Through other units: svc_apply uses svc_enable, svc_running, svc, reload_pending, log...
    const apply = libraryUnitsFor('svc_apply haproxy "$changed"').join("\n");
    for (const name of [
      "svc_enable()",
      "svc_running()",
      "svc()",
      "reload_pending()",
      "SVC_TIMEOUT=",
    ]) {
      expect(apply, name).to.contain(name);
    }
    expect(apply).to.not.contain("ensure_packages()");
    expect(runSh(withLibrary('log "from the library"')).stderr).to.equal("from the library\n");
  });

  it("takes exactly the parameters a file declares, quoted, in one header", () => {
    const text = hostScript("k3s/remove-file.sh", { path: "/etc/it's here" });
    expect(text.split("\n").slice(0, 2)).to.deep.equal([
      "# k3s-ha: k3s/remove-file.sh",
      `path='/etc/it'"'"'s here'`,
    ]);
    expect(() => hostScript("k3s/remove-file.sh", {})).to.throw(
      "k3s/remove-file.sh: path is missing",
    );
    expect(() => hostScript("k3s/remove-file.sh", { path: "/x", extra: 1 })).to.throw(
      "k3s/remove-file.sh: extra is not one of its parameters",
    );
  });

  it("shares its constants with the TypeScript side through the library's variables", () => {
    expect(K3S_HA_STATE_DIR).to.equal("/var/lib/k3s-ha");
    expect(MANAGED_HEADER).to.equal("# Managed by k3s-ha (Pulumi). Local edits are overwritten.");
    expect(libraryVariable("NGINX_CONTAINER")).to.equal("lb-nginx");
    expect(() => libraryVariable("NO_SUCH_THING")).to.throw("no variable NO_SUCH_THING");
  });

  it("shellcheck is installed and finds a flaw (so the pass above means something)", () => {
    expect(execFileSync("shellcheck", ["--version"], { encoding: "utf8" })).to.contain("version");
    expect(shellcheck("#!/bin/sh\nrm -rf $dir/*\n").status).to.not.equal(0);
  });
});
