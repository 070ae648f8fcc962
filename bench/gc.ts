// What the garbage collector took from a measured stretch of the main thread: how many bytes the
// JavaScript heap allocated and how long the thread stood in collections. On this machine the
// runtime spends about a quarter to a third of a saga's time in the young-generation collector,
// which copies whatever is still alive (the sagas in flight) every few megabytes allocated; these
// figures show how much of a row's time that is, and they are steady where sagas/s is noisy:
// allocated bytes per saga varies by about 1% between runs on a machine whose speed varies 2×.
import { getHeapStatistics, GCProfiler } from "node:v8";

/** The collector's share of one stretch: bytes allocated on the heap, and the pauses' total. */
export interface GcFigures {
  allocatedBytes: number;
  pauseMs: number;
  /** The stretch the profiler listened over, from its start to its stop. */
  spanMs: number;
  /** pauseMs / spanMs: a pause the profiler reported always lies inside its own span, so this is at most 1. */
  pauseShare: number;
}

/**
 * Meters the heap from `start` to `stop`. Allocation is the heap's growth between collections
 * (each collection's size before it less the size after the previous one), which is exact for
 * everything the collector manages; a pause is a collection's time on this thread, as V8 reports
 * it (work done on helper threads meanwhile is not counted).
 */
export class GcMeter {
  #profiler: GCProfiler | null = null;
  #usedAtStart = 0;
  #startedAt = 0;

  start(): void {
    this.#profiler?.stop();
    this.#profiler = new GCProfiler();
    this.#usedAtStart = getHeapStatistics().used_heap_size;
    this.#profiler.start();
    this.#startedAt = performance.now();
  }

  /**
   * The figures since `start`; null when it was not started. The share is of the meter's own span,
   * not of the caller's window: a collection can fall between the caller's last clock reading and
   * this stop (reading the heap's statistics allocates), and on a window of a millisecond that one
   * pause, set against the caller's shorter window, read as more than all of it.
   */
  stop(): GcFigures | null {
    const profiler = this.#profiler;
    if (profiler === null) return null;
    const usedAtEnd = getHeapStatistics().used_heap_size;
    this.#profiler = null;
    const profile = profiler.stop();
    const spanMs = performance.now() - this.#startedAt;
    let allocatedBytes = 0;
    let pauseMicros = 0;
    let usedAfterPrevious = this.#usedAtStart;
    for (const gc of profile?.statistics ?? []) {
      allocatedBytes += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - usedAfterPrevious);
      usedAfterPrevious = gc.afterGC.heapStatistics.usedHeapSize;
      pauseMicros += gc.cost;
    }
    allocatedBytes += Math.max(0, usedAtEnd - usedAfterPrevious);
    const pauseMs = pauseMicros / 1000;
    return { allocatedBytes, pauseMs, spanMs, pauseShare: spanMs > 0 ? pauseMs / spanMs : 0 };
  }
}
