import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arrayLiteral } from "../../src/store/postgres/array-literal.js";
import { postgresUrl, withClient } from "../support/postgres.js";

const AWKWARD = ["", "NULL", "null", "a,b", "{x}", 'say "hi"', "back\\slash", "\\\"", " spaced ", "ü → ✓", "tab\there", "line\nbreak"];

describe("PostgreSQL array literals for group commits", () => {
  it("writes integers bare, text quoted and escaped, and null as NULL", () => {
    expect(arrayLiteral([1, -2, 1_796_059_483_455, null])).toBe("{1,-2,1796059483455,NULL}");
    expect(arrayLiteral(["a", 'q"uote', "b\\s", null])).toBe('{"a","q\\"uote","b\\\\s",NULL}');
    expect(arrayLiteral([])).toBe("{}");
  });

  it("refuses what a batch column never holds, rather than sending something else", () => {
    expect(() => arrayLiteral([1.5])).toThrow(RangeError);
    expect(() => arrayLiteral([Number.NaN])).toThrow(/not a safe integer/);
    expect(() => arrayLiteral([true])).toThrow(/boolean/);
    expect(() => arrayLiteral([{}])).toThrow(TypeError);
  });

  it("reads back on the server as the same text[] and bigint[] values", async () => {
    await withClient(postgresUrl(), async (client) => {
      const text = (await client.query<{ v: Array<string | null> }>("SELECT $1::text[] AS v", [arrayLiteral([...AWKWARD, null])])).rows[0]?.v;
      expect(text).toEqual([...AWKWARD, null]);
      const numbers = [0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, null];
      const bigints = (await client.query<{ v: Array<string | null> }>("SELECT $1::bigint[] AS v", [arrayLiteral(numbers)])).rows[0]?.v;
      expect(bigints).toEqual(numbers.map((n) => (n === null ? null : String(n))));
      // Any text at all (PostgreSQL's text holds every character but NUL).
      await fc.assert(
        fc.asyncProperty(fc.array(fc.option(fc.string({ unit: "grapheme" }).filter((s) => !s.includes("\u0000")), { nil: null }), { maxLength: 8 }), async (values) => {
          const read = (await client.query<{ v: Array<string | null> }>("SELECT $1::text[] AS v", [arrayLiteral(values)])).rows[0]?.v;
          expect(read).toEqual(values);
        }),
        { numRuns: 200 },
      );
    });
  });
});
