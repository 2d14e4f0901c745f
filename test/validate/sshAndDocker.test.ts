import { expect } from "chai";
import { imageReferenceProblem } from "../../components/lb/nginx/imageReference";
import { interfaceNameProblem } from "../../components/lb/haproxy-pair/linuxInterface";
import { hostKeyProblem, hostProblem, userNameProblem } from "../../components/host/sshValues";

/** Real public keys generated with ssh-keygen for these tests. */
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK2YaSSAlpWnPZZ6IPP6YrBt5M6i7pPIKRGhI0LqEujZ";
const ECDSA =
  "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHunX4FyZsaobEPKiY9IGNe12c2lgMGuwB+BkjxbH3zkMBNPKIdbzSwTG2li0JSZAm7/68uy2ybqmWjX29HHPUs=";

describe("validate/ssh", () => {
  it("accepts known_hosts-style public keys whose blob names their type", () => {
    expect(hostKeyProblem(ED25519)).to.equal(undefined);
    expect(hostKeyProblem(`${ED25519} root@server-1`)).to.equal(undefined);
    expect(hostKeyProblem(ECDSA)).to.equal(undefined);
    expect(hostKeyProblem(ECDSA.replace("nistp256 ", "nistp384 "))).to.equal(
      "has key data that does not decode to a key of type ecdsa-sha2-nistp384",
    );
    expect(hostKeyProblem("ssh-ed25519 not*base64")).to.match(/not base64/);
    expect(hostKeyProblem("-----BEGIN OPENSSH PRIVATE KEY-----\nabc")).to.match(/is a private key/);
  });

  it("checks user names and bastion hosts", () => {
    expect(userNameProblem("ubuntu")).to.equal(undefined);
    expect(userNameProblem("1000")).to.equal(
      'must start with a letter or "_" and be at most 32 characters long',
    );
    expect(userNameProblem("a b")).to.equal(
      'contains a space (only letters, digits, "_", "." and "-")',
    );
    expect(hostProblem("bastion.example.com")).to.equal(undefined);
    expect(hostProblem("10.0.0.1")).to.equal(undefined);
    expect(hostProblem("fd00::1")).to.equal(undefined);
    expect(hostProblem("10.0.0.256")).to.equal("is not an IPv4 or IPv6 address");
    expect(hostProblem("-bastion")).to.equal("is not an IP address or DNS host name");
  });
});

describe("validate/docker", () => {
  it("accepts the reference forms docker accepts", () => {
    for (const ok of [
      "nginx",
      "nginx:stable",
      "library/nginx:1.25-alpine",
      "registry.example.com:5000/team/nginx:1.25",
      "localhost/nginx",
      `nginx@sha256:${"0".repeat(64)}`,
      `ghcr.io/org/nginx:1.25@sha256:${"f".repeat(64)}`,
    ]) {
      expect(imageReferenceProblem(ok), ok).to.equal(undefined);
    }
  });

  it("rejects uppercase repositories, option-like and malformed references", () => {
    for (const bad of [
      "Nginx",
      "--privileged",
      "nginx:",
      "nginx:-x",
      "nginx@sha256:abc",
      "a//b",
      `nginx:${"t".repeat(129)}`,
    ]) {
      expect(imageReferenceProblem(bad), bad).to.be.a("string");
    }
    expect(imageReferenceProblem(`${"a".repeat(256)}:1`)).to.equal(
      "has a repository name longer than 255 characters",
    );
  });
});

describe("validate/linuxInterface", () => {
  it("accepts Linux interface names of at most 15 safe characters", () => {
    for (const ok of ["eth1", "ens18.10", "br-lab_0", "veth1234567890a"]) {
      expect(interfaceNameProblem(ok), ok).to.equal(undefined);
    }
    expect(interfaceNameProblem("eth1/x")).to.equal(
      'contains "/" (only letters, digits, "_", "." and "-")',
    );
    expect(interfaceNameProblem("-eth1")).to.equal('must not start with "-"');
    expect(interfaceNameProblem("..")).to.equal('must not be "." or ".."');
  });
});
