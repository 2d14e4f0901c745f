/** The stand-in kubectl's jsonpath subset, on the templates the program's scripts use. */
import { expect } from "chai";
import { jsonpath } from "../../harness/e2e/stand-in/jsonpath";

const node = (name: string, ready: string, annotations: Record<string, string> = {}) => ({
  metadata: { name, labels: { "node-role.kubernetes.io/etcd": "true" }, annotations },
  status: {
    conditions: [{ type: "Ready", status: ready }],
    nodeInfo: { kubeletVersion: "v1.27.3+k3s1" },
  },
});

describe("e2e stand-in: kubectl jsonpath subset", function () {
  it("reads a filtered condition, a nested field and an annotation with escaped dots", function () {
    const n = node("server-1", "True", { "etcd.k3s.cattle.io/removed-node-name": "server-1" });
    expect(jsonpath('{.status.conditions[?(@.type=="Ready")].status}', n)).to.equal("True");
    expect(jsonpath("{.status.nodeInfo.kubeletVersion}", n)).to.equal("v1.27.3+k3s1");
    expect(
      jsonpath("{.metadata.annotations.etcd\\.k3s\\.cattle\\.io/removed-node-name}", n),
    ).to.equal("server-1");
    expect(jsonpath("{.metadata.annotations.k3s-ha/drained-for-upgrade}", n)).to.equal("");
  });

  it("renders a range over items with literals", function () {
    const list = { items: [node("server-1", "True"), node("server-2", "False")] };
    const template =
      '{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}';
    expect(jsonpath(template, list)).to.equal("server-1=True\nserver-2=False\n");
  });

  it("refuses syntax it does not implement instead of misreading it", function () {
    expect(() => jsonpath("{.items[?(@.x>1)]}", {})).to.throw("unsupported jsonpath expression");
    expect(() => jsonpath("{range .items[*]}{.a}", {})).to.throw("unclosed {range}");
  });
});
