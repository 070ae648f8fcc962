// Closed-loop throughput and latency: exactly C sagas in flight, the next one started the moment
// one ends. Latency is the time from the `start()` call to the saga's terminal transition as the
// orchestrator announces it (`onTransition`), never a poll.
import { performance } from "node:perf_hooks";
import { GcMeter } from "./gc.js";
import { InPlaceMap } from "../src/collections/in-place-map.js";
import { isTerminal, newSagaId, type Orchestrator, type SagaDefinition } from "../src/index.js";
import type { BenchInput } from "./workload.js";

/** Starts one saga and calls `done` once, when it ends (with an error if it ended wrongly). */
export interface SagaLauncher {
  launch(seq: number, done: (error?: Error) => void): void;
}

/** Counters a store keeps (SQLite and PostgreSQL stores expose them as `stats`). */
export interface StoreCounters {
  commits: number;
  statements: number;
}

/**
 * How long to measure: per repeat at least `minMs` and at least `minSagas`, whichever ends later;
 * with `maxMs`, the warm-up and each repeat also end at the first saga to end once `maxMs` have
 * passed, however few ended before it (the sample says so: `timeCapped`).
 */
export interface Window {
  warmupMs: number;
  warmupSagas: number;
  minMs: number;
  minSagas: number;
  repeats: number;
  maxMs?: number;
}

/**
 * The quick run's cap on a warm-up or a window. A window holds C sagas so that it measures a rate,
 * not a burst, but a slow peer at high concurrency (DBOS at C=512 on a slow day: about 70 sagas/s,
 * so 7 s for 512) would then take most of the two minutes by itself; capped, its windows hold
 * what ended in the second, and the report lists the cells whose windows were cut short.
 */
export const QUICK_WINDOW_MAX_MS = 1_000;

/**
 * The window for a mode (C = concurrency). Full: a warm-up of ≥ 1 s and ≥ 2·C sagas, then 5
 * windows of ≥ 1 s and ≥ max(2000, 2·C) sagas. Quick (the whole run in under two minutes): a
 * warm-up of ≥ 0.15 s and ≥ max(32, C/2) sagas, then 3 windows of ≥ 0.2 s and ≥ max(64, C)
 * sagas, each (and the warm-up) cut at `QUICK_WINDOW_MAX_MS`. Otherwise a window never holds
 * fewer than C sagas: at high concurrency sagas tend to move in lockstep, and a shorter window
 * would catch a burst of completions rather than a rate.
 */
export function windowFor(mode: "quick" | "full", concurrency: number): Window {
  return mode === "full"
    ? { warmupMs: 1000, warmupSagas: 2 * concurrency, minMs: 1000, minSagas: Math.max(2000, 2 * concurrency), repeats: 5 }
    : { warmupMs: 150, warmupSagas: Math.max(32, concurrency / 2), minMs: 200, minSagas: Math.max(64, concurrency), repeats: 3, maxMs: QUICK_WINDOW_MAX_MS };
}

/** One window's figures. */
export interface Sample {
  sagasPerSec: number;
  p50Ms: number;
  p99Ms: number;
  sagas: number;
  windowMs: number;
  commitsPerSaga: number | null;
  statementsPerSaga: number | null;
  /** The window ended at its `maxMs` before `minSagas` sagas had ended in it. */
  timeCapped: boolean;
  /** KiB the main thread's JavaScript heap allocated in the window, per saga that ended in it (bench/gc.ts). */
  allocatedKiBPerSaga: number | null;
  /** The share of the window's time the main thread stood in garbage collections, 0–1. */
  gcShare: number | null;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median with min and max, or null when no repeat produced the figure. */
export function spread(values: ReadonlyArray<number | null>): Spread | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (present.length === 0) return null;
  const mid = present.length >> 1;
  const median = present.length % 2 === 1 ? (present[mid] as number) : ((present[mid - 1] as number) + (present[mid] as number)) / 2;
  return { median, min: present[0] as number, max: present[present.length - 1] as number };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export interface MeasureOptions {
  launcher: SagaLauncher;
  concurrency: number;
  window: Window;
  /** Read at the edges of every window; omit for a store without counters. */
  counters?: () => StoreCounters;
  /** Called after each repeat (progress bars). */
  onRepeat?: () => void;
}

/** What `measure` returns: one sample per repeat, and every saga it started (warm-up and drain included). */
export interface Measurement {
  samples: Sample[];
  totalSagas: number;
}

/**
 * One continuous closed loop: `concurrency` sagas in flight, the next started as one ends. A
 * warm-up, then `window.repeats` windows back to back (so no repeat starts from a cold, empty
 * pipeline), then the loop stops starting sagas and lets the last ones finish. A saga counts in
 * the window in which it ended; per-saga counters are the window's delta over its sagas, which in
 * steady state is what one saga costs.
 */
export function measure(options: MeasureOptions): Promise<Measurement> {
  const { launcher, concurrency, window } = options;
  return new Promise((resolve, reject) => {
    const samples: Sample[] = [];
    let phase = 0; // 0 warm-up, 1…repeats windows, then draining
    let phaseStart = performance.now();
    let phaseCounters = options.counters?.();
    const gc = new GcMeter();
    let latencies: number[] = [];
    let launched = 0;
    let inFlight = 0;
    let failed = false;
    const closeWindow = (now: number, timeCapped: boolean): void => {
      const after = options.counters?.();
      const before = phaseCounters;
      const n = latencies.length;
      const per = (pick: (c: StoreCounters) => number): number | null => (before === undefined || after === undefined ? null : (pick(after) - pick(before)) / n);
      // A typed array sorts numerically in native code: a comparator sort of a window's 100,000
      // latencies took tens of milliseconds.
      const sorted = Float64Array.from(latencies).sort();
      const collected = gc.stop();
      samples.push({
        sagasPerSec: (n / (now - phaseStart)) * 1000,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        sagas: n,
        windowMs: now - phaseStart,
        commitsPerSaga: per((c) => c.commits),
        statementsPerSaga: per((c) => c.statements),
        timeCapped,
        allocatedKiBPerSaga: collected === null ? null : collected.allocatedBytes / 1024 / n,
        gcShare: collected === null ? null : collected.pauseShare,
      });
      options.onRepeat?.();
    };
    const launchOne = (): void => {
      const seq = launched++;
      inFlight++;
      const t0 = performance.now();
      launcher.launch(seq, (error) => {
        if (failed) return;
        if (error !== undefined) {
          failed = true;
          gc.stop();
          reject(error);
          return;
        }
        inFlight--;
        const now = performance.now();
        if (phase <= window.repeats) {
          latencies.push(now - t0);
          const warm = phase === 0;
          const elapsed = now - phaseStart;
          const enough = latencies.length >= (warm ? window.warmupSagas : window.minSagas) && elapsed >= (warm ? window.warmupMs : window.minMs);
          const capped = !enough && window.maxMs !== undefined && elapsed >= window.maxMs;
          if (enough || capped) {
            if (!warm) closeWindow(now, capped);
            phase++;
            // After the closed window's bookkeeping, which is the harness's time, not the row's: no
            // saga moves while it runs.
            phaseStart = performance.now();
            phaseCounters = options.counters?.();
            latencies = [];
            if (phase <= window.repeats) gc.start();
          }
        }
        if (phase <= window.repeats) launchOne();
        else if (inFlight === 0) resolve({ samples, totalSagas: launched });
      });
    };
    if (window.repeats === 0 && window.warmupSagas === 0) resolve({ samples, totalSagas: 0 });
    else for (let i = 0; i < concurrency; i++) launchOne();
  });
}

/**
 * A launcher over an orchestrator. Ids are UUIDv7s, as `start` makes them when given none (the id
 * is picked here only so the end can be matched before `start` resolves), so the stores index
 * what a caller's sagas would give them; the end is seen through `onTransition`.
 */
export function sagaflowLauncher(
  orchestrator: Orchestrator,
  definition: SagaDefinition<BenchInput>,
  expected: "completed" | "compensated",
): SagaLauncher & { dispose(): void } {
  // Not a Map: a Map's rebuilt tables would keep the sagas' callbacks alive into V8's old
  // generation, and the harness would charge the row for garbage collection the runtime avoids.
  const pending = new InPlaceMap<(error?: Error) => void>();
  const unsubscribe = orchestrator.onTransition((notice) => {
    if (!isTerminal(notice.state.status)) return;
    const done = pending.get(notice.sagaId);
    if (done === undefined) return;
    pending.delete(notice.sagaId);
    done(notice.state.status === expected ? undefined : new Error(`saga ${notice.sagaId} ended ${notice.state.status}, expected ${expected}`));
  });
  return {
    launch(seq, done) {
      const id = newSagaId();
      // Registered before the call: the saga may end before `start` resolves.
      pending.set(id, done);
      orchestrator.start(definition, { n: seq }, { id }).then(
        (result) => {
          if (!result.created) done(new Error(`saga id ${id} was already used`));
        },
        (error: unknown) => {
          pending.delete(id);
          done(error instanceof Error ? error : new Error(String(error)));
        },
      );
    },
    dispose: unsubscribe,
  };
}
