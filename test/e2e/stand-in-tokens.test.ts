/** The stand-in's token formats and which versions have `k3s token rotate`. No lab needed. */
import { expect } from "chai";
import {
  passwordDigest,
  sha256,
  splitToken,
  supportsTokenRotate,
  tokenFormatProblem,
  tokenHelp,
} from "../../harness/e2e/stand-in/tokens";

describe("e2e stand-in: tokens", function () {
  it("splits full, user-only and bare tokens the way K3s parses them", function () {
    const hash = "a".repeat(64);
    expect(splitToken(`K10${hash}::server:s3cret`)).to.deep.equal({
      caHash: hash,
      user: "server",
      password: "s3cret",
    });
    expect(splitToken("K10::node:p:with:colons")).to.deep.equal({
      user: "node",
      password: "p:with:colons",
    });
    expect(splitToken("just-a-password\n")).to.deep.equal({ password: "just-a-password" });
  });

  it("refuses malformed secure tokens as K3s's parseToken does, and takes short ones as passwords", function () {
    const hash = "c".repeat(64);
    for (const ok of [
      `K10${hash}::node:pw`,
      "K10::server:pw",
      "short-password",
      `K10${hash}::node:a:b`,
    ]) {
      expect(tokenFormatProblem(ok), ok).to.equal(undefined);
    }
    expect(tokenFormatProblem(`K10${hash.slice(1)}::node:pw`)).to.equal(
      "invalid token CA hash length",
    );
    expect(tokenFormatProblem(`K10${hash}::nopassword`)).to.equal("invalid token format");
    expect(tokenFormatProblem(`K10${hash}::node:`)).to.equal("invalid token format");
    expect(tokenFormatProblem(`K10${hash}`)).to.equal("invalid token format: K10 without ::");
    expect(tokenFormatProblem("  ")).to.equal("the token is empty");
    // A 64-character hash that is not the CA's lower-case hex is kept, and fails the CA check.
    expect(splitToken(`K10${"C".repeat(64)}::node:pw`).caHash).to.equal("C".repeat(64));
  });

  it("digests only the password part, so a full and a bare token agree", function () {
    const full = `K10${"b".repeat(64)}::server:pw-123`;
    expect(passwordDigest(full)).to.equal(passwordDigest("pw-123"));
    expect(passwordDigest("pw-123")).to.equal(sha256("pw-123"));
    expect(passwordDigest(full)).to.not.include("pw-123");
  });

  it("has `k3s token rotate` only from v1.25.15, v1.26.10, v1.27.7, v1.28.3 on", function () {
    const yes = ["v1.25.15+k3s1", "v1.26.10+k3s2", "v1.27.7+k3s1", "v1.27.7-rc1+k3s1"];
    const more = ["v1.27.12+k3s1", "v1.28.3+k3s1", "v1.29.0+k3s1", "v1.31.2+k3s1"];
    const no = ["v1.24.17+k3s1", "v1.25.14+k3s1", "v1.26.9+k3s1", "v1.27.3+k3s1", "v1.27.6+k3s1"];
    for (const v of [...yes, ...more]) expect(supportsTokenRotate(v), v).to.equal(true);
    for (const v of [...no, "v1.28.2+k3s1", "garbage"]) {
      expect(supportsTokenRotate(v), v).to.equal(false);
    }
  });

  it("`k3s token --help` lists rotate exactly where it exists (what the program greps)", function () {
    expect(tokenHelp("v1.27.7+k3s1")).to.match(/^ {3}rotate +Rotate/m);
    expect(tokenHelp("v1.27.3+k3s1")).to.not.include("rotate");
    expect(tokenHelp("v1.27.3+k3s1")).to.match(/^ {3}generate/m);
  });
});
