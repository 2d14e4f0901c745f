/**
 * Under mocks: the `registries`, `registryCredentials`, `proxy` and `k3sReleasesUrl` settings. What
 * lands on which host, what an edit re-runs (files everywhere at once, the installs one server at
 * a time, then the agents), that credentials stay secret, and the problems bad values get.
 */
import { expect } from "chai";
import { ConfigError } from "../../components/config/errors";
import { RawClusterConfig } from "../../components/config/keys";
import { validateClusterConfig } from "../../components/cluster/validate";
import { K3S_REGISTRIES_PATH } from "../../components/k3s/registries";
import { dependsOn } from "../../harness/program/graph";
import { ProgramRun, isSecretValue, reveal, runProgram } from "../../harness/program/mocks";
import { step } from "../../harness/program/queries";
import { unwrapCommandLine } from "../../harness/program/scripts";
import { loadStackConfig, withPinnedHostKeys } from "../../harness/program/stacks";
import { SECRET_KEYS, devStack, diffRuns } from "./runs";

const SERVERS = ["server-1", "server-2", "server-3"];
const AGENTS = ["agent-1", "agent-2", "agent-3"];
const NODES = [...SERVERS, ...AGENTS];
const REGISTRIES = {
  mirrors: { "docker.io": { endpoint: ["https://registry.example.com:5000"] } },
  configs: { "registry.example.com:5000": { tls: { ca_file: "/etc/ssl/registry-ca.pem" } } },
};
const CREDENTIALS = "registry.example.com:5000:\n  username: puller\n  password: s3cret-pull-pw\n";
const PROXY = {
  httpProxy: "http://proxy.example.com:3128",
  httpsProxy: "http://proxy.example.com:3128",
  noProxy: ["10.10.10.0/24", ".example.com"],
};
const script = (run: ProgramRun, name: string) =>
  unwrapCommandLine(reveal(step(run, name).inputs.create) as string);
const param = (text: string, name: string) =>
  new RegExp(`^${name}='([^']*)'$`, "m").exec(text)?.[1];

type Raw = RawClusterConfig & Record<string, unknown>;
function dev(more: Record<string, unknown>): Raw {
  const config = withPinnedHostKeys(loadStackConfig("dev"));
  return {
    ...Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/^k3s-ha:/, ""), v])),
    ...more,
  };
}
function problemsOf(raw: Raw, secrets = {}): string[] {
  try {
    validateClusterConfig(raw, secrets);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}
function warningsOf(raw: Raw): string[] {
  return validateClusterConfig(raw).warnings;
}

describe("registries, proxy and the release mirror", function () {
  this.timeout(180_000);
  let baseline: ProgramRun;
  let withBoth: ProgramRun;
  const secretKeys = [...SECRET_KEYS, "k3s-ha:registryCredentials"];
  before(async () => {
    baseline = await runProgram(devStack(), SECRET_KEYS, "day2");
    withBoth = await runProgram(
      devStack({
        "k3s-ha:registries": REGISTRIES,
        "k3s-ha:registryCredentials": CREDENTIALS,
        "k3s-ha:proxy": PROXY,
      }),
      secretKeys,
      "day2",
    );
  });

  it("adding both: a registries file on every node, and the installs re-run; nothing else changes", () => {
    const diff = diffRuns(baseline, withBoth);
    expect(diff.added).to.deep.equal(NODES.map((n) => `${n}-registries`).sort());
    expect(diff.removed).to.deep.equal([]);
    expect(diff.changed).to.deep.equal(NODES.map((n) => `${n}-install`).sort());
  });

  it("registries.yaml: mirrors, TLS and the credentials, as a secret written from stdin", () => {
    for (const node of NODES) {
      const file = step(withBoth, `${node}-registries`);
      expect(isSecretValue(file.inputs.stdin), node).to.equal(true);
      const content = reveal(file.inputs.stdin) as string;
      expect(content).to.contain("https://registry.example.com:5000");
      expect(content).to.contain("ca_file: /etc/ssl/registry-ca.pem");
      expect(content).to.contain("password: s3cret-pull-pw");
      expect(content.split("\n")[0]).to.match(/^# Managed by k3s-ha/);
      expect(script(withBoth, `${node}-registries`)).to.contain(K3S_REGISTRIES_PATH);
      expect(JSON.stringify(file.inputs.create)).to.not.contain("s3cret");
      // The install step learns of a change through a hash on its stdin, not the script.
      expect(JSON.stringify(reveal(step(withBoth, `${node}-install`).inputs))).to.not.contain(
        "s3cret",
      );
    }
  });

  it("without credentials the file is not secret, so a preview shows it", async () => {
    const run = await runProgram(
      devStack({ "k3s-ha:registries": REGISTRIES }),
      SECRET_KEYS,
      "day2",
    );
    const file = step(run, "agent-1-registries");
    expect(isSecretValue(file.inputs.stdin)).to.equal(false);
    expect(script(run, "agent-1-install")).to.contain("registries.yaml sha256:");
  });

  it("the proxy goes to every install step, NO_PROXY with the cluster's networks and domain, but neither the VIP nor a node that noProxy covers", () => {
    for (const node of NODES) {
      const text = script(withBoth, `${node}-install`);
      expect(param(text, "proxy_set"), node).to.equal("true");
      expect(param(text, "proxy_https")).to.equal("http://proxy.example.com:3128");
      expect(param(text, "proxy_none")?.split(",")).to.deep.equal([
        "10.10.10.0/24",
        ".example.com",
        "localhost",
        "127.0.0.1",
        ".svc",
        ".cluster.local",
        "10.42.0.0/16",
        "10.43.0.0/16",
      ]);
      expect(param(text, "registries")).to.equal("true");
    }
  });

  it("the files change on every node at once; the installs restart one server after another, then the agents", () => {
    for (const node of NODES) {
      expect(dependsOn(withBoth, `${node}-install`, `${node}-registries`), node).to.equal(true);
    }
    expect(dependsOn(withBoth, "server-2-install", "server-1-install")).to.equal(true);
    expect(dependsOn(withBoth, "server-3-install", "server-2-install")).to.equal(true);
    for (const a of AGENTS) {
      expect(dependsOn(withBoth, `${a}-install`, "server-3-install"), a).to.equal(true);
    }
  });

  it("adding an agent covered by noProxy changes no other step", async () => {
    const agents = [
      ...(loadStackConfig("dev")["k3s-ha:agents"] as object[]),
      { name: "agent-4", address: "10.10.10.104" },
    ];
    const more = await runProgram(
      devStack({
        "k3s-ha:registries": REGISTRIES,
        "k3s-ha:registryCredentials": CREDENTIALS,
        "k3s-ha:proxy": PROXY,
        "k3s-ha:agents": agents,
      }),
      secretKeys,
      "day2",
    );
    expect(diffRuns(withBoth, more).changed).to.deep.equal([]);
  });

  it("without noProxy covering them, each node address goes into NO_PROXY, with a warning that scaling restarts every node", async () => {
    const raw = dev({ proxy: { httpsProxy: "http://proxy.example.com:3128" } });
    expect(warningsOf(raw).join("\n")).to.contain(
      "proxy.noProxy: does not cover 6 node address(es) (10.10.10.50, 10.10.10.51, 10.10.10.52, ...)",
    );
    expect(warningsOf(raw).join("\n")).to.contain("e.g. 10.10.10.0/24");
    const run = await runProgram(
      devStack({ "k3s-ha:proxy": { httpsProxy: "http://proxy.example.com:3128" } }),
      SECRET_KEYS,
      "day2",
    );
    expect(param(script(run, "agent-1-install"), "proxy_none")).to.contain(
      "10.10.10.100,10.10.10.50,10.10.10.51,10.10.10.52,10.10.10.101",
    );
    expect(param(script(run, "agent-1-install"), "proxy_http")).to.equal("");
  });

  it("noProxyDefaults: false passes noProxy as given", async () => {
    const run = await runProgram(
      devStack({ "k3s-ha:proxy": { ...PROXY, noProxyDefaults: false } }),
      SECRET_KEYS,
      "day2",
    );
    expect(param(script(run, "server-2-install"), "proxy_none")).to.equal(
      "10.10.10.0/24,.example.com",
    );
  });

  it("k3sReleasesUrl goes to every install step as the installer's GITHUB_URL", async () => {
    const run = await runProgram(
      devStack({ "k3s-ha:k3sReleasesUrl": "https://artifacts.example.com/k3s/releases/" }),
      SECRET_KEYS,
      "day2",
    );
    for (const node of NODES) {
      expect(param(script(run, `${node}-install`), "releases_url")).to.equal(
        "https://artifacts.example.com/k3s/releases",
      );
    }
    expect(diffRuns(baseline, run).changed).to.deep.equal(NODES.map((n) => `${n}-install`).sort());
  });

  it("refuses bad values, naming the field, never showing a credential", () => {
    const cases: [Record<string, unknown>, Record<string, string>, string][] = [
      [
        { registries: { mirror: {} } },
        {},
        'registries.mirror: unknown key (did you mean "mirrors"?)',
      ],
      [{ registries: {} }, {}, "registries: has neither mirrors nor configs"],
      [
        { registries: { mirrors: { "docker.io": { endpoint: ["ftp://x"] } } } },
        {},
        'registries.mirrors["docker.io"].endpoint[0]: "ftp://x" is not an http(s) URL',
      ],
      [
        { registries: { mirrors: { "docker.io": { endpoint: ["https://u:p@r.example.com"] } } } },
        {},
        'registries.mirrors["docker.io"].endpoint[0]: must not contain a user name or password',
      ],
      [
        { registries: { mirrors: { "bad host!": { endpoint: [] } } } },
        {},
        'registries.mirrors["bad host!"]: is not a registry name',
      ],
      [
        {
          registries: { configs: { "r.example.com": { auth: { username: "u", password: "p" } } } },
        },
        {},
        'registries.configs["r.example.com"].auth: credentials do not belong in the stack file',
      ],
      [
        { registries: { configs: { "r.example.com": { tls: { ca_file: "ca.pem" } } } } },
        {},
        'registries.configs["r.example.com"].tls.ca_file: "ca.pem" is not an absolute path',
      ],
      [
        { registries: { configs: { "r.example.com": { tls: { cert_file: "/c.pem" } } } } },
        {},
        'registries.configs["r.example.com"].tls: cert_file and key_file go together',
      ],
      [{}, { registryCredentials: "r.example.com: [" }, "registryCredentials: is not valid YAML"],
      [
        {},
        { registryCredentials: "r.example.com:\n  username: u\n" },
        "registryCredentials: r.example.com: expected exactly one of username and password, auth, identity_token (has username)",
      ],
      [{ proxy: { noProxy: [] } }, {}, "proxy: sets neither httpProxy nor httpsProxy"],
      [
        { proxy: { httpsProxy: "http://user:pw@proxy:3128" } },
        {},
        "proxy.httpsProxy: must not contain a user name or password",
      ],
      [
        { proxy: { httpsProxy: "socks5://proxy:1080" } },
        {},
        'proxy.httpsProxy: "socks5://proxy:1080" is not an http(s) URL',
      ],
      [
        { proxy: { httpsProxy: "http://p:3128", noProxy: ["a b"] } },
        {},
        'proxy.noProxy[0]: "a b" contains a space, which is not shell-safe',
      ],
      [
        { proxy: { httpsProxy: "http://p:3128", noProxyDefault: true } },
        {},
        'proxy.noProxyDefault: unknown key (did you mean "noProxyDefaults"?)',
      ],
      [
        { k3sReleasesUrl: "http://mirror.example.com/k3s" },
        {},
        'k3sReleasesUrl: "http://mirror.example.com/k3s" is plain http',
      ],
    ];
    for (const [more, secrets, expected] of cases) {
      const problems = problemsOf(dev(more), secrets);
      expect(problems.join("\n"), expected).to.contain(expected);
      expect(problems.join("\n")).to.not.match(/s3cret|pw@/);
    }
    const secret = problemsOf(dev({}), {
      registryCredentials: "r.example.com:\n  username: u\n  password: [s3cret]\n",
    });
    expect(secret.join("\n")).to.contain(
      "every field must be a non-empty string (value not shown)",
    );
    expect(secret.join("\n")).to.not.contain("s3cret");
  });
});
