import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaState } from "../../src/domain/state.js";
import { defineSaga } from "../../src/dsl/index.js";
import { decide, type Decision } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

const T0 = 1_000_000;
const HOUR = 3_600_000;

const reminder = defineSaga<{ departAtMs: number }>({ name: "reminder", version: 1 })
  .step("book", { action: () => ({ ref: "B1" }), compensate: () => undefined })
  .sleepStep("cool-off", { durationMs: 2 * HOUR })
  .sleepStep("until-departure", { until: ({ input }) => input.departAtMs })
  .step("notify", { action: () => null })
  .build();
const plan = reminder.plan;

function apply(state: SagaState, event: SagaEvent, at: number): Decision {
  return decide(plan, state, event, at);
}

/** `book` done at T0 + 10: `cool-off` sleeps until T0 + 10 + 2 h. */
function cooling(departAtMs = T0 + 5 * HOUR): SagaState {
  const initial = createInitialState(plan, { id: "r-1", input: { departAtMs }, idempotencyKey: null, nowMs: T0 });
  const claimed = apply(initial.state, { type: "claimed" }, T0).state;
  return apply(claimed, { type: "action_succeeded", step: "book", attempt: 1, output: { ref: "B1" } }, T0 + 10).state;
}

describe("sleep steps (durable timers)", () => {
  it("are plan data, and a definition needs exactly one of durationMs and until", () => {
    expect(plan.steps[1]?.sleep).toEqual({ kind: "duration", durationMs: 2 * HOUR });
    expect(plan.steps[2]?.sleep).toEqual({ kind: "until" });
    const builder = defineSaga<null>({ name: "x", version: 1 });
    expect(() => builder.sleepStep("s", {} as never)).toThrow(/exactly one of durationMs and until/);
    expect(() => builder.sleepStep("s", { durationMs: -1 })).toThrow(/steps\[0\]\.durationMs/);
    expect(() => builder.sleepStep("s", { durationMs: 5, retry: {} } as never)).toThrow(/steps\[0\]\.retry is not a sleep step option/);
  });

  it("sleep for a duration with nothing to run: the saga only sets its wake-up", () => {
    const state = cooling();
    expect(state.steps[1]?.action).toMatchObject({ status: "running", attempt: 1, deadlineAtMs: T0 + 10 + 2 * HOUR });
    expect(state.wakeAtMs).toBe(T0 + 10 + 2 * HOUR);
    // An early or spurious timer changes nothing but the clock.
    const early = apply(state, { type: "timer_fired" }, T0 + HOUR);
    expect(early.commands).toEqual([]);
    expect(early.state.steps[1]?.action.status).toBe("running");
  });

  it("wake up when the time comes, with { sleptUntilMs } as output, and the saga goes on", () => {
    const woke = apply(cooling(), { type: "timer_fired" }, T0 + 10 + 2 * HOUR + 3);
    expect(woke.state.steps[1]).toMatchObject({ action: { status: "succeeded" }, output: { sleptUntilMs: T0 + 10 + 2 * HOUR } });
    // The next sleep computes its time first: an ordinary command.
    expect(woke.commands).toMatchObject([{ step: "until-departure", phase: "action", attempt: 1 }]);
    const computed = apply(woke.state, { type: "action_succeeded", step: "until-departure", attempt: 1, output: T0 + 5 * HOUR }, T0 + 2 * HOUR + 20);
    expect(computed.commands).toEqual([]);
    expect(computed.history).toEqual([{ type: "sleep_started", atMs: T0 + 2 * HOUR + 20, step: "until-departure", attempt: 1, untilMs: T0 + 5 * HOUR }]);
    expect(computed.state.wakeAtMs).toBe(T0 + 5 * HOUR);
    const departed = apply(computed.state, { type: "timer_fired" }, T0 + 5 * HOUR);
    expect(departed.state.steps[2]?.output).toEqual({ sleptUntilMs: T0 + 5 * HOUR });
    expect(departed.commands).toMatchObject([{ step: "notify" }]);
  });

  it("pass at once when the time until which to sleep is already past", () => {
    const woke = apply(cooling(T0), { type: "timer_fired" }, T0 + 10 + 2 * HOUR);
    const passed = apply(woke.state, { type: "action_succeeded", step: "until-departure", attempt: 1, output: T0 }, T0 + 10 + 2 * HOUR + 1);
    expect(passed.history.map((h) => h.type)).toEqual(["sleep_started", "attempt_succeeded", "attempt_started"]);
    expect(passed.commands).toMatchObject([{ step: "notify" }]);
  });

  it("are not in doubt after a crash while asleep: the next worker sleeps on, with no recovery counted", () => {
    const reclaimed = apply(cooling(), { type: "claimed" }, T0 + HOUR);
    expect(reclaimed.state.recoveries).toBe(0);
    expect(reclaimed.commands).toEqual([]);
    expect(reclaimed.history).toEqual([]);
    expect(reclaimed.state.steps[1]?.action).toMatchObject({ status: "running", attempt: 1, deadlineAtMs: T0 + 10 + 2 * HOUR });
  });

  it("compute their time again after a crash while computing it (that attempt is in doubt)", () => {
    const woke = apply(cooling(), { type: "timer_fired" }, T0 + 10 + 2 * HOUR);
    const reclaimed = apply(woke.state, { type: "claimed" }, T0 + 10 + 2 * HOUR + 50);
    expect(reclaimed.history.map((h) => h.type)).toEqual(["attempt_in_doubt", "attempt_started"]);
    expect(reclaimed.commands).toMatchObject([{ step: "until-departure", attempt: 2 }]);
  });

  it("end on a cancel, which compensates what completed before the sleep", () => {
    const cancelled = apply(cooling(), { type: "cancel_requested", reason: "trip called off", by: "ops" }, T0 + HOUR);
    expect(cancelled.state.steps[1]?.action).toMatchObject({ status: "failed", lastError: { name: "Cancelled", message: "cancelled while asleep: trip called off" } });
    expect(cancelled.state.steps[1]?.action.deadlineAtMs).toBeUndefined();
    expect(cancelled.state.status).toBe("compensating");
    expect(cancelled.commands).toMatchObject([{ step: "book", phase: "compensation" }]);
  });
});
