import { describe, expect, it } from "vitest";
import type { SagaEvent, SignalReceivedEvent } from "../../src/domain/events.js";
import type { SagaState } from "../../src/domain/state.js";
import { defineSaga } from "../../src/dsl/index.js";
import { decide, type Decision } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

const T0 = 1_000_000;

const trip = defineSaga<null>({ name: "trip", version: 1 })
  .step("book", { action: () => ({ ref: "B1" }), compensate: () => undefined })
  .waitStep("approval", { event: "manager-approved", timeoutMs: 60_000, compensate: () => undefined })
  .step("pay", { action: () => null })
  .build();
const plan = trip.plan;

function signal(name: string, payload: unknown = { ok: true }, id = name, by = "ops:ana"): SignalReceivedEvent {
  return { type: "signal_received", name, id, payload: payload as SignalReceivedEvent["payload"], by };
}

function apply(state: SagaState, event: SagaEvent, at: number): Decision {
  return decide(plan, state, event, at);
}

/** Claimed at T0: `book` is running. */
function booking(): SagaState {
  const initial = createInitialState(plan, { id: "t-1", input: null, idempotencyKey: null, nowMs: T0 });
  return apply(initial.state, { type: "claimed" }, T0).state;
}

/** `book` done at T0 + 10: `approval` waits for the event. */
function waiting(): SagaState {
  return apply(booking(), { type: "action_succeeded", step: "book", attempt: 1, output: { ref: "B1" } }, T0 + 10).state;
}

describe("a step that waits for a named event", () => {
  it("is plan data: the definition names the event", () => {
    expect(plan.steps[1]).toMatchObject({ name: "approval", wait: true, event: "manager-approved" });
    expect(() => defineSaga<null>({ name: "x", version: 1 }).waitStep("w", { event: "has space" })).toThrow(/steps\[0\]\.event/);
  });

  it("takes the event's payload as its output when it arrives while the step waits, and the saga goes on", () => {
    const decision = apply(waiting(), signal("manager-approved", { approver: "ana" }), T0 + 50);
    expect(decision.ignored).toBeUndefined();
    expect(decision.history.map((h) => h.type)).toEqual(["signal_received", "attempt_succeeded", "attempt_started"]);
    expect(decision.history[0]).toMatchObject({ name: "manager-approved", id: "manager-approved", by: "ops:ana" });
    expect(decision.history[1]).toMatchObject({ step: "approval", by: "ops:ana", output: { approver: "ana" } });
    expect(decision.state.steps[1]).toMatchObject({ output: { approver: "ana" }, action: { status: "succeeded" } });
    expect(decision.state.signals).toEqual([{ id: "manager-approved", name: "manager-approved", payload: { approver: "ana" }, by: "ops:ana", atMs: T0 + 50, consumedBy: "approval" }]);
    expect(decision.commands).toMatchObject([{ step: "pay", phase: "action" }]);
  });

  it("keeps an event that arrives before the saga waits for it, and the step takes it the moment it starts", () => {
    const early = apply(booking(), signal("manager-approved", { approver: "bo" }), T0 + 5);
    expect(early.ignored).toBeUndefined();
    expect(early.commands).toEqual([]);
    expect(early.state.signals?.[0]).toMatchObject({ name: "manager-approved" });
    expect(early.state.signals?.[0]?.consumedBy).toBeUndefined();
    expect(early.state.steps[0]?.action.status).toBe("running");

    const booked = apply(early.state, { type: "action_succeeded", step: "book", attempt: 1, output: { ref: "B1" } }, T0 + 10);
    expect(booked.history.map((h) => [h.type, "step" in h ? h.step : undefined])).toEqual([
      ["attempt_succeeded", "book"],
      ["attempt_started", "approval"],
      ["attempt_succeeded", "approval"],
      ["attempt_started", "pay"],
    ]);
    expect(booked.state.steps[1]?.output).toEqual({ approver: "bo" });
    expect(booked.state.signals?.[0]?.consumedBy).toBe("approval");
    expect(booked.commands).toMatchObject([{ step: "pay" }]);
  });

  it("records a duplicate delivery once: the same id again changes nothing", () => {
    const first = apply(waiting(), signal("manager-approved", { approver: "ana" }), T0 + 50).state;
    const again = apply(first, signal("manager-approved", { approver: "someone else" }), T0 + 60);
    expect(again.ignored).toMatch(/duplicate/);
    expect(again.state).toBe(first);
    // Also before any step took it.
    const early = apply(booking(), signal("manager-approved"), T0 + 5).state;
    expect(apply(early, signal("manager-approved"), T0 + 6).ignored).toMatch(/duplicate/);
  });

  it("keeps events of other names (and other deliveries of this one) without answering the step", () => {
    const other = apply(waiting(), signal("manager-rejected"), T0 + 50);
    expect(other.ignored).toBeUndefined();
    expect(other.state.steps[1]?.action.status).toBe("running");
    expect(other.state.signals?.map((s) => [s.name, s.consumedBy])).toEqual([["manager-rejected", undefined]]);
    const approved = apply(other.state, signal("manager-approved", { n: 1 }, "approval-1"), T0 + 60);
    expect(approved.state.steps[1]?.output).toEqual({ n: 1 });
  });

  it("fails the attempt when no event came within the timeout, and the saga compensates what completed", () => {
    const timedOut = apply(waiting(), { type: "timer_fired" }, T0 + 10 + 60_000);
    expect(timedOut.state.steps[1]?.action).toMatchObject({ status: "failed", lastError: { name: "WaitTimeoutError" } });
    expect(timedOut.state.status).toBe("compensating");
    // An event that comes after is kept, but nothing waits for it any more.
    const late = apply(timedOut.state, signal("manager-approved"), T0 + 70_000);
    expect(late.state.steps[1]?.action.status).toBe("failed");
    expect(late.state.signals?.[0]?.consumedBy).toBeUndefined();
  });

  it("is ignored by a saga that ended", () => {
    const done = apply(apply(waiting(), signal("manager-approved"), T0 + 50).state, { type: "action_succeeded", step: "pay", attempt: 1 }, T0 + 60);
    expect(done.state.status).toBe("completed");
    expect(apply(done.state, signal("late", null, "late-1"), T0 + 70).ignored).toMatch(/already completed/);
  });
});
