// The GC meter counts what the heap allocated across collections, not just the growth between
// two readings (which a collection in between would hide).
import { describe, expect, it } from "vitest";
import { GcMeter } from "../../bench/gc.js";

const MiB = 1024 * 1024;

describe("GcMeter", () => {
  it("counts short-lived garbage that collections freed along the way, and their pauses", () => {
    const meter = new GcMeter();
    meter.start();
    let kept = 0;
    // 256 MiB of arrays of 16 KiB that die at once: far more than the young generation holds, so
    // the collector runs many times while they are made.
    for (let i = 0; i < 16_384; i++) kept += new Array<number>(2048).fill(i).length;
    const figures = meter.stop();
    expect(kept).toBe(16_384 * 2048);
    expect(figures).not.toBeNull();
    expect(figures?.allocatedBytes).toBeGreaterThanOrEqual(256 * MiB);
    expect(figures?.allocatedBytes).toBeLessThan(512 * MiB);
    expect(figures?.pauseMs).toBeGreaterThan(0);
    expect(figures?.pauseMs).toBeLessThanOrEqual(figures?.spanMs ?? 0);
  });

  it("sets each pause against the span it fell in, so a short stretch with a collection is never more than all pause", () => {
    // Windows of a few hundred microseconds, each allocating enough that some of them collect:
    // the share of such a window was once taken against the caller's shorter clock and read 1.5.
    const meter = new GcMeter();
    let withPause = 0;
    for (let i = 0; i < 400; i++) {
      meter.start();
      const garbage = Array.from({ length: 1024 }, (_, k) => ({ k, text: `saga-${i}-${k}` }));
      const figures = meter.stop();
      expect(garbage).toHaveLength(1024);
      if (figures === null) throw new Error("the meter was started");
      expect(figures.pauseShare).toBeGreaterThanOrEqual(0);
      expect(figures.pauseShare).toBeLessThanOrEqual(1);
      expect(figures.pauseShare).toBeCloseTo(figures.pauseMs / figures.spanMs);
      if (figures.pauseMs > 0) withPause++;
    }
    expect(withPause).toBeGreaterThan(0);
  });

  it("counts what stays alive too, and nothing after it stops", () => {
    const meter = new GcMeter();
    meter.start();
    const live = Array.from({ length: 64 }, () => new Array<number>(16_384).fill(1));
    const figures = meter.stop();
    expect(live).toHaveLength(64);
    expect(figures?.allocatedBytes).toBeGreaterThanOrEqual(8 * MiB);
    expect(meter.stop()).toBeNull();
  });
});
