// The engine alone: the pure `decide` calls a saga needs (claimed, then one outcome per step, and
// for the compensating saga its failure and two compensations), with no store, runtime, driver or
// step. Like the store alone, it bounds the in-memory figure from one side: the memory store's
// rate is at most what the engine alone and the store alone leave when their costs add up.
import { performance } from "node:perf_hooks";
import type { SagaEvent } from "../src/domain/events.js";
import type { SagaPlan } from "../src/domain/plan.js";
import type { SagaState } from "../src/domain/state.js";
import { decide } from "../src/engine/decide.js";
import { createInitialState } from "../src/engine/initial-state.js";
import { shapeOf } from "../src/runtime/plan-shape.js";
import { GcMeter } from "./gc.js";
import { spread, type Spread, type Window } from "./measure.js";

/** One window of the engine alone. */
interface EngineWindow {
  sagasPerSec: number;
  allocatedKiBPerSaga: number | null;
  gcShare: number | null;
}
import { benchSagas, EXPECTED_STATUS, type Scenario } from "./workload.js";

export interface EngineAloneRow {
  scenario: Scenario;
  /** Sagas decided per second on one thread, median (min–max) over the windows. */
  sagasPerSec: Spread;
  /** Microseconds of `decide` per saga, from the median. */
  microsPerSaga: number;
  /** KiB allocated per saga, and the share of the time in garbage collections (bench/gc.ts), median over the windows. */
  allocatedKiBPerSaga: number | null;
  gcShare: Spread | null;
}

/** The outcome events each scenario's steps report, in order, given the state before each. */
function outcome(plan: SagaPlan, state: SagaState, scenario: Scenario): SagaEvent {
  const compensating = state.steps.findIndex((step) => step.compensation.status === "running");
  if (compensating >= 0) {
    const step = state.steps[compensating];
    return { type: "compensation_succeeded", step: step?.name ?? "", attempt: step?.compensation.attempt ?? 1 };
  }
  const running = state.steps.findIndex((step) => step.action.status === "running");
  const step = state.steps[running];
  if (step === undefined) throw new Error(`engine-alone: nothing is running in a ${state.status} saga`);
  const last = running === plan.steps.length - 1;
  if (scenario === "compensate" && last) {
    return { type: "action_failed", step: step.name, attempt: step.action.attempt, error: { name: "TerminalError", message: "bench" }, retryable: false, timedOut: false, jitter: 0.5 };
  }
  return { type: "action_succeeded", step: step.name, attempt: step.action.attempt, output: { n: running } };
}

/** Decides one saga from its start to its end; returns the number of decisions. */
function decideOne(plan: SagaPlan, scenario: Scenario, id: string, nowMs: number): number {
  // As `Orchestrator.start` makes it: stamped with the definition's shape, which decides the state's shape too.
  const initial = createInitialState(plan, { id, input: { n: 1 }, idempotencyKey: null, nowMs, definitionHash: shapeOf({ plan }) });
  let state = decide(plan, initial.state, { type: "claimed" }, nowMs).state;
  let decisions = 1;
  while (state.status === "running" || state.status === "compensating") {
    state = decide(plan, state, outcome(plan, state, scenario), nowMs).state;
    decisions++;
  }
  if (state.status !== EXPECTED_STATUS[scenario]) throw new Error(`engine-alone: the ${scenario} saga ended ${state.status}`);
  return decisions;
}

/** Sagas decided per second, per scenario: a warm-up, then `window.repeats` windows of at least `window.minMs` and `window.minSagas`. */
export function measureEngineAlone(scenario: Scenario, window: Window): EngineAloneRow {
  const plan = benchSagas[scenario].plan;
  const nowMs = Date.now();
  let seq = 0;
  const gc = new GcMeter();
  const run = (minMs: number, minSagas: number): EngineWindow => {
    gc.start();
    const started = performance.now();
    let n = 0;
    while (n < minSagas || performance.now() - started < minMs) {
      // A batch between clock reads, so reading the clock costs nothing next to the work.
      for (let i = 0; i < 100; i++) decideOne(plan, scenario, `engine-${seq++}`, nowMs);
      n += 100;
    }
    const elapsedMs = performance.now() - started;
    const collected = gc.stop();
    return {
      sagasPerSec: (n / elapsedMs) * 1000,
      allocatedKiBPerSaga: collected === null ? null : collected.allocatedBytes / 1024 / n,
      gcShare: collected === null ? null : collected.pauseShare,
    };
  };
  run(window.warmupMs, window.warmupSagas);
  const windows = Array.from({ length: window.repeats }, () => run(window.minMs, window.minSagas));
  const sagasPerSec = spread(windows.map((w) => w.sagasPerSec)) ?? { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return {
    scenario,
    sagasPerSec,
    microsPerSaga: 1e6 / sagasPerSec.median,
    allocatedKiBPerSaga: spread(windows.map((w) => w.allocatedKiBPerSaga))?.median ?? null,
    gcShare: spread(windows.map((w) => w.gcShare)),
  };
}
