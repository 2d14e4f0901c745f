import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import * as config from "../components/cluster/validate";
import { ConfigError } from "../components/config/errors";
import {
  SECRET_KEYS as SECRET_STACK_KEYS,
  STACK_KEYS,
  StackKey,
  keySpec,
} from "../components/config/keys";
import { StackConfig } from "../harness/program/mocks";
import { REPO_ROOT, loadStackConfig, withPinnedHostKeys } from "../harness/program/stacks";

const asRaw = (c: StackConfig) =>
  Object.fromEntries(Object.entries(c).map(([k, v]) => [k.split(":")[1], v]));
import { shellcheck } from "../harness/program/scripts";

interface ProjectFile {
  name: string;
  config: Record<string, { type: string; default?: unknown; description: string }>;
}
const project = parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as ProjectFile;

/** Every key the program reads, as index.ts lists them (RawClusterConfig) plus the secrets. */
const SECRET_KEYS: string[] = SECRET_STACK_KEYS;

describe("Pulumi.yaml", () => {
  it("declares every scalar key of the key table, as the table has it, and nothing else", () => {
    expect(project.name).to.equal("k3s-ha");
    const scalars = (Object.keys(STACK_KEYS) as StackKey[]).filter((k) =>
      ["string", "integer", "boolean"].includes(keySpec(k).type),
    );
    expect(Object.keys(project.config).sort()).to.deep.equal([...scalars].sort());
    for (const key of scalars) {
      const spec = keySpec(key) as { type: string; default?: unknown; description: string };
      const decl = project.config[key];
      expect(decl.type, key).to.equal(spec.type);
      expect(decl.description, key).to.equal(spec.description);
      // Required keys have no default: the CLI refuses a stack that lacks them.
      if (spec.default === undefined) expect(decl, key).to.not.have.property("default");
      else expect(decl.default, key).to.equal(spec.default);
    }
    expect(project.config.k3sVersion).to.not.have.property("default");
    expect(project.config.lbKind).to.not.have.property("default");
  });
});

describe("the program's entry", () => {
  it("is index.ts for Pulumi (Pulumi.yaml main), while package.json's main is the built library", () => {
    expect((project as unknown as { main: string }).main).to.equal("index.ts");
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
      main: string;
      types: string;
      exports: Record<string, unknown>;
    };
    expect(pkg.main).to.equal("bin/components/index.js");
    expect(pkg.types).to.equal("bin/components/index.d.ts");
    expect(pkg.exports["."]).to.deep.equal({
      types: "./bin/components/index.d.ts",
      default: "./bin/components/index.js",
    });
  });
});

describe("the example stack files", () => {
  for (const stack of ["dev", "staging"]) {
    it(`Pulumi.${stack}.yaml uses only keys the program reads, and validates`, () => {
      const stackConfig = loadStackConfig(stack);
      const raw: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(stackConfig)) {
        const [namespace, name] = key.split(":");
        expect(namespace, key).to.equal("k3s-ha");
        expect(SECRET_KEYS, key).to.not.include(name); // secrets belong encrypted, not in examples
        raw[name] = value;
      }
      // The examples pin no host key (the user pins their own hosts' keys): that is all that is missing.
      let problems: string[] = [];
      try {
        config.validateClusterConfig(raw);
      } catch (e) {
        problems = (e as ConfigError).problems;
      }
      const hosts = ["servers", "agents", "lbHosts"].flatMap(
        (list) => (stackConfig[`k3s-ha:${list}`] as object[] | undefined) ?? [],
      );
      // One problem naming every host.
      expect(problems).to.have.length(1);
      expect(problems[0]).to.match(new RegExp(`^hostKey: missing for ${hosts.length} hosts \\(`));
      const validated = config.validateClusterConfig(asRaw(withPinnedHostKeys(stackConfig)));
      expect(validated.servers).to.have.length(3);
      expect(validated.agents).to.have.length(3);
      expect(validated.k3s.version).to.equal("v1.27.3+k3s1");
    });
  }

  it("dev reproduces the page's HAProxy topology exactly", () => {
    const dev = config.validateClusterConfig(asRaw(withPinnedHostKeys(loadStackConfig("dev"))));
    expect(dev.servers.map((s) => [s.name, s.address])).to.deep.equal([
      ["server-1", "10.10.10.50"],
      ["server-2", "10.10.10.51"],
      ["server-3", "10.10.10.52"],
    ]);
    expect(dev.agents.map((s) => s.address)).to.deep.equal([
      "10.10.10.101",
      "10.10.10.102",
      "10.10.10.103",
    ]);
    const lb = dev.loadBalancer;
    if (lb.kind !== "haproxy") throw new Error("dev must use haproxy");
    expect([lb.vip, lb.vipPrefixLength, lb.interface, lb.virtualRouterId]).to.deep.equal([
      "10.10.10.100",
      24,
      "eth1",
      51,
    ]);
    expect(lb.hosts.map((h) => [h.name, h.address, h.priority])).to.deep.equal([
      ["lb-1", "10.10.10.98", 200],
      ["lb-2", "10.10.10.99", 100],
    ]);
  });
});

// scripts/*.sh source scripts/lib/pulumi-env.sh: test/tooling/up-script.test.ts runs shellcheck -x on them.
describe("the repository's own shell scripts", () => {
  for (const file of [".ci/run"]) {
    it(`${file} passes shellcheck`, () => {
      const text = fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
      const r = shellcheck(text.replace(/^#!.*\n/, "#!/usr/bin/env bash\n"));
      expect(r.output).to.equal("");
    });
  }
});
