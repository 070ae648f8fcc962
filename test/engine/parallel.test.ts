import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaState } from "../../src/domain/state.js";
import { defineSaga } from "../../src/dsl/index.js";
import { decide, type Decision } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

const T0 = 1_000_000;
const ONCE = { maxAttempts: 1 } as const;
const TWICE = { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 100, jitter: "none" } as const;

const travel = defineSaga<null>({ name: "travel", version: 1 })
  .step("quote", { action: () => ({ price: 1 }), compensate: () => null })
  .parallel("reservations", (group) =>
    group
      .step("flight", { action: () => ({ seat: "1A" }), compensate: () => null, retry: ONCE })
      .step("hotel", { action: () => ({ room: 7 }), compensate: () => null, retry: TWICE })
      .step("car", { action: () => ({ plate: "X" }), compensate: () => null, retry: ONCE }),
  )
  .step("pay", { action: () => null, retry: ONCE })
  .build();
const plan = travel.plan;

const ok = (step: string, attempt = 1): SagaEvent => ({ type: "action_succeeded", step, attempt, output: { step } });
const fail = (step: string, attempt = 1, retryable = false, timedOut = false): SagaEvent => ({
  type: "action_failed",
  step,
  attempt,
  error: { name: "Refused", message: `${step} refused` },
  retryable,
  timedOut,
  jitter: 0.5,
});

function apply(state: SagaState, event: SagaEvent, at: number): Decision {
  return decide(plan, state, event, at);
}

/** `quote` done at T0 + 1: the three reservations are running. */
function reserving(): Decision {
  const initial = createInitialState(plan, { id: "trip-1", input: null, idempotencyKey: null, nowMs: T0 });
  const claimed = apply(initial.state, { type: "claimed" }, T0).state;
  return apply(claimed, ok("quote"), T0 + 1);
}

describe("a parallel group", () => {
  it("is plan data: consecutive steps sharing the group, each with its own policy", () => {
    expect(plan.steps.map((s) => [s.name, s.group?.name ?? null])).toEqual([
      ["quote", null],
      ["flight", "reservations"],
      ["hotel", "reservations"],
      ["car", "reservations"],
      ["pay", null],
    ]);
    expect(plan.steps[2]?.retry.maxAttempts).toBe(2);
    const builder = defineSaga<null>({ name: "x", version: 1 });
    expect(() => builder.parallel("g", (g) => g.step("only", { action: () => null }))).toThrow(/at least two steps/);
    expect(() => builder.parallel("g", (g) => g.step("a", { action: () => null, pivot: true }).step("b", { action: () => null }))).toThrow(/cannot be the pivot/);
    expect(() => builder.parallel("g", (g) => g.step("a", { action: () => null }).step("b", { action: () => null }), { onFailure: "panic" as "wait" })).toThrow(/onFailure/);
    expect(() => builder.step("a", { action: () => null }).parallel("g", (g) => g.step("a" as never, { action: () => null }).step("b", { action: () => null }))).toThrow(/must be unique/);
  });

  it("starts every member at once, with ids independent of completion order, and goes on once all succeeded", () => {
    const started = reserving();
    expect(started.commands.map((c) => [c.step, c.idempotencyKey])).toEqual([
      ["flight", "trip-1:flight"],
      ["hotel", "trip-1:hotel"],
      ["car", "trip-1:car"],
    ]);
    let s = apply(started.state, ok("car"), T0 + 2).state;
    s = apply(s, ok("flight"), T0 + 3).state;
    expect(s.steps[4]?.action.status).toBe("pending");
    const last = apply(s, ok("hotel"), T0 + 4);
    expect(last.commands).toMatchObject([{ step: "pay" }]);
    expect(last.state.settledOrder).toEqual([0, 3, 1, 2]);
  });

  it("retries a member on its own while the others run", () => {
    let s = apply(reserving().state, fail("hotel", 1, true), T0 + 2).state;
    expect(s.steps[2]?.action).toMatchObject({ status: "retrying", nextAttemptAtMs: T0 + 102 });
    // Flight and car still run: the saga stays due now (in doubt if its worker dies).
    expect(s.wakeAtMs).toBe(T0 + 2);
    s = apply(s, ok("flight"), T0 + 3).state;
    s = apply(s, ok("car"), T0 + 4).state;
    expect(s.wakeAtMs).toBe(T0 + 102);
    const retried = apply(s, { type: "timer_fired" }, T0 + 102);
    expect(retried.commands).toMatchObject([{ step: "hotel", attempt: 2, idempotencyKey: "trip-1:hotel" }]);
  });

  it("when one fails for good, waits for the siblings in flight, then compensates every sibling that took effect and the earlier steps, newest first", () => {
    let d = apply(reserving().state, ok("flight"), T0 + 2);
    d = apply(d.state, fail("car"), T0 + 3);
    // Hotel is still in flight: nothing is compensated yet (G4).
    expect(d.commands).toEqual([]);
    expect(d.state.status).toBe("running");
    d = apply(d.state, ok("hotel"), T0 + 4);
    expect(d.state.status).toBe("compensating");
    expect(d.state.compensationOrder.map((i) => plan.steps[i]?.name)).toEqual(["hotel", "flight", "quote"]);
    expect(d.commands).toMatchObject([{ step: "hotel", phase: "compensation" }]);
  });

  it("does not retry a sibling that fails after another failed for good, and gives up a sibling waiting to retry", () => {
    let d = apply(reserving().state, fail("hotel", 1, true), T0 + 2);
    expect(d.state.steps[2]?.action.status).toBe("retrying");
    d = apply(d.state, fail("flight"), T0 + 3);
    expect(d.state.steps[2]?.action.status).toBe("failed");
    d = apply(d.state, fail("car", 1, true), T0 + 4);
    expect(d.state.steps[3]?.action.status).toBe("failed");
    expect(d.state.status).toBe("compensating");
    expect(d.commands).toMatchObject([{ step: "quote", phase: "compensation" }]);
  });

  it("compensates a sibling whose outcome is unknown (aborted, timed out) as one that may have taken effect", () => {
    let d = apply(reserving().state, fail("flight"), T0 + 2);
    d = apply(d.state, fail("hotel", 1, true, true), T0 + 3);
    d = apply(d.state, ok("car"), T0 + 4);
    expect(d.state.compensationOrder.map((i) => plan.steps[i]?.name)).toEqual(["car", "hotel", "quote"]);
  });

  it("after a crash re-runs only the members whose outcome was not persisted", () => {
    const s = apply(reserving().state, ok("flight"), T0 + 2).state;
    const reclaimed = apply(s, { type: "claimed" }, T0 + 60_000);
    expect(reclaimed.commands.map((c) => [c.step, c.attempt])).toEqual([
      ["hotel", 2],
      ["car", 2],
    ]);
  });

  it("on a cancel lets the members in flight settle, then compensates what took effect", () => {
    let d = apply(reserving().state, { type: "cancel_requested", reason: "trip called off", by: "ops" }, T0 + 2);
    expect(d.commands).toEqual([]);
    d = apply(d.state, ok("flight"), T0 + 3);
    d = apply(d.state, fail("hotel", 1, true), T0 + 4);
    expect(d.state.steps[2]?.action.status).toBe("failed");
    d = apply(d.state, ok("car"), T0 + 5);
    expect(d.state.compensationOrder.map((i) => plan.steps[i]?.name)).toEqual(["car", "flight", "quote"]);
  });
});
