import { describe, expect, it } from "vitest";
import { fixedRun } from "../../bench/fixed-run.js";

describe("the fixed run counted under valgrind", () => {
  it("runs exactly the sagas asked for to their end, on the memory store and the null store, with fewer or more than the concurrency", async () => {
    expect(await fixedRun("memory", 8, 50)).toBe(50);
    expect(await fixedRun("null", 16, 5)).toBe(5);
    expect(await fixedRun("null", 1, 3)).toBe(3);
  });
});
