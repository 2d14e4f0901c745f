/**
 * Server removals refused before any host changes: by the edit (the server list record, a local
 * command run as pulumi-command runs it, with the last accepted list in PULUMI_COMMAND_STDOUT) and
 * by the cluster's state (the removal check, on a fake K3s host). And under mocks: every other host
 * step waits for both.
 */
import { expect } from "chai";
import { shellcheck, runSh } from "../../harness/program/scripts";
import { hostScript } from "../../components/host/script";
import { commands } from "../../harness/program/queries";
import { dependsOn } from "../../harness/program/graph";
import { ProgramRun, runProgram } from "../../harness/program/mocks";
import { testStackConfig } from "../../harness/program/stacks";
import { FakeHost, FakeHostState } from "./fakeHost";

const record = hostScript("cluster/server-list-record.sh", { field: "servers" });
const recordRun = (previous: string[] | undefined, next: string[]) =>
  runSh(
    record,
    next.map((s) => `${s}\n`).join(""),
    previous === undefined ? {} : { PULUMI_COMMAND_STDOUT: previous.join("\n") },
  );
const servers = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `server-${from + i}`);

describe("refusing server removals that would lose the cluster", function () {
  this.timeout(60_000);

  describe("by the edit (the server list record)", () => {
    it("passes shellcheck", () => {
      expect(shellcheck(record).output).to.equal("");
    });

    it("accepts the first list (no record yet, as for a stack deployed by an earlier release)", () => {
      const r = recordRun(undefined, ["server-4", "server-5"]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.equal("server-4\nserver-5\n");
    });

    it("accepts one server replaced per run, the first one included", () => {
      for (const [before, after] of [
        [servers(3), ["server-2", "server-3", "server-4"]],
        [
          ["server-2", "server-3", "server-4"],
          ["server-3", "server-4", "server-5"],
        ],
        [servers(5), ["server-1", "server-2", "server-3"]],
        [servers(3), servers(5)],
      ]) {
        const r = recordRun(before, after);
        expect(r.status, `${before.join()} → ${after.join()}: ${r.stderr}`).to.equal(0);
        expect(r.stdout, "the accepted list").to.equal(after.map((s) => `${s}\n`).join(""));
      }
    });

    it("refuses removing more servers than etcd's quorum allows, naming them and the limit", () => {
      const r = recordRun(servers(3), ["server-1", "server-4", "server-5"]);
      expect(r.status).to.equal(1);
      expect(r.stdout, "no list accepted").to.equal("");
      expect(r.stderr).to.include("invalid stack configuration:");
      expect(r.stderr).to.include(
        "servers: this run would remove 2 of the 3 servers this stack deployed (server-2, server-3)",
      );
      expect(r.stderr).to.include("at most 1 may leave in one run");
      const five = recordRun(servers(5), ["server-1", "server-2"]);
      expect(five.stderr)
        .to.include("remove 3 of the 5 servers")
        .and.include("at most 2 may leave");
      const two = recordRun(servers(2), ["server-1"]);
      expect(two.status).to.equal(1);
      expect(two.stderr).to.include("with 2, none can leave: add servers first");
    });

    it("refuses a first server the stack never deployed (it would found a second cluster)", () => {
      const r = recordRun(servers(3), ["server-4", "server-2", "server-3"]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.include("servers[0] (server-4): the first server founds the cluster");
      expect(r.stderr).to.include("List a server that stays first and add server-4 after it.");
      const both = recordRun(servers(3), ["server-4", "server-5"]);
      expect(both.stderr.match(/^ {2}- /gm), "both problems, one line each").to.have.length(2);
    });
  });

  describe("by the cluster's state (the removal check on the first server)", () => {
    const VERSION = "v1.28.5+k3s1";
    const hosts: FakeHost[] = [];
    afterEach(() => hosts.splice(0).forEach((h) => h.remove()));
    const check = (stack: string[]) =>
      hostScript("cluster/server-removal-check.sh", {
        servers: stack.join(" "),
        field: "servers",
      });
    const cluster = (notReady: string[], extra: FakeHostState = {}): FakeHost => {
      const host = new FakeHost({
        version: VERSION,
        running: ["k3s"],
        nodes: [
          ...servers(3).map((name) => ({ name, ready: !notReady.includes(name), etcd: true })),
          { name: "agent-1", ready: false, etcd: false },
        ],
        ...extra,
      });
      hosts.push(host);
      return host;
    };
    const run = (host: FakeHost, stack: string[]) => host.run(check(stack));

    it("passes shellcheck", () => {
      expect(shellcheck(check(servers(3))).output).to.equal("");
    });

    it("lets a removal go on when every etcd member that stays is Ready (the one leaving may be down)", async () => {
      const r = await run(cluster(["server-1"]), ["server-2", "server-3", "server-4"]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.include("server-1 leaves the cluster at the end of this run");
    });

    it("refuses a removal while an etcd member that stays is not Ready, naming both", async () => {
      const host = cluster(["server-3"]);
      const r = await run(host, ["server-2", "server-3", "server-4"]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.include(
        "servers: this run removes server-1 from the cluster, but etcd members that stay are not Ready (server-3)",
      );
      expect(r.stderr).to.include("Nothing was changed.");
      const writes = host
        .calls()
        .filter((c) => c.startsWith("k3s kubectl") && !c.includes(" get "));
      expect(writes, "it only reads").to.deep.equal([]);
    });

    it("lets an edit that removes nothing go on whatever the members' state", async () => {
      const r = await run(cluster(["server-3"]), servers(4));
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.include("no etcd member leaves the cluster in this run");
    });

    it("refuses when the first server's own API does not answer (it stays in every accepted edit)", async () => {
      const r = await run(cluster([], { localApiDown: true }), [
        "server-2",
        "server-3",
        "server-4",
      ]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.include("servers: the first server's K3s API does not answer");
    });

    it("has nothing to check on a host without K3s (the first run)", async () => {
      const host = new FakeHost({});
      hosts.push(host);
      const r = await host.run(check(servers(3)));
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.include("no K3s server on this host yet");
    });
  });

  describe("in the program (mocks)", () => {
    let run: ProgramRun;
    before(async () => {
      run = await runProgram(testStackConfig("dev"));
    });

    it("runs the removal check on the first server after the records, and every other host step after it", () => {
      const checkStep = commands(run).find((c) => c.name === "server-removal-check");
      expect(checkStep, "the removal check").to.not.equal(undefined);
      for (const c of commands(run).filter((x) => x.name !== "server-removal-check")) {
        expect(dependsOn(run, c.name, "server-removal-check"), `${c.name} waits`).to.equal(true);
      }
    });
  });
});
