import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newSagaId } from "../../src/index.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The 48-bit millisecond timestamp an id begins with. */
const timeOf = (id: string): number => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe("newSagaId", () => {
  it("makes RFC 9562 version-7 UUIDs stamped with the time they were made", () => {
    const before = Date.now();
    const id = newSagaId();
    expect(id).toMatch(UUID_V7);
    expect(timeOf(id)).toBeGreaterThanOrEqual(before);
    expect(timeOf(id)).toBeLessThanOrEqual(Date.now() + 1);
  });

  it("orders the ids one process makes as they were made, whatever the clock reads", () => {
    // Earlier cases' ids are in `previous` too: order holds across every call, not only within one run.
    let previous = newSagaId();
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 47 }), { minLength: 1, maxLength: 50 }), (clockReadings) => {
        for (const nowMs of clockReadings) {
          const id = newSagaId(nowMs);
          expect(id).toMatch(UUID_V7);
          expect(id > previous).toBe(true);
          // Never stamped before the clock's reading; a clock that stepped back keeps the later time.
          expect(timeOf(id)).toBeGreaterThanOrEqual(Math.min(nowMs, timeOf(previous)));
          expect(timeOf(id)).toBeGreaterThanOrEqual(timeOf(previous));
          previous = id;
        }
      }),
    );
  });

  it("takes a newer clock reading as its timestamp, and counts on within one millisecond", () => {
    const ms = 2 ** 47 + 1_000;
    const first = newSagaId(ms);
    expect(timeOf(first)).toBe(ms);
    const ids = Array.from({ length: 5_000 }, () => newSagaId(ms));
    expect([first, ...ids].every((id, i, all) => i === 0 || id > (all[i - 1] as string))).toBe(true);
    // 4,096 counter values at most: the rest borrow the next millisecond rather than break the order.
    expect(ids.filter((id) => timeOf(id) === ms).length).toBeLessThan(4_096);
    expect(timeOf(ids.at(-1) as string)).toBe(ms + 1);
    expect(timeOf(newSagaId(ms + 10))).toBe(ms + 10);
  });

  it("draws the other 62 bits at random", () => {
    const tails = new Set(Array.from({ length: 1_000 }, () => newSagaId(2 ** 47 + 5_000).slice(19)));
    expect(tails.size).toBe(1_000);
  });
});
