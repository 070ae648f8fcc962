import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hashString, RecordTable } from "../../src/store/memory/record-table.js";

/** A table whose "records" are numbers: record n is at chunk 0, offset n, and its string is `#n`. */
function numberTable(): RecordTable {
  return new RecordTable((chunk, offset, text) => chunk === 0 && `#${offset}` === text);
}

describe("RecordTable", () => {
  it("finds exactly the records it holds through inserts and removals, with hashes that collide and wrap past the table's end", () => {
    // Few distinct hashes, all near the end of the first table (1,024 slots): long probe runs that wrap around.
    const hashOf = (n: number): number => 1_020 + (n % 7) + 1_024 * (n % 3);
    type Op = { add: boolean; n: number };
    fc.assert(
      fc.property(fc.array(fc.record({ add: fc.boolean(), n: fc.integer({ min: 0, max: 120 }) }), { minLength: 100, maxLength: 900, size: "max" }), (ops: Op[]) => {
        const table = numberTable();
        const held = new Set<number>();
        for (const { add, n } of ops) {
          const slot = table.find(hashOf(n), `#${n}`);
          expect(slot >= 0).toBe(held.has(n));
          if (add && !held.has(n)) {
            table.insert(hashOf(n), 0, n);
            held.add(n);
          } else if (!add && held.has(n)) {
            expect(table.findRecord(hashOf(n), 0, n)).toBe(slot);
            table.removeAt(slot);
            held.delete(n);
          }
        }
        expect(table.size).toBe(held.size);
        for (let n = 0; n <= 120; n++) {
          const slot = table.find(hashOf(n), `#${n}`);
          expect(slot >= 0).toBe(held.has(n));
          if (slot >= 0) expect([table.chunkAt(slot), table.offsetAt(slot)]).toEqual([0, n]);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("grows past its first size and keeps every record findable", () => {
    const table = numberTable();
    for (let n = 0; n < 5_000; n++) table.insert(hashString(`#${n}`), 0, n);
    expect(table.size).toBe(5_000);
    for (let n = 0; n < 5_000; n++) expect(table.offsetAt(table.find(hashString(`#${n}`), `#${n}`))).toBe(n);
    expect(table.find(hashString("#5000"), "#5000")).toBe(-1);
  });

  it("spreads ids that differ only in their last characters over the table", () => {
    const homes = new Set<number>();
    for (let n = 0; n < 1_000; n++) homes.add(hashString(`order-${String(n).padStart(6, "0")}`) & 1_023);
    // 1,000 random homes in 1,024 slots land on about 632 distinct ones.
    expect(homes.size).toBeGreaterThan(560);
  });
});
