/**
 * The LB steps' scripts run for real where they can be: the check step's script user (in a
 * private mount namespace whose /etc is an overlay).
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
  installCheckScriptScript,
  removeCheckScriptScript,
} from "../../components/render/lbScripts";
import { shQuote } from "../../components/render/shell";
import { run, withTempDir } from "./checkers";

describe("the check step's script user", function () {
  this.timeout(60_000);
  const USER = "k3sha_test_script";

  /**
   * Runs `body` in a private mount namespace whose /etc is an overlay over this machine's, so
   * useradd and userdel change only the overlay; returns its passwd and group.
   */
  async function onCopies(body: string, state: string) {
    return withTempDir(async (dir) => {
      // useradd replaces the files by rename, which a bind-mounted file refuses: an overlay on
      // /etc keeps every write in `upper`.
      fs.mkdirSync(path.join(dir, "upper"));
      fs.mkdirSync(path.join(dir, "work"));
      const mount = `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/upper,workdir=${dir}/work /etc`;
      const text = body.replace(/\/var\/lib\/k3s-ha/g, state);
      const result = await run([
        "unshare",
        "--mount",
        "sh",
        "-c",
        `${mount} && sh -c ${shQuote(text)}`,
      ]);
      const read = (f: string) => {
        const p = path.join(dir, "upper", f);
        return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : fs.readFileSync(`/etc/${f}`, "utf8");
      };
      return { result, passwd: read("passwd"), group: read("group") };
    });
  }

  it("creates the user once (system, no home, no login) and its delete removes only a user it created", async function () {
    await withTempDir(async (dir) => {
      const state = path.join(dir, "state");
      const script = path.join(dir, "check.sh");
      const install = `${installCheckScriptScript(script, USER)}\nid -u ${USER}\n${installCheckScriptScript(script, USER)}`;
      const both = `${install}\n${removeCheckScriptScript(script, USER)}\nid -u ${USER} || echo gone`;
      // ensure_packages finds keepalived and curl on this machine (CI installs them).
      const { result } = await onCopies(both, state);
      expect(result.code, result.output).to.equal(0);
      expect(result.output.match(/created the system user/g), result.output).to.have.length(1);
      expect(result.output).to.include("gone");
      expect(fs.readdirSync(state), "the marker goes with the user").to.deep.equal([]);
    });
  });

  it("adds a system user with nologin and /nonexistent, and leaves an existing user on delete", async function () {
    await withTempDir(async (dir) => {
      const state = path.join(dir, "state");
      const script = path.join(dir, "check.sh");
      const created = await onCopies(
        `${installCheckScriptScript(script, USER)}\ngetent passwd ${USER}`,
        state,
      );
      expect(created.result.code, created.result.output).to.equal(0);
      const entry = created.passwd.split("\n").find((l) => l.startsWith(`${USER}:`));
      const [, , uid, gid, , home, shell] = entry!.split(":");
      expect(Number(uid)).to.be.lessThan(1000);
      expect(created.group).to.match(new RegExp(`^${USER}:x:${gid}:`, "m"));
      expect([home, shell]).to.deep.equal(["/nonexistent", "/usr/sbin/nologin"]);
      // A user that was there before (an admin's): no marker, so the delete keeps it.
      const kept = await onCopies(
        [
          `useradd --system --no-log-init --no-create-home ${USER}`,
          installCheckScriptScript(script, USER),
          removeCheckScriptScript(script, USER),
          `id -u ${USER} >/dev/null && echo kept`,
        ].join("\n"),
        path.join(dir, "state-2"),
      );
      expect(kept.result.code, kept.result.output).to.equal(0);
      expect(kept.result.output).to.not.include("created the system user");
      expect(kept.result.output).to.include("kept");
    });
  });
});
