import { describe, expect, it } from "vitest";
import { DiskSettler, sqliteCommitProbe } from "../../bench/disk.js";

/** A settler over scripted probe readings and a clock that only the sleeps move. */
function scripted(readings: number[]): { settler: DiskSettler; probes: () => number; clock: () => number } {
  let clock = 0;
  let probes = 0;
  const settler = new DiskSettler(
    () => {
      const reading = readings[Math.min(probes, readings.length - 1)] as number;
      probes++;
      return reading;
    },
    (ms) => {
      clock += ms;
      return Promise.resolve();
    },
    () => clock,
  );
  return { settler, probes: () => probes, clock: () => clock };
}

describe("DiskSettler", () => {
  it("starts a cell at once when the disk is as fast as the run's best, and keeps the best it saw", async () => {
    const { settler, probes } = scripted([0.2, 0.25, 0.12]);
    expect(await settler.settle(0)).toEqual({ probeMs: 0.2, bestMs: 0.2, waitedMs: 0, settled: true });
    // 0.25 is within 1.5× of 0.2: no wait.
    expect(await settler.settle(10_000)).toMatchObject({ probeMs: 0.25, waitedMs: 0, settled: true });
    expect(await settler.settle(10_000)).toMatchObject({ probeMs: 0.12, bestMs: 0.12, settled: true });
    expect(probes()).toBe(3);
  });

  it("waits, probing every half second, until the disk is back within the margin of the best", async () => {
    const { settler, clock } = scripted([0.15, 0.5, 0.4, 0.3, 0.2]);
    await settler.settle(0);
    const found = await settler.settle(10_000);
    // 0.2 ≤ 1.5 × 0.15; 0.3 was not.
    expect(found).toEqual({ probeMs: 0.2, bestMs: 0.15, waitedMs: 1_500, settled: true });
    expect(clock()).toBe(1_500);
  });

  it("gives up when the limit runs out, saying the cell starts on a slow disk", async () => {
    const { settler, probes } = scripted([0.1, 0.9]);
    await settler.settle(0);
    const found = await settler.settle(2_000);
    // Probed at 0, 0.5, 1, 1.5 and 2 s: the last one the limit allows.
    expect(found).toEqual({ probeMs: 0.9, bestMs: 0.1, waitedMs: 2_000, settled: false });
    expect(probes()).toBe(1 + 5);
  });

  it("probes real durable commits: a positive median, file deleted on close", () => {
    const { probe, close } = sqliteCommitProbe();
    try {
      const median = probe();
      expect(median).toBeGreaterThan(0);
      expect(median).toBeLessThan(1_000);
    } finally {
      close();
    }
  });
});
