/**
 * Property values and paths as the engine compares and resets them
 * (sdk/go/common/resource/properties_diff.go, properties_path.go).
 */
import { expect } from "chai";
import { formatPath, parsePath, pathContains, resetPath } from "../../harness/engine/paths";
import {
  UNKNOWN,
  deepEquals,
  detailedDiffOf,
  diffMaps,
  mapsEqual,
} from "../../harness/engine/values";

describe("engine model: property values (properties_diff.go)", function () {
  it("a secret equals only a secret with an equal value; secret vs plain of equal value differ", function () {
    expect(deepEquals({ secret: "x" }, { secret: "x" })).to.equal(true);
    expect(deepEquals({ secret: "x" }, { secret: "y" })).to.equal(false);
    expect(deepEquals({ secret: "x" }, "x")).to.equal(false);
    expect(deepEquals("x", { secret: "x" })).to.equal(false);
  });

  it("an unknown differs from every known value and equals an unknown", function () {
    expect(deepEquals(UNKNOWN, "x")).to.equal(false);
    expect(deepEquals("x", UNKNOWN)).to.equal(false);
    expect(deepEquals(UNKNOWN, UNKNOWN)).to.equal(true);
  });

  it("null and absent keys are the same; arrays compare element by element and by length", function () {
    expect(mapsEqual({ a: null }, {})).to.equal(true);
    expect(mapsEqual({}, { a: null })).to.equal(true);
    expect(deepEquals([1, 2], [1, 2])).to.equal(true);
    expect(deepEquals([1, 2], [1])).to.equal(false);
    expect(diffMaps({ a: null }, {})).to.equal(undefined);
  });

  it("the detailed diff goes down to array elements and object keys, but not into a secret", function () {
    const d = diffMaps(
      { triggers: ["a", "b"], connection: { secret: { host: "h1" } }, o: { p: 1, q: 1 }, gone: 1 },
      {
        triggers: ["a", "c", "d"],
        connection: { secret: { host: "h2" } },
        o: { p: 2, q: 1 },
        added: 1,
      },
    );
    expect(detailedDiffOf(d)).to.deep.equal({
      "triggers[1]": "update",
      "triggers[2]": "add",
      connection: "update",
      "o.p": "update",
      gone: "delete",
      added: "add",
    });
  });

  it("a key set from nothing to a value is an add, from a value to null a delete", function () {
    expect(detailedDiffOf(diffMaps({ a: null, b: 1 }, { a: 1, b: null }))).to.deep.equal({
      a: "add",
      b: "delete",
    });
  });
});

describe("engine model: property paths (properties_path.go)", function () {
  it("parses and prints paths as the engine does", function () {
    expect(parsePath("triggers[*]")).to.deep.equal(["triggers", "*"]);
    expect(parsePath('f.g["h"]')).to.deep.equal(["f", "g", "h"]);
    expect(parsePath('a["x.y"][2].b')).to.deep.equal(["a", "x.y", 2, "b"]);
    expect(formatPath(["triggers", 0])).to.equal("triggers[0]");
    expect(formatPath(["a", "x.y", "b"])).to.equal('a["x.y"].b');
  });

  it("Contains: `triggers[*]` covers every element but not `triggers` itself", function () {
    expect(pathContains(parsePath("triggers[*]"), parsePath("triggers[3]"))).to.equal(true);
    expect(pathContains(parsePath("triggers[*]"), parsePath("triggers"))).to.equal(false);
    expect(pathContains(parsePath("triggers"), parsePath("triggers[3]"))).to.equal(true);
    expect(pathContains(parsePath("stdin"), parsePath("stdout"))).to.equal(false);
  });

  it("Reset puts the old value back, removes a key the old inputs lack, keeps old secrets secret", function () {
    const news: Record<string, unknown> = { triggers: ["new"], create: "x" };
    expect(resetPath(["triggers"], { triggers: ["old"] }, news)).to.equal(true);
    expect(news.triggers).to.deep.equal(["old"]);

    const lacking: Record<string, unknown> = { triggers: ["new"] };
    expect(resetPath(["triggers"], {}, lacking)).to.equal(true);
    expect(lacking).to.deep.equal({});

    const missing: Record<string, unknown> = { create: "x" };
    expect(resetPath(["triggers"], { triggers: ["old"] }, missing)).to.equal(true);
    expect(missing.triggers).to.deep.equal(["old"]);

    const inSecret: Record<string, unknown> = { c: { secret: { host: "new" } } };
    expect(resetPath(["c", "host"], { c: { secret: { host: "old" } } }, inSecret)).to.equal(true);
    expect(inSecret.c).to.deep.equal({ secret: { host: "old" } });

    const plainNew: Record<string, unknown> = { c: { host: "new" } };
    expect(resetPath(["c", "host"], { c: { secret: { host: "old" } } }, plainNew)).to.equal(true);
    expect(plainNew.c).to.deep.equal({ host: { secret: "old" } });
  });

  it("Reset fails on an element added to or removed from an array", function () {
    expect(resetPath(["e", 0], { e: [] }, { e: [1] })).to.equal(false);
    expect(resetPath(["e", 1], { e: [1, 2] }, { e: [1] })).to.equal(false);
    expect(resetPath(["e", 3], { e: [1] }, { e: [2] })).to.equal(true);
  });
});
