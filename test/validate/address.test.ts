import { expect } from "chai";
import {
  Cidr,
  IpAddress,
  cidrContains,
  networkOf,
  parseCidr,
  parseIpAddress,
  reservedInSubnet,
} from "../../components/config/address";

function address(text: string): IpAddress {
  const parsed = parseIpAddress(text);
  if (typeof parsed === "string") throw new Error(`${text} ${parsed}`);
  return parsed;
}

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (typeof parsed === "string") throw new Error(`${text} ${parsed}`);
  return parsed;
}

describe("validate/address", () => {
  it("accepts four-part decimal IPv4 and IPv6 only", () => {
    for (const ok of ["10.10.10.50", "192.168.0.1", "::1", "fd00:10::50", "::ffff:10.0.0.1"]) {
      expect(parseIpAddress(ok), ok).to.not.be.a("string");
    }
    for (const bad of [
      "10",
      "10.10",
      "10.10.10",
      "0x0a.0.0.1",
      "010.0.0.1",
      "10.0.0.256",
      "1::2::3",
      " 10.0.0.1",
      "host",
    ]) {
      expect(parseIpAddress(bad), bad).to.equal("is not an IPv4 or IPv6 address");
    }
  });

  it("rejects addresses no host can have", () => {
    expect(parseIpAddress("0.0.0.0")).to.equal("is the unspecified address, not a host address");
    expect(parseIpAddress("::")).to.equal("is the unspecified address, not a host address");
    expect(parseIpAddress("255.255.255.255")).to.equal(
      "is the broadcast address, not a host address",
    );
    expect(parseIpAddress("224.0.0.18")).to.equal("is a multicast address, not a host address");
    expect(parseIpAddress("ff02::12")).to.equal("is a multicast address, not a host address");
  });

  it("gives equal addresses written differently the same canonical form", () => {
    expect(address("fd00::65").canonical).to.equal(address("fd00:0:0:0::0065").canonical);
    expect(address("10.0.0.1").canonical).to.not.equal(address("10.0.0.2").canonical);
  });

  it("parses CIDRs strictly and tests containment by family", () => {
    const vip = cidr("10.10.10.100/24");
    expect(vip.prefixLength).to.equal(24);
    expect(networkOf(vip)).to.equal("10.10.10.0/24");
    expect(cidrContains(vip, address("10.10.10.98"))).to.equal(true);
    expect(cidrContains(vip, address("10.10.11.98"))).to.equal(false);
    expect(cidrContains(vip, address("::ffff:10.10.10.98"))).to.equal(false);
    expect(cidrContains(cidr("fd00:10::100/64"), address("fd00:10::98"))).to.equal(true);
    expect(parseCidr("10.10.10.100")).to.match(/has no prefix length/);
    expect(parseCidr("10.10.10.100/")).to.match(/prefix length must be an integer from 0 to 32/);
    expect(parseCidr("fd00::1/129")).to.match(/from 0 to 128/);
    expect(parseCidr("10/8")).to.equal("is not a CIDR: its address is not an IPv4 or IPv6 address");
  });

  it("knows an IPv4 subnet's network and broadcast addresses", () => {
    expect(reservedInSubnet(cidr("10.10.10.0/24"))).to.equal(
      "the network address of 10.10.10.0/24",
    );
    expect(reservedInSubnet(cidr("10.10.10.127/25"))).to.equal(
      "the broadcast address of 10.10.10.0/25",
    );
    expect(reservedInSubnet(cidr("10.10.10.100/24"))).to.equal(undefined);
    // /31 and /32 have no network or broadcast address (RFC 3021).
    expect(reservedInSubnet(cidr("10.10.10.0/31"))).to.equal(undefined);
  });
});
