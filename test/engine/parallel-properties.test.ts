// Property tests for parallel groups with a sleep and a deadline: random completion orders of
// the members' outcomes (success, retryable, terminal, timed out), crashes that lose what was in
// flight, cancels, timers that fire early, late or when due (so sleeps end and the deadline
// passes at random points), each run checking G1, G3, G4 and G6 (every attempt and outcome in the history).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RunPhaseCommand } from "../../src/domain/commands.js";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaState } from "../../src/domain/state.js";
import { isTerminal } from "../../src/domain/status.js";
import { defineSaga } from "../../src/dsl/index.js";
import { decide } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

const RETRY = { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 50, jitter: "none" } as const;
const plan = defineSaga<null>({ name: "travel", version: 1, maxRecoveries: 50, deadlineMs: 600 })
  .step("quote", { action: () => null, compensate: () => null, retry: RETRY })
  .parallel("reservations", (group) =>
    group
      .step("flight", { action: () => null, compensate: () => null, retry: RETRY })
      .step("hotel", { action: () => null, compensate: () => null, retry: RETRY })
      .step("car", { action: () => null, retry: RETRY }),
  )
  .sleepStep("cool-off", { durationMs: 100 })
  .step("pay", { action: () => null, compensate: () => null, retry: RETRY })
  .build().plan;

type Outcome = "success" | "retryable" | "terminal" | "timeout";
type Move = { kind: "outcome"; pick: number; outcome: Outcome; dtMs: number } | { kind: "crash"; dtMs: number } | { kind: "cancel"; dtMs: number } | { kind: "timer"; dtMs: number };

const moveArb: fc.Arbitrary<Move> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("outcome" as const), pick: fc.nat(), outcome: fc.constantFrom<Outcome>("success", "success", "retryable", "terminal", "timeout"), dtMs: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const), dtMs: fc.nat(100) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), dtMs: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("timer" as const), dtMs: fc.nat(80) }) },
);

function outcomeEvent(command: RunPhaseCommand, outcome: Outcome): SagaEvent {
  const action = command.phase === "action";
  if (outcome === "success") return { type: action ? "action_succeeded" : "compensation_succeeded", step: command.step, attempt: command.attempt, output: null };
  return {
    type: action ? "action_failed" : "compensation_failed",
    step: command.step,
    attempt: command.attempt,
    error: { name: "Boom", message: "no" },
    retryable: outcome !== "terminal",
    timedOut: outcome === "timeout",
    jitter: 0.5,
  };
}

function run(script: readonly Move[]): void {
  let now = 1_000_000;
  let state: SagaState = createInitialState(plan, { id: "trip", input: null, idempotencyKey: null, nowMs: now }).state;
  let inFlight: RunPhaseCommand[] = [];
  const feed = (event: SagaEvent): void => {
    const decision = decide(plan, state, event, now);
    if (decision.ignored !== undefined) {
      // An ignored event changes nothing and writes nothing.
      expect(decision.history).toEqual([]);
      expect(decision.commands).toEqual([]);
      return;
    }
    // G6: every attempt started is in the history, and so is every outcome taken.
    for (const command of decision.commands) {
      expect(decision.history).toContainEqual(expect.objectContaining({ type: "attempt_started", step: command.step, phase: command.phase, attempt: command.attempt }));
    }
    if (event.type === "action_succeeded" || event.type === "compensation_succeeded" || event.type === "action_failed" || event.type === "compensation_failed") {
      const settled = event.type.endsWith("succeeded") ? "attempt_succeeded" : "attempt_failed";
      expect(decision.history).toContainEqual(expect.objectContaining({ type: settled, step: event.step, attempt: event.attempt }));
    }
    // Times in the history never run backwards.
    for (const entry of decision.history) expect(entry.atMs).toBe(now);
    const before = state;
    state = decision.state;
    for (const command of decision.commands) {
      // G3: the key depends on the step and phase only.
      expect(command.idempotencyKey).toBe(command.phase === "action" ? `trip:${command.step}` : `trip:${command.step}:compensate`);
      // G4: a compensation starts only when no action is unsettled, and only for a step whose action may have taken effect.
      if (command.phase === "compensation") {
        expect(state.steps.some((s) => s.action.status === "running")).toBe(false);
        expect(before.settledOrder.concat(state.settledOrder)).toContain(command.stepIndex);
      }
    }
    inFlight = inFlight.filter((c) => {
      const p = c.phase === "action" ? state.steps[c.stepIndex]?.action : state.steps[c.stepIndex]?.compensation;
      return p?.status === "running" && p.attempt === c.attempt;
    });
    inFlight.push(...decision.commands);
  };
  feed({ type: "claimed" });
  for (const move of script) {
    if (isTerminal(state.status)) break;
    now += move.dtMs;
    if (move.kind === "outcome") {
      const command = inFlight[move.pick % Math.max(1, inFlight.length)];
      if (command === undefined) feed({ type: "timer_fired" });
      else {
        inFlight = inFlight.filter((c) => c !== command);
        feed(outcomeEvent(command, move.outcome));
      }
    } else if (move.kind === "crash") {
      inFlight = [];
      now += 10_000;
      feed({ type: "claimed" });
    } else if (move.kind === "cancel") feed({ type: "cancel_requested", reason: "sim", by: "sim" });
    else feed({ type: "timer_fired" });
  }
  // Drain: every attempt now succeeds, and time moves on, until the saga ends.
  for (let i = 0; i < 200 && !isTerminal(state.status); i++) {
    now += 60;
    const command = inFlight.shift();
    if (command === undefined) feed({ type: "timer_fired" });
    else feed(outcomeEvent(command, "success"));
  }
  expect(isTerminal(state.status)).toBe(true);
  // G1.
  if (state.status === "completed") expect(state.steps.every((s) => s.action.status === "succeeded")).toBe(true);
  if (state.status === "compensated") {
    const mayHaveTakenEffect = new Set(state.settledOrder);
    state.steps.forEach((step, index) => {
      const hasCompensation = plan.steps[index]?.hasCompensation === true;
      if (mayHaveTakenEffect.has(index) && hasCompensation) expect(step.compensation.status).toBe("succeeded");
      else expect(step.compensation.status).toBe("not_needed");
    });
    // Newest first: the compensation order is the reverse of the order in which actions settled.
    expect(state.compensationOrder).toEqual([...state.settledOrder].reverse().filter((i) => plan.steps[i]?.hasCompensation === true));
  }
  if (state.status === "failed") expect((state.outstanding ?? []).length).toBeGreaterThan(0);
  // A deadline that passed before the pivot rolled the saga back: it cannot have completed after it.
  if (state.deadlineAtMs !== undefined && state.status === "completed") expect(state.endedAtMs ?? 0).toBeLessThan(state.deadlineAtMs + 1);
}

describe("parallel groups under random interleavings", () => {
  it("keep G1, G3, G4 and G6 whatever order the members settle in, through crashes, cancels and retries", () => {
    fc.assert(
      fc.property(fc.array(moveArb, { maxLength: 50 }), (script) => run(script)),
      { numRuns: 500, seed: 20261130 },
    );
  });
});
