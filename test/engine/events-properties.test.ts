// Property tests for named events: random interleavings of deliveries (the awaited name, other
// names, repeated delivery ids, early and late ones), step outcomes, timers, cancels and duplicate
// outcome deliveries, each run checking what the engine promises about events on top of G1.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RunPhaseCommand } from "../../src/domain/commands.js";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaState } from "../../src/domain/state.js";
import { isTerminal } from "../../src/domain/status.js";
import { defineSaga } from "../../src/dsl/index.js";
import { decide } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

const WAIT_MS = 1_000;
const plan = defineSaga<null>({ name: "expense", version: 1 })
  .step("book", { action: () => null, compensate: () => null, retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 10, jitter: "none" } })
  .waitStep("approval", { event: "go", timeoutMs: WAIT_MS, retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 10, jitter: "none" }, compensate: () => null })
  .waitStep("receipt", { event: "go", compensate: () => null })
  .step("pay", { action: () => null })
  .build().plan;

type Move =
  | { kind: "signal"; name: "go" | "other"; id: "a" | "b" | "c" | "name"; payload: number; dtMs: number }
  | { kind: "outcome"; ok: boolean; dtMs: number }
  | { kind: "duplicateOutcome"; dtMs: number }
  | { kind: "timer"; dtMs: number }
  | { kind: "cancel"; dtMs: number };

const moveArb: fc.Arbitrary<Move> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("signal" as const), name: fc.constantFrom("go" as const, "other" as const), id: fc.constantFrom("a" as const, "b" as const, "c" as const, "name" as const), payload: fc.nat(99), dtMs: fc.nat(400) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("outcome" as const), ok: fc.boolean(), dtMs: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicateOutcome" as const), dtMs: fc.nat(50) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("timer" as const), dtMs: fc.nat(1_500) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), dtMs: fc.nat(50) }) },
);

interface Delivery {
  id: string;
  name: string;
  payload: number;
}

function run(script: readonly Move[]): void {
  let now = 1_000_000;
  let state: SagaState = createInitialState(plan, { id: "e-1", input: null, idempotencyKey: null, nowMs: now }).state;
  let inFlight: RunPhaseCommand[] = [];
  const settled: SagaEvent[] = [];
  /** Every delivery the engine accepted, in order: what `signals` must hold. */
  const accepted: Delivery[] = [];
  const feed = (event: SagaEvent): ReturnType<typeof decide> => {
    const before = JSON.stringify(state);
    const decision = decide(plan, state, event, now);
    expect(JSON.stringify(state), "decide mutated its input").toBe(before);
    expect(JSON.parse(JSON.stringify(decision.state))).toEqual(decision.state);
    if (decision.ignored === undefined) {
      state = decision.state;
      inFlight = inFlight.filter((c) => {
        const p = c.phase === "action" ? state.steps[c.stepIndex]?.action : state.steps[c.stepIndex]?.compensation;
        return p?.status === "running" && p.attempt === c.attempt;
      });
      inFlight.push(...decision.commands);
    }
    return decision;
  };
  feed({ type: "claimed" });
  for (const move of script) {
    now += move.dtMs;
    switch (move.kind) {
      case "signal": {
        const id = move.id === "name" ? move.name : `${move.name}:${move.id}`;
        const seen = accepted.some((d) => d.id === id);
        const decision = feed({ type: "signal_received", name: move.name, id, payload: move.payload, by: "sim" });
        if (isTerminal(state.status) && decision.ignored !== undefined) break;
        // A repeated delivery id is recorded once; every new one is kept.
        expect(decision.ignored !== undefined, `delivery ${id}: seen ${seen}, ignored ${decision.ignored}`).toBe(seen);
        if (!seen) accepted.push({ id, name: move.name, payload: move.payload });
        break;
      }
      case "outcome": {
        const command = inFlight.shift();
        if (command === undefined) {
          if (state.wakeAtMs !== null && state.wakeAtMs <= now) feed({ type: "timer_fired" });
          break;
        }
        const event: SagaEvent = move.ok
          ? { type: command.phase === "action" ? "action_succeeded" : "compensation_succeeded", step: command.step, attempt: command.attempt, output: null }
          : { type: command.phase === "action" ? "action_failed" : "compensation_failed", step: command.step, attempt: command.attempt, error: { name: "Boom", message: "no" }, retryable: true, timedOut: false, jitter: 0.5 };
        settled.push(event);
        feed(event);
        break;
      }
      case "duplicateOutcome": {
        const again = settled[settled.length - 1];
        if (again !== undefined) expect(feed(again).ignored).toBeDefined();
        break;
      }
      case "timer":
        feed({ type: "timer_fired" });
        break;
      case "cancel":
        feed({ type: "cancel_requested", reason: "sim", by: "sim" });
        break;
    }
    checkEvents(state, accepted);
  }
}

function checkEvents(state: SagaState, accepted: readonly Delivery[]): void {
  const signals = state.signals ?? [];
  // Nothing accepted is lost, nothing is kept twice, and the order is the order of arrival.
  expect(signals.map((s) => s.id)).toEqual(accepted.map((d) => d.id));
  // A step that waits for "go" and succeeded took exactly one kept "go" event, the oldest still free when it started.
  const takers = ["approval", "receipt"];
  const takenBy = signals.filter((s) => s.consumedBy !== undefined);
  for (const signal of takenBy) {
    expect(signal.name).toBe("go");
    expect(takers).toContain(signal.consumedBy);
  }
  expect(new Set(takenBy.map((s) => s.consumedBy)).size).toBe(takenBy.length);
  for (const [offset, name] of takers.entries()) {
    const step = state.steps[1 + offset];
    const taken = signals.find((s) => s.consumedBy === name);
    if (step?.action.status === "succeeded") expect(step.output).toEqual(taken?.payload);
    else expect(taken).toBeUndefined();
  }
  // Events are taken in arrival order: a taken "go" never has an older free "go" before it.
  const firstFree = signals.findIndex((s) => s.name === "go" && s.consumedBy === undefined);
  if (firstFree >= 0) for (const later of signals.slice(firstFree + 1)) if (later.name === "go") expect(later.consumedBy).toBeUndefined();
  // No step waits for "go" while a free "go" is kept: it would have taken it.
  const waitingForGo = [1, 2].some((index) => state.steps[index]?.action.status === "running");
  if (waitingForGo) expect(firstFree).toBe(-1);
  // G1 where the saga ended: completed means every step took effect; compensated means every one that did was undone.
  if (state.status === "completed") expect(state.steps.every((s) => s.action.status === "succeeded")).toBe(true);
  if (state.status === "compensated") {
    for (const step of state.steps) if (step.action.status === "succeeded" && step.name !== "pay") expect(step.compensation.status).toBe("succeeded");
  }
}

describe("named events under random interleavings", () => {
  it("keeps every delivery once, in order, hands each to at most one waiting step, oldest first, and keeps G1", () => {
    fc.assert(
      fc.property(fc.array(moveArb, { maxLength: 60 }), (script) => run(script)),
      { numRuns: 400, seed: 20261130 },
    );
  });
});
