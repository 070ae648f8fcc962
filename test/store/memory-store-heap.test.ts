import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("MemoryStore and V8's heap", () => {
  it("keeps 150,000 ended sagas, every one readable, in a process whose heap is capped at 64 MB", () => {
    // Kept in V8's heap, as one packed array each (1.1 KB a saga), these sagas took the process
    // past the cap: it aborted with "JavaScript heap out of memory" (measured on the store before
    // it archived them outside the heap).
    const count = 150_000;
    const run = spawnSync(process.execPath, ["--max-old-space-size=64", "--import", "tsx", "test/fixtures/many-ended-sagas.ts", String(count)], {
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const found = JSON.parse(run.stdout.trim()) as { completed: number; sampleOutputs: unknown[]; sampleHistory: string[]; newest: string[] };
    const n = count / 2;
    expect(found.completed).toBe(count);
    expect(found.sampleOutputs).toEqual([{ reserved: n }, { charged: 2 * n }, { shipped: 3 * n }]);
    expect(found.sampleHistory[0]).toBe("saga_started");
    expect(found.sampleHistory[found.sampleHistory.length - 1]).toBe("saga_ended");
    expect(found.newest).toHaveLength(3);
  }, 150_000);
});
