import { expect } from "chai";
import {
  childPath,
  closestKey,
  describeChar,
  isSecretKey,
  show,
} from "../../components/config/display";
import { isShellSafeToken, shellSafetyProblem } from "../../components/config/shellWord";

describe("validate/display", () => {
  it("shows short ordinary values as JSON", () => {
    expect(show("10.10.10.5x")).to.equal('"10.10.10.5x"');
    expect(show(22)).to.equal("22");
    expect(show(false)).to.equal("false");
    expect(show(null)).to.equal("null");
    expect(show([1])).to.equal("an array");
    expect(show({ a: 1 })).to.equal("an object");
  });

  it("hides long, multi-line and secret-looking values, and anything under a secret key", () => {
    expect(show("x".repeat(65))).to.equal("a string of 65 characters (not shown)");
    expect(show("a\nb")).to.equal("a string of 3 characters (not shown)");
    expect(show("K10deadbeefdeadbeef")).to.equal("a string of 19 characters (not shown)");
    expect(show("--token=abc")).to.equal("a string of 11 characters (not shown)");
    expect(show("short", "sshBastion.password")).to.equal("a string of 5 characters (not shown)");
    expect(show(1234, "servers[0].labels.apiToken")).to.equal("a number (not shown)");
    expect(show("~/.ssh/id", "sshPrivateKeyPath")).to.equal('"~/.ssh/id"');
  });

  it("recognises secret-sounding keys but not file paths or host keys", () => {
    for (const key of ["token", "agentToken", "privateKey", "password", "clientSecret"]) {
      expect(isSecretKey(key), key).to.equal(true);
    }
    for (const key of ["hostKey", "sshPrivateKeyPath", "name", "labels"]) {
      expect(isSecretKey(key), key).to.equal(false);
    }
  });

  it("builds field paths and keeps odd keys readable", () => {
    expect(childPath("", "vip")).to.equal("vip");
    expect(childPath("servers[0]", "labels")).to.equal("servers[0].labels");
    expect(childPath("servers[0].labels", "example.com/x")).to.equal(
      'servers[0].labels["example.com/x"]',
    );
    expect(childPath("x", "k".repeat(70) + "!")).to.equal("x[<key of 71 characters>]");
  });

  it("names characters plainly", () => {
    expect(describeChar(" ")).to.equal("a space");
    expect(describeChar("\n")).to.equal("a newline");
    expect(describeChar("\u0007")).to.equal("a control character (U+0007)");
    expect(describeChar("é")).to.equal('"é" (U+00E9, not ASCII)');
    expect(describeChar("$")).to.equal('"$"');
  });

  it("suggests the key a typo meant, and nothing for unrelated keys", () => {
    const keys = ["name", "address", "hostKey", "labels", "taints"];
    expect(closestKey("adress", keys)).to.equal("address");
    expect(closestKey("Labels", keys)).to.equal("labels");
    expect(closestKey("token", keys)).to.equal(undefined);
  });
});

describe("validate/shell", () => {
  it("accepts only words a shell reads literally", () => {
    expect(isShellSafeToken("--node-label=disk=ssd")).to.equal(true);
    expect(isShellSafeToken("a b")).to.equal(false);
    expect(shellSafetyProblem("--x=$(id)", "extraServerArgs[0]")).to.equal(
      '"--x=$(id)" contains "$", which is not shell-safe (allowed: letters, digits and . _ - + = : , / @ %)',
    );
    expect(shellSafetyProblem("", "installMirror")).to.equal("must not be empty");
  });
});
