import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InPlaceMap } from "../../src/collections/in-place-map.js";

type Op = { kind: "set"; key: string; value: number } | { kind: "delete"; key: string } | { kind: "get"; key: string };

// Few distinct short keys, so that keys set again, deleted and set back, and slots freed and
// taken again, are all common.
const key = fc.string({ minLength: 0, maxLength: 3, unit: fc.constantFrom("a", "b", "c", "d", "é", "😀") });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), key, value: fc.integer() }),
  fc.record({ kind: fc.constant("delete" as const), key }),
  fc.record({ kind: fc.constant("get" as const), key }),
);

describe("InPlaceMap", () => {
  it("answers get, has, set, delete, size and entries as a Map does, whatever the operations", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.array(op, { maxLength: 300 }), (expectedSize, ops) => {
        const map = new InPlaceMap<number>(expectedSize);
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === "set") {
            expect(map.set(o.key, o.value)).toBe(map);
            model.set(o.key, o.value);
          } else if (o.kind === "delete") {
            expect(map.delete(o.key)).toBe(model.delete(o.key));
          } else {
            expect(map.get(o.key)).toBe(model.get(o.key));
          }
          expect(map.has(o.key)).toBe(model.has(o.key));
          expect(map.size).toBe(model.size);
        }
        // Every key is still found after the deletions moved entries around.
        for (const [k, v] of model) expect(map.get(k)).toBe(v);
        expect(new Map(map.entries())).toEqual(model);
        expect([...map.values()].sort()).toEqual([...model.values()].sort());
      }),
      { numRuns: 500 },
    );
  });

  it("keeps finding every held key through long churn at a steady size, as a worker's slots churn", () => {
    const map = new InPlaceMap<number>(64);
    const held: string[] = [];
    let next = 0;
    for (let round = 0; round < 20_000; round++) {
      if (held.length < 64) {
        const id = `saga-${next++}`;
        map.set(id, next);
        held.push(id);
      } else {
        const [gone] = held.splice((round * 7919) % held.length, 1);
        expect(map.delete(gone as string)).toBe(true);
        expect(map.has(gone as string)).toBe(false);
      }
    }
    expect(map.size).toBe(held.length);
    for (const id of held) expect(map.get(id)).toBe(Number(id.slice(5)) + 1);
  });

  it("lets go of a deleted entry's value, so the collector can free it", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const map = new InPlaceMap<object>();
    let ref: WeakRef<object> | undefined;
    (() => {
      const value = { payload: new Array(1000).fill("x") };
      ref = new WeakRef(value);
      map.set("only", value);
      map.set("other", {});
    })();
    expect(map.delete("only")).toBe(true);
    // A WeakRef's target is kept until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(ref?.deref()).toBeUndefined();
    expect(map.size).toBe(1);
  });
});
