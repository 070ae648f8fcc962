import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareIds } from "../../src/store/list-cursor.js";

describe("compareIds", () => {
  it("orders any two strings as their UTF-8 bytes do (SQLite's BINARY collation), surrogates included", () => {
    const id = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom("a", "ab", "\u{e000}", "\u{10000}", "\u{ffff}", "z\u{1f600}"));
    fc.assert(
      fc.property(id, id, (a, b) => {
        expect(Math.sign(compareIds(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))));
      }),
      { numRuns: 2000 },
    );
  });
});
