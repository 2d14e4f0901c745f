import { expect } from "chai";
import {
  kubeletLabelProblem,
  labelKeyProblem,
  labelValueProblem,
  parseTaint,
} from "../../components/k3s/kubernetes";
import { dnsLabelProblem, dnsSubdomainProblem } from "../../components/config/dnsNames";

describe("validate/kubernetes", () => {
  it("accepts RFC 1123 labels up to 63 characters and rejects the rest", () => {
    for (const ok of ["a", "server-1", "0lb", "a".repeat(63)]) {
      expect(dnsLabelProblem(ok), ok).to.equal(undefined);
    }
    expect(dnsLabelProblem("a".repeat(64))).to.equal("is 64 characters long (at most 63)");
    expect(dnsLabelProblem("lb.1")).to.equal(
      'contains "." (only lowercase letters, digits and "-")',
    );
    expect(dnsLabelProblem("lb-")).to.equal("must start and end with a lowercase letter or digit");
    expect(dnsLabelProblem("")).to.equal("must start and end with a lowercase letter or digit");
  });

  it("checks DNS subdomains label by label", () => {
    expect(dnsSubdomainProblem("example.com")).to.equal(undefined);
    expect(dnsSubdomainProblem("example..com")).to.match(/dot-separated labels/);
    expect(dnsSubdomainProblem(`${"a".repeat(63)}.`.repeat(4) + "b")).to.equal(
      "is 257 characters long (at most 253)",
    );
  });

  it("checks label keys the way apimachinery's IsQualifiedName does", () => {
    for (const ok of ["app", "app.kubernetes.io/name", "example.com/gpu_type", "A-b.c_D"]) {
      expect(labelKeyProblem(ok), ok).to.equal(undefined);
    }
    expect(labelKeyProblem("a/b/c")).to.equal('has more than one "/"');
    expect(labelKeyProblem("/name")).to.equal('has an empty prefix before "/"');
    expect(labelKeyProblem("example.com/")).to.equal("has an empty name");
    expect(labelKeyProblem("_app")).to.equal("name must start and end with a letter or digit");
    expect(labelKeyProblem("Example.com/x")).to.equal(
      'prefix contains "E" (only lowercase letters, digits, "-" and ".")',
    );
  });

  it("allows empty label values and checks the rest", () => {
    expect(labelValueProblem("")).to.equal(undefined);
    expect(labelValueProblem("v1.2_3-x")).to.equal(undefined);
    expect(labelValueProblem("a/b")).to.equal(
      'contains "/" (only letters, digits, "-", "_" and ".")',
    );
    expect(labelValueProblem("v".repeat(64))).to.equal("is 64 characters long (at most 63)");
  });

  it("flags the kubernetes.io labels kubelet refuses to self-assign, and only those", () => {
    for (const refused of [
      "node-role.kubernetes.io/worker",
      "kubernetes.io/role",
      "app.kubernetes.io/name",
      "k8s.io/x",
      "foo.k8s.io/x",
    ]) {
      expect(kubeletLabelProblem(refused), refused).to.be.a("string");
    }
    for (const allowed of [
      "node.kubernetes.io/pool",
      "pool.node.kubernetes.io/x",
      "kubelet.kubernetes.io/x",
      "topology.kubernetes.io/zone",
      "kubernetes.io/hostname",
      "node.kubernetes.io/instance-type",
      "example.com/kubernetes.io",
      "tier",
    ]) {
      expect(kubeletLabelProblem(allowed), allowed).to.equal(undefined);
    }
  });

  it("parses taints with and without a value", () => {
    expect(parseTaint("dedicated=gpu:NoSchedule")).to.deep.equal({
      key: "dedicated",
      value: "gpu",
      effect: "NoSchedule",
    });
    expect(parseTaint("example.com/spot:PreferNoSchedule")).to.deep.equal({
      key: "example.com/spot",
      effect: "PreferNoSchedule",
    });
    expect(parseTaint("k=:NoExecute")).to.deep.equal({ key: "k", value: "", effect: "NoExecute" });
    expect(parseTaint("k=v=w:NoSchedule")).to.equal(
      'value contains "=" (only letters, digits, "-", "_" and ".")',
    );
    expect(parseTaint("k:noschedule")).to.equal(
      "has an effect that is not one of NoSchedule, PreferNoSchedule, NoExecute",
    );
  });
});
