import { expect } from "chai";
import { rawConfigFrom } from "../components/cluster/stackConfig";

describe("rawConfigFrom", () => {
  it("keeps strings as written and parses structure, numbers and booleans", () => {
    const raw = rawConfigFrom({
      "k3s-ha:k3sVersion": "v1.27.3+k3s1",
      "k3s-ha:sshUser": "1000",
      "k3s-ha:sshPort": "2222",
      "k3s-ha:vrrpUnicast": "true",
      "k3s-ha:servers": '[{"name":"server-1","address":"10.0.0.1"}]',
      "k3s-ha:installMirror": "",
    });
    expect(raw).to.deep.equal({
      k3sVersion: "v1.27.3+k3s1",
      sshUser: "1000",
      sshPort: 2222,
      vrrpUnicast: true,
      servers: [{ name: "server-1", address: "10.0.0.1" }],
    });
  });

  it("leaves out secrets and other projects' keys, and keeps unknown keys for validation", () => {
    const raw = rawConfigFrom({
      "k3s-ha:token": "secret-value",
      "k3s-ha:agentToken": "secret-value",
      "k3s-ha:sshPrivateKey": "secret-value",
      "aws:region": "eu-central-1",
      "k3s-ha:vrrpIntreface": "eth1",
    });
    expect(raw).to.deep.equal({ vrrpIntreface: "eth1" });
  });

  it("hands a malformed structured value to validation as the text it was", () => {
    expect(rawConfigFrom({ "k3s-ha:sshPort": "22x" })).to.deep.equal({ sshPort: "22x" });
  });
});
