/**
 * The LB daemons' systemd drop-ins: their content checked by systemd-analyze against the
 * distribution's own units, and the install and remove scripts run on a fake host whose
 * /etc/systemd/system, /run and state directory are temp directories (a private mount namespace).
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  SUPERVISION,
  SupervisedService,
  renderSupervisionDropIn,
  supervisionDropInPath,
} from "../../components/lb/supervision";
import {
  installSupervisionScript,
  removeSupervisionScript,
} from "../../components/lb/supervisionScripts";
import { FakeHost } from "../day2/fakeHost";
import { planRun } from "../../harness/engine/plan";
import { dependsOn } from "../../harness/program/graph";
import { mockUp } from "../../harness/program/mockDeploy";
import { RecordedResource, runProgram } from "../../harness/program/mocks";
import { commands, step, stdinOf } from "../../harness/program/queries";
import { shellcheck, unwrapCommandLine } from "../../harness/program/scripts";
import { testStackConfig } from "../../harness/program/stacks";
import { run } from "./checkers";

const LB_PAIR: SupervisedService[] = ["keepalived", "haproxy"];

describe("the supervision drop-in", function () {
  this.timeout(60_000);

  it("restarts a unit that failed or was killed, after 1 s, at most 10 times a minute", () => {
    expect(renderSupervisionDropIn()).to.equal(
      [
        "# Managed by k3s-ha (Pulumi). Local edits are overwritten.",
        "[Unit]",
        "StartLimitIntervalSec=60",
        "StartLimitBurst=10",
        "",
        "[Service]",
        "Restart=on-failure",
        "RestartSec=1",
        "",
      ].join("\n"),
    );
    expect(supervisionDropInPath("keepalived")).to.equal(
      "/etc/systemd/system/keepalived.service.d/k3s-ha-supervise.conf",
    );
  });

  /**
   * `systemd-analyze verify` of the distribution's unit (CI installs the three packages) with the
   * drop-in beside it; at debug level it prints the unit as loaded, drop-ins applied.
   */
  async function verify(service: SupervisedService, dropIn: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3sha-verify-"));
    try {
      const unit = `${service}.service`;
      fs.copyFileSync(`/lib/systemd/system/${unit}`, path.join(dir, unit));
      fs.mkdirSync(path.join(dir, `${unit}.d`));
      fs.writeFileSync(path.join(dir, `${unit}.d`, "k3s-ha-supervise.conf"), dropIn);
      const env = ["env", `SYSTEMD_UNIT_PATH=${dir}:`];
      const plain = await run([...env, "systemd-analyze", "verify", path.join(dir, unit)]);
      const loaded = await run([
        ...env,
        "SYSTEMD_LOG_LEVEL=debug",
        "systemd-analyze",
        "verify",
        path.join(dir, unit),
      ]);
      const field = (name: string) =>
        new RegExp(`^\\s*${name}: (.*)$`, "m").exec(loaded.output)?.[1];
      return {
        plain,
        dropInPath: field("DropIn Path"),
        restart: field("Restart"),
        restartSec: field("RestartSec"),
      };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  for (const service of ["keepalived", "haproxy", "nginx"] as const) {
    it(`loads over Debian's ${service}.service without a warning and sets its Restart=`, async () => {
      const r = await verify(service, renderSupervisionDropIn());
      expect(r.plain.code, r.plain.output).to.equal(0);
      expect(r.plain.output.trim(), "systemd-analyze verify's warnings").to.equal("");
      expect(r.dropInPath).to.match(/\/k3s-ha-supervise\.conf$/);
      expect(r.restart).to.equal(SUPERVISION.restart);
      expect(r.restartSec).to.equal(`${SUPERVISION.restartSec}s`);
    });
  }

  it("(the verification sees a drop-in it cannot use)", async () => {
    const r = await verify(
      "keepalived",
      renderSupervisionDropIn().replace("Restart=", "Restartt="),
    );
    expect(r.plain.output).to.contain("Unknown key 'Restartt' in section [Service]");
    expect(r.restart).to.equal("no");
  });
});

/**
 * A systemctl for the fake host: records its calls; `daemon-reload` loads the units named in
 * $FAKE_K3S_STATE/unit-<name> (their vendor Restart= inside) with every drop-in that exists then,
 * the last Restart= in file-name order winning; `show` reports what the last reload loaded.
 */
const FAKE_SYSTEMCTL = `#!/bin/sh
D=$FAKE_K3S_STATE
echo "systemctl $*" >>"$D/calls"
case "$1" in
  daemon-reload)
    for u in "$D"/unit-*; do
      [ -e "$u" ] || continue
      name=\${u##*/unit-}; restart=$(cat "$u"); paths=""
      for f in /etc/systemd/system/"$name".service.d/*.conf; do
        [ -e "$f" ] || continue
        paths="$paths $f"
        r=$(sed -n 's/^Restart=//p' "$f" | tail -n 1)
        [ -z "$r" ] || restart=$r
      done
      echo "$restart" >"$D/loaded-restart-$name"; echo "\${paths# }" >"$D/loaded-dropins-$name"
    done ;;
  show)
    name=$5
    case "$3" in
      LoadState) if [ -e "$D/unit-$name" ]; then echo loaded; else echo not-found; fi ;;
      Restart) cat "$D/loaded-restart-$name" 2>/dev/null || cat "$D/unit-$name" ;;
      DropInPaths) cat "$D/loaded-dropins-$name" 2>/dev/null || echo ;;
    esac ;;
esac
`;

/** A fake LB host with systemd as PID 1 or without; the paths the scripts write are temp dirs. */
class SupervisedHost {
  readonly fake = new FakeHost({});
  readonly unitDir = path.join(this.fake.dir, "etc-systemd-system");
  readonly stateDir = path.join(this.fake.dir, "var-lib-k3s-ha");

  constructor(
    readonly systemd: boolean,
    /** Installed units and their vendor Restart= (Debian: keepalived none, haproxy always). */
    units: Record<string, string> = { keepalived: "no", haproxy: "always" },
  ) {
    fs.mkdirSync(this.unitDir);
    fs.mkdirSync(this.stateDir);
    fs.writeFileSync(path.join(this.fake.bin, "systemctl"), FAKE_SYSTEMCTL, { mode: 0o755 });
    for (const [name, restart] of Object.entries(units)) {
      fs.writeFileSync(path.join(this.fake.state, `unit-${name}`), restart);
    }
  }

  /** Runs a script with the drop-in on stdin, as the step sends it. */
  run(text: string, stdin = renderSupervisionDropIn()) {
    return this.fake.run(text, {
      stdin,
      isolated: true,
      setup: [
        `mount --bind ${this.unitDir} /etc/systemd/system`,
        "mount -t tmpfs k3sha-test /run",
        this.systemd ? "mkdir -p /run/systemd/system" : "",
        `mkdir -p /var/lib/k3s-ha && mount --bind ${this.stateDir} /var/lib/k3s-ha`,
      ].join("\n"),
    });
  }

  /** A path under /etc/systemd/system as the host sees it. */
  file(p: string): string {
    return path.join(this.unitDir, path.relative("/etc/systemd/system", p));
  }

  /** Every file and directory under /etc/systemd/system, relative to it. */
  tree(): string[] {
    return (fs.readdirSync(this.unitDir, { recursive: true }) as string[]).sort();
  }

  systemctlCalls(): string[] {
    return this.fake.calls().filter((c) => c.startsWith("systemctl ") && !c.includes(" show "));
  }

  restartLoaded(service: string): string {
    return fs.readFileSync(path.join(this.fake.state, `loaded-restart-${service}`), "utf8").trim();
  }

  remove(): void {
    this.fake.remove();
  }
}

describe("installSupervisionScript and removeSupervisionScript", function () {
  this.timeout(60_000);
  const hosts: SupervisedHost[] = [];
  const host = (...args: ConstructorParameters<typeof SupervisedHost>) => {
    const h = new SupervisedHost(...args);
    hosts.push(h);
    return h;
  };
  afterEach(() => hosts.splice(0).forEach((h) => h.remove()));

  it("on a systemd host writes both drop-ins (0644) and daemon-reloads once; a second run changes nothing", async () => {
    const h = host(true);
    const first = await h.run(installSupervisionScript(LB_PAIR));
    expect(first.status, first.stderr).to.equal(0);
    expect(h.tree()).to.deep.equal([
      "haproxy.service.d",
      "haproxy.service.d/k3s-ha-supervise.conf",
      "keepalived.service.d",
      "keepalived.service.d/k3s-ha-supervise.conf",
    ]);
    for (const s of LB_PAIR) {
      const file = h.file(supervisionDropInPath(s));
      expect(fs.readFileSync(file, "utf8"), s).to.equal(renderSupervisionDropIn());
      expect(fs.statSync(file).mode & 0o777, s).to.equal(0o644);
      expect(h.restartLoaded(s), `${s} after the reload`).to.equal(SUPERVISION.restart);
    }
    expect(h.systemctlCalls()).to.deep.equal(["systemctl daemon-reload"]);
    expect(first.stderr).to.contain(
      "keepalived: supervision drop-in written (/etc/systemd/system/keepalived.service.d/k3s-ha-supervise.conf)",
    );
    expect(first.stderr).to.contain("systemd: daemon-reload");
    expect(first.stderr).to.not.contain("WARNING");
    const markers = fs.readdirSync(h.stateDir).sort();
    expect(markers, "the directories it created, no pending reload").to.deep.equal([
      "created-dropin-dir-haproxy",
      "created-dropin-dir-keepalived",
    ]);

    // The files themselves are left alone (write_file's temp file touches the directories).
    const files = () =>
      h
        .tree()
        .filter((f) => f.endsWith(".conf"))
        .map((f) => [f, fs.statSync(path.join(h.unitDir, f)).mtimeMs]);
    const filesBefore = files();
    const second = await h.run(installSupervisionScript(LB_PAIR));
    expect(second.status, second.stderr).to.equal(0);
    expect(second.stderr.trim().split("\n")).to.deep.equal([
      "keepalived: supervision drop-in unchanged",
      "haproxy: supervision drop-in unchanged",
      "systemd: no daemon-reload needed",
    ]);
    expect(h.systemctlCalls(), "no second daemon-reload").to.deep.equal([
      "systemctl daemon-reload",
    ]);
    expect(files()).to.deep.equal(filesBefore);
  });

  it("finishes a daemon-reload that a cut run left pending, with the files already in place", async () => {
    const h = host(true);
    expect((await h.run(installSupervisionScript(LB_PAIR))).status).to.equal(0);
    // The state a run cut between the file move and the reload leaves.
    fs.writeFileSync(path.join(h.stateDir, "reload-pending-systemd-supervision"), "");
    const again = await h.run(installSupervisionScript(LB_PAIR));
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stderr).to.contain("keepalived: supervision drop-in unchanged");
    expect(h.systemctlCalls()).to.deep.equal([
      "systemctl daemon-reload",
      "systemctl daemon-reload",
    ]);
    expect(fs.readdirSync(h.stateDir)).to.not.include("reload-pending-systemd-supervision");
  });

  it("warns when another drop-in overrides Restart=, and when a unit is not installed yet", async () => {
    const h = host(true, { keepalived: "no" });
    fs.mkdirSync(h.file("/etc/systemd/system/keepalived.service.d"));
    fs.writeFileSync(
      h.file("/etc/systemd/system/keepalived.service.d/override.conf"),
      "[Service]\nRestart=no\n",
    );
    const r = await h.run(installSupervisionScript(LB_PAIR));
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(
      "WARNING: keepalived has Restart=no, not on-failure: a drop-in other than /etc/systemd/system/keepalived.service.d/k3s-ha-supervise.conf overrides it (/etc/systemd/system/keepalived.service.d/k3s-ha-supervise.conf /etc/systemd/system/keepalived.service.d/override.conf)",
    );
    expect(r.stderr).to.contain("haproxy: not installed yet; its drop-in applies once it is");
    expect(fs.readdirSync(h.stateDir), "an existing directory is not ours").to.deep.equal([
      "created-dropin-dir-haproxy",
    ]);
  });

  it("refuses to write an empty drop-in when nothing comes on stdin", async () => {
    const h = host(true);
    const r = await h.run(installSupervisionScript(LB_PAIR), "");
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain("no drop-in content on stdin");
    expect(h.tree()).to.deep.equal([]);
  });

  it("on a host without systemd warns on stderr, naming the unsupervised services, and exits 0", async () => {
    const h = host(false);
    const r = await h.run(installSupervisionScript(LB_PAIR));
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr.trim()).to.equal(
      "WARNING: systemd is not PID 1 on this host: keepalived, haproxy are NOT supervised (nothing restarts them when they crash or are killed; a killed KeepAlived leaves the VIP on this host while the peer takes it too). Supervise them with this host's init system (OpenRC supervise-daemon, runit, s6), or run them under systemd.",
    );
    expect(h.tree(), "nothing written").to.deep.equal([]);
    expect(fs.readdirSync(h.stateDir)).to.deep.equal([]);
    expect(h.fake.calls()).to.deep.equal([]);
    const nginx = await h.run(installSupervisionScript(["nginx"]));
    expect(nginx.stderr).to.contain("nginx are NOT supervised (nothing restarts them");
    expect(nginx.stderr).to.not.contain("VIP");
  });

  it("remove deletes the drop-ins and the directories it created, daemon-reloads once; again, nothing", async () => {
    const h = host(true);
    // keepalived's directory already holds someone else's drop-in: it stays.
    fs.mkdirSync(h.file("/etc/systemd/system/keepalived.service.d"));
    fs.writeFileSync(h.file("/etc/systemd/system/keepalived.service.d/local.conf"), "[Unit]\n");
    expect((await h.run(installSupervisionScript(LB_PAIR))).status).to.equal(0);
    const removed = await h.run(removeSupervisionScript(LB_PAIR));
    expect(removed.status, removed.stderr).to.equal(0);
    expect(h.tree()).to.deep.equal(["keepalived.service.d", "keepalived.service.d/local.conf"]);
    expect(fs.readdirSync(h.stateDir), "no marker left").to.deep.equal([]);
    expect(h.systemctlCalls()).to.deep.equal([
      "systemctl daemon-reload",
      "systemctl daemon-reload",
    ]);
    expect(h.restartLoaded("keepalived"), "the vendor's Restart= again").to.equal("no");
    expect(h.restartLoaded("haproxy")).to.equal("always");
    expect(removed.stderr).to.contain("keepalived: supervision drop-in removed");

    const again = await h.run(removeSupervisionScript(LB_PAIR));
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stderr).to.equal("");
    expect(h.systemctlCalls()).to.have.length(2);
  });

  it("keeps a directory it created while someone else's drop-in is in it", async () => {
    const h = host(true);
    expect((await h.run(installSupervisionScript(["nginx"]))).status).to.equal(0);
    const other = h.file("/etc/systemd/system/nginx.service.d/local.conf");
    fs.writeFileSync(other, "[Unit]\n");
    const kept = await h.run(removeSupervisionScript(["nginx"]));
    expect(kept.stderr).to.contain(
      "nginx: kept /etc/systemd/system/nginx.service.d: it holds other drop-ins",
    );
    expect(h.tree()).to.deep.equal(["nginx.service.d", "nginx.service.d/local.conf"]);
    expect(fs.readdirSync(h.stateDir)).to.deep.equal([]);
  });

  it("pass shellcheck", () => {
    for (const text of [
      installSupervisionScript(LB_PAIR),
      removeSupervisionScript(LB_PAIR),
      installSupervisionScript(["nginx"]),
      removeSupervisionScript(["nginx"]),
    ]) {
      const r = shellcheck(text);
      expect(r.status, r.output).to.equal(0);
    }
  });
});

describe("the supervise steps in the program", function () {
  this.timeout(120_000);
  const LB_STEPS = ["haproxy", "keepalived-check", "keepalived", "supervise"];

  it("one per HAProxy host, lb-2's after every lb-1 step; native Nginx has one, Docker mode none", async () => {
    const dev = await runProgram(testStackConfig("dev"), [], "supervise-dev");
    for (const host of ["lb-1", "lb-2"]) {
      const r = step(dev, `lb-${host}-supervise`);
      expect(unwrapCommandLine(String(r.inputs.create))).to.equal(
        installSupervisionScript(LB_PAIR),
      );
      expect(unwrapCommandLine(String(r.inputs.delete))).to.equal(removeSupervisionScript(LB_PAIR));
      expect(stdinOf(dev, `lb-${host}-supervise`)).to.equal(renderSupervisionDropIn());
    }
    for (const one of LB_STEPS) {
      expect(dependsOn(dev, "lb-lb-2-supervise", `lb-lb-1-${one}`), one).to.equal(true);
      expect(dependsOn(dev, `lb-lb-1-${one}`, "lb-lb-2-supervise"), one).to.equal(false);
    }
    const staging = await runProgram(testStackConfig("staging"), [], "supervise-staging");
    expect(unwrapCommandLine(String(step(staging, "lb-supervise").inputs.create))).to.equal(
      installSupervisionScript(["nginx"]),
    );
    const docker = await runProgram(
      { ...testStackConfig("staging"), "k3s-ha:nginxMode": "docker" },
      [],
      "supervise-docker",
    );
    expect(commands(docker).map((c) => c.name)).to.not.include("lb-supervise");
  });

  it("a changed drop-in (content and script) updates the steps in place, replacing none", async () => {
    const base = await mockUp(undefined, testStackConfig("dev"), { stack: "supervise" });
    expect(base.result.errors).to.deep.equal([]);
    const changed = (text: string) => text.replace("RestartSec=1", "RestartSec=2");
    const regs: RecordedResource[] = base.evaluation.resources.map((r) =>
      r.name.endsWith("-supervise")
        ? {
            ...r,
            inputs: {
              ...r.inputs,
              stdin: changed(String(r.inputs.stdin)),
              create: changed(String(r.inputs.create)),
            },
          }
        : r,
    );
    expect(regs.filter((r) => r.name.endsWith("-supervise"))).to.have.length(2);
    const plan = await planRun(base.result.state, regs);
    const moving = plan.changes.filter((c) => c.op !== "same").map((c) => `${c.op} ${c.name}`);
    expect(moving.sort()).to.deep.equal(["update lb-lb-1-supervise", "update lb-lb-2-supervise"]);
  });
});
