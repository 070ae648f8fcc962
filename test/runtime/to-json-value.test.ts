import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NotSerializableError } from "../../src/errors.js";
import { toJsonValue } from "../../src/runtime/normalize-error.js";

/** What a JSON round trip keeps of `value`, or the error it throws; undefined when JSON has no text for it. */
function roundTrip(value: unknown): { kept: unknown } | { threw: true } | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return { threw: true };
  }
  return text === undefined ? undefined : { kept: JSON.parse(text) as unknown };
}

describe("toJsonValue", () => {
  it("keeps exactly what a JSON round trip keeps, for any value", () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withBoxedValues: true }), (value) => {
        const expected = value === undefined ? { kept: null } : roundTrip(value);
        if (expected === undefined || "threw" in expected) {
          expect(() => toJsonValue(value, () => "the value")).toThrow(NotSerializableError);
          return;
        }
        expect(toJsonValue(value, () => "the value")).toStrictEqual(expected.kept);
      }),
      { numRuns: 2000 },
    );
  });

  it("returns a copy: changing the original afterwards changes nothing kept", () => {
    const original = { order: { items: [{ sku: "a", qty: 1 }] }, note: "x" };
    const kept = toJsonValue(original, () => "the value");
    original.order.items[0]!.qty = 99;
    original.note = "changed";
    expect(kept).toEqual({ order: { items: [{ sku: "a", qty: 1 }] }, note: "x" });
  });

  it("copies an object's own members only, as JSON does, even when a library made a member of Object.prototype enumerable", () => {
    Object.defineProperty(Object.prototype, "inheritedByAll", { value: 1, enumerable: true, configurable: true, writable: true });
    try {
      const kept = toJsonValue({ own: 1, nested: { deep: [2] } }, () => "v");
      expect(kept).toStrictEqual(JSON.parse(JSON.stringify({ own: 1, nested: { deep: [2] } })));
      expect(Object.keys(kept as object)).toEqual(["own", "nested"]);
    } finally {
      delete (Object.prototype as { inheritedByAll?: number }).inheritedByAll;
    }
  });

  it("follows JSON for what plain data does not cover: toJSON, -0, non-finite numbers, __proto__ keys, cycles", () => {
    expect(toJsonValue({ at: new Date(0) }, () => "v")).toEqual({ at: "1970-01-01T00:00:00.000Z" });
    expect(Object.is(toJsonValue(-0, () => "v"), 0)).toBe(true);
    expect(toJsonValue([1, Number.NaN, Number.POSITIVE_INFINITY], () => "v")).toEqual([1, null, null]);
    const tricky = JSON.parse('{"__proto__": {"polluted": true}}') as object;
    const kept = toJsonValue(tricky, () => "v") as Record<string, unknown>;
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
    expect(Object.keys(kept)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => toJsonValue(cyclic, () => "output of step s")).toThrow(/output of step s/);
    expect(() => toJsonValue({ n: 1n }, () => "saga input")).toThrow(NotSerializableError);
  });
});
