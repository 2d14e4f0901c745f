/**
 * Under mocks: removing server-1, the server that started the cluster, from the stack (and adding
 * server-4 in the same edit). The next server takes the founding role in place: its config.yaml
 * says cluster-init, the joiners re-point at it, the restarts roll one server at a time. That its
 * steps update rather than being deleted and created (an alias of the other server type), and that
 * only server-1's steps are deleted, the guard (editsReplaceNothing.test.ts) proves by planning the
 * same edit against a deployed state with the engine model.
 */
import { expect } from "chai";
import { dependsOn } from "../../harness/program/graph";
import { ProgramRun, runProgram } from "../../harness/program/mocks";
import { hostOf, step, stdinOf } from "../../harness/program/queries";
import { SECRET_KEYS, devHosts, devStack, diffRuns } from "./runs";

describe("replacing the founding server (server-1) under mocks", function () {
  this.timeout(120_000);
  let original: ProgramRun;
  let after: ProgramRun;
  before(async () => {
    original = await runProgram(devStack(), SECRET_KEYS, "day2");
    after = await runProgram(
      devStack({
        "k3s-ha:servers": [
          ...devHosts("servers").slice(1),
          { name: "server-4", address: "10.10.10.53" },
        ],
      }),
      SECRET_KEYS,
      "day2",
    );
  });

  it("server-2 starts the cluster now: cluster-init, no join address; server-3 and server-4 join it", () => {
    const config2 = stdinOf(after, "server-2-config");
    expect(config2).to.contain("cluster-init: true");
    expect(config2).to.not.contain("server: ");
    for (const s of ["server-3", "server-4"]) {
      expect(stdinOf(after, `${s}-config`), s).to.contain("server: https://10.10.10.51:6443");
    }
  });

  it("the founding role's steps run on server-2 now: snapshot, CA hash, kubeconfig", () => {
    const diff = diffRuns(original, after);
    expect(diff.added).to.include.members([
      "server-2-etcd-snapshot",
      "server-2-read-kubeconfig",
      "server-2-ca-hash",
      "server-4-install",
    ]);
    for (const s of ["server-2-etcd-snapshot", "server-2-read-kubeconfig", "server-2-ca-hash"]) {
      expect(hostOf(step(after, s)), s).to.equal("10.10.10.51");
    }
  });

  it("restarts roll one server at a time from the new founding server; server-4 joins last", () => {
    expect(dependsOn(after, "server-3-install", "server-2-install")).to.equal(true);
    expect(dependsOn(after, "server-4-install", "server-3-install")).to.equal(true);
  });
});
