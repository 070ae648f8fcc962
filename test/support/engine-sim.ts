import fc from "fast-check";
import type { RunPhaseCommand } from "../../src/domain/commands.js";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaPlan, StepPlan } from "../../src/domain/plan.js";
import type { RetryPolicy } from "../../src/domain/retry-policy.js";
import type { SagaState } from "../../src/domain/state.js";
import { isTerminal } from "../../src/domain/status.js";
import { decide, type Decision } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

/**
 * A tiny stand-in for the worker: it feeds `decide` one event at a time and plays the
 * participants, following a random script of moves. Checks live in the property tests;
 * the simulator only records what it fed and what came back.
 */

export type Outcome = "success" | "retryable" | "terminal" | "terminalName" | "timeout";

export type Move =
  /** Settle the oldest command in flight with this outcome; with nothing in flight, wake up when due. */
  | { kind: "outcome"; outcome: Outcome; jitter: number; retryAfterMs: number | undefined; dtMs: number }
  /** The worker dies: every command in flight loses its outcome (kept for a late delivery); a new worker claims. */
  | { kind: "crash"; lostOutcome: Outcome; dtMs: number }
  /** Deliver again an outcome that was already accepted. */
  | { kind: "duplicate"; pick: number; dtMs: number }
  /** Deliver the outcome of an attempt dropped by a crash (or of a step that does not exist). */
  | { kind: "stale"; pick: number; dtMs: number }
  | { kind: "cancel"; dtMs: number }
  /** A timer fires now, whether or not anything is due (early, late or spurious). */
  | { kind: "timer"; dtMs: number };

export type FedKind = Move["kind"] | "start" | "wake";

export interface Fed {
  kind: FedKind;
  event: SagaEvent;
  nowMs: number;
  /** The very object passed to decide. */
  before: SagaState;
  /** A deep copy of `before` taken before the call. */
  beforeCopy: SagaState;
  decision: Decision;
}

export interface Trace {
  plan: SagaPlan;
  sagaId: string;
  fed: Fed[];
  final: SagaState;
  /** True when the loop bound was hit before the saga ended (a liveness failure). */
  ranOut: boolean;
}

export const TERMINAL_ERROR_NAME = "Fatal";
const SUCCESS_MOVE: Move = { kind: "outcome", outcome: "success", jitter: 0.5, retryAfterMs: undefined, dtMs: 1 };

function outcomeEvent(command: RunPhaseCommand, outcome: Outcome, jitter: number, retryAfterMs: number | undefined): SagaEvent {
  const { step, attempt, phase } = command;
  if (outcome === "success") {
    return phase === "action"
      ? { type: "action_succeeded", step, attempt, output: { key: command.idempotencyKey, attempt } }
      : { type: "compensation_succeeded", step, attempt };
  }
  const name = outcome === "terminalName" ? TERMINAL_ERROR_NAME : outcome === "timeout" ? "StepTimeoutError" : "Error";
  return {
    type: phase === "action" ? "action_failed" : "compensation_failed",
    step,
    attempt,
    error: { name, message: `${phase} ${step} attempt ${attempt}: ${outcome}` },
    retryable: outcome !== "terminal",
    timedOut: outcome === "timeout",
    jitter,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

/** Runs one saga under `script`; once the script is spent, every call succeeds until the saga ends. */
export function simulate(plan: SagaPlan, script: readonly Move[], sagaId = "saga-1"): Trace {
  let state = createInitialState(plan, { id: sagaId, input: { n: 1 }, idempotencyKey: null, nowMs: 0 }).state;
  let now = 0;
  let inFlight: RunPhaseCommand[] = [];
  const lost: SagaEvent[] = [];
  const delivered: SagaEvent[] = [];
  const fed: Fed[] = [];

  const feed = (kind: FedKind, event: SagaEvent): Decision => {
    const before = state;
    const beforeCopy = structuredClone(before);
    const decision = decide(plan, before, event, now);
    fed.push({ kind, event, nowMs: now, before, beforeCopy, decision });
    state = decision.state;
    inFlight.push(...decision.commands);
    return decision;
  };

  feed("start", { type: "timer_fired" });
  const bound = script.length + 40 * plan.steps.length + 40;
  let i = 0;
  for (; i < bound && !isTerminal(state.status); i++) {
    const move = script[i] ?? SUCCESS_MOVE;
    now += move.dtMs;
    switch (move.kind) {
      case "outcome": {
        const command = inFlight.shift();
        if (command === undefined) {
          now = Math.max(now, state.wakeAtMs ?? now);
          feed("wake", { type: "timer_fired" });
          break;
        }
        const event = outcomeEvent(command, move.outcome, move.jitter, move.retryAfterMs);
        if (feed("outcome", event).ignored === undefined) delivered.push(event);
        break;
      }
      case "crash":
        lost.push(...inFlight.map((command) => outcomeEvent(command, move.lostOutcome, 0.5, undefined)));
        inFlight = [];
        feed("crash", { type: "claimed" });
        break;
      case "duplicate": {
        const event = delivered[move.pick % Math.max(1, delivered.length)];
        if (event === undefined) feed("timer", { type: "timer_fired" });
        else feed("duplicate", event);
        break;
      }
      case "stale": {
        const event = lost[move.pick % Math.max(1, lost.length)] ?? { type: "action_succeeded", step: "no-such-step", attempt: 1 };
        feed("stale", event);
        break;
      }
      case "cancel":
        feed("cancel", { type: "cancel_requested", reason: "test", by: "sim" });
        break;
      case "timer":
        feed("timer", { type: "timer_fired" });
        break;
    }
  }
  return { plan, sagaId, fed, final: state, ranOut: !isTerminal(state.status) };
}

const retryArb = (maxAttempts: fc.Arbitrary<number>): fc.Arbitrary<RetryPolicy> =>
  fc
    .record({
      maxAttempts,
      initialDelayMs: fc.integer({ min: 0, max: 200 }),
      multiplier: fc.constantFrom(1, 1.5, 2, 3),
      extraDelayMs: fc.integer({ min: 0, max: 2_000 }),
      jitter: fc.constantFrom("full" as const, "none" as const),
    })
    .map(({ extraDelayMs, ...p }) => ({ ...p, maxDelayMs: p.initialDelayMs + extraDelayMs, terminalErrors: [TERMINAL_ERROR_NAME] }));

const stepArb: fc.Arbitrary<Omit<StepPlan, "name">> = fc.record({
  pivot: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 7, arbitrary: fc.constant(false) }),
  hasCompensation: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  compensateOnFailure: fc.boolean(),
  retry: retryArb(fc.noBias(fc.integer({ min: 1, max: 4 }))),
  timeoutMs: fc.constantFrom(0, 1_000),
  compensationRetry: retryArb(fc.noBias(fc.integer({ min: 1, max: 4 }))),
  compensationTimeoutMs: fc.constantFrom(0, 1_000),
});

/** Random plans: 1–6 steps with random pivots, compensations and policies. */
export const planArb: fc.Arbitrary<SagaPlan> = fc
  .record({ steps: fc.array(stepArb, { minLength: 1, maxLength: 6 }), maxRecoveries: fc.noBias(fc.integer({ min: 0, max: 4 })) })
  .map(({ steps, maxRecoveries }) => ({
    name: "sim",
    version: 1,
    maxRecoveries,
    steps: steps.map((step, index) => ({ ...step, name: `step${index}` })),
  }));

/** Outcomes of calls; `successWeight` against a fixed 7 for the failures sets how far sagas get. */
const outcomeArb = (successWeight: number): fc.Arbitrary<Outcome> =>
  fc.oneof(
    { weight: successWeight, arbitrary: fc.constant("success" as const) },
    { weight: 3, arbitrary: fc.constant("retryable" as const) },
    { weight: 2, arbitrary: fc.constant("timeout" as const) },
    { weight: 1, arbitrary: fc.constant("terminal" as const) },
    { weight: 1, arbitrary: fc.constant("terminalName" as const) },
  );
const dtArb = fc.integer({ min: 0, max: 400 });

export const moveArb = (successWeight: number): fc.Arbitrary<Move> =>
  fc.oneof(
    {
      weight: 30,
      arbitrary: fc.record({
        kind: fc.constant("outcome" as const),
        outcome: outcomeArb(successWeight),
        jitter: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        retryAfterMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined, freq: 4 }),
        dtMs: dtArb,
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("crash" as const), lostOutcome: outcomeArb(successWeight), dtMs: dtArb }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat(), dtMs: dtArb }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("stale" as const), pick: fc.nat(), dtMs: dtArb }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), dtMs: dtArb }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("timer" as const), dtMs: dtArb }) },
  );

/** Scripts of up to 80 moves; some runs fail often, others mostly succeed and get deep into the saga. */
export const scriptArb: fc.Arbitrary<Move[]> = fc
  .constantFrom(3, 10, 30)
  .chain((successWeight) => fc.array(moveArb(successWeight), { maxLength: 80, size: "max" }));

const succeed: Move = { kind: "outcome", outcome: "success", jitter: 0.5, retryAfterMs: undefined, dtMs: 1 };
const failForGood: Move = { kind: "outcome", outcome: "terminal", jitter: 0.5, retryAfterMs: undefined, dtMs: 1 };

/** Faults that do not settle anything by themselves: crashes, late and duplicate deliveries, timers. */
const faultArb: fc.Arbitrary<Move> = fc.oneof(
  fc.record({ kind: fc.constant("crash" as const), lostOutcome: outcomeArb(8), dtMs: dtArb }),
  fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat(), dtMs: dtArb }),
  fc.record({ kind: fc.constant("stale" as const), pick: fc.nat(), dtMs: dtArb }),
  fc.record({ kind: fc.constant("timer" as const), dtMs: dtArb }),
);

/**
 * Plans without pivots where every action but the last succeeds (among faults) and the last one
 * fails for good; then anything goes. Most runs compensate several steps, so ordering (G4) is exercised in depth.
 */
export const rollbackArb: fc.Arbitrary<{ plan: SagaPlan; script: Move[] }> = planArb
  .map((plan) => ({ ...plan, maxRecoveries: plan.maxRecoveries + 3, steps: plan.steps.map((step) => ({ ...step, pivot: false })) }))
  .chain((plan) =>
    fc.record({
      plan: fc.constant(plan),
      before: fc.array(fc.tuple(fc.constant(succeed), fc.option(faultArb, { nil: undefined })), {
        minLength: plan.steps.length - 1,
        maxLength: plan.steps.length - 1,
      }),
      after: fc.array(moveArb(12), { maxLength: 60, size: "max" }),
    }),
  )
  .map(({ plan, before, after }) => ({
    plan,
    script: [...before.flatMap(([ok, fault]) => (fault ? [ok, fault] : [ok])), failForGood, ...after],
  }));
