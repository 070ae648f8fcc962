import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaState } from "../../src/domain/state.js";
import { defineSaga } from "../../src/dsl/index.js";
import { decide, type Decision } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

const T0 = 1_000_000;

const approval = defineSaga<null>({ name: "approval", version: 1 })
  .step("reserve", { action: () => ({ id: 1 }), compensate: () => undefined })
  .waitStep("approve", { timeoutMs: 5_000, retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 100, jitter: "none" } })
  .step("ship", { action: () => null })
  .build();
const plan = approval.plan;

/** The saga with `reserve` done and `approve` waiting (attempt 1, since T0 + 10). */
function waiting(): SagaState {
  const initial = createInitialState(plan, { id: "w-1", input: null, idempotencyKey: null, nowMs: T0 });
  let state = decide(plan, initial.state, { type: "claimed" }, T0).state;
  state = decide(plan, state, { type: "action_succeeded", step: "reserve", attempt: 1, output: { id: 1 } }, T0 + 10).state;
  return state;
}

function step(state: SagaState, event: SagaEvent, at: number): Decision {
  return decide(plan, state, event, at);
}

describe("a waiting step", () => {
  it("starts without a command to run, and the saga waits until its deadline", () => {
    const initial = createInitialState(plan, { id: "w-1", input: null, idempotencyKey: null, nowMs: T0 });
    const claimed = step(initial.state, { type: "claimed" }, T0);
    const decision = step(claimed.state, { type: "action_succeeded", step: "reserve", attempt: 1, output: { id: 1 } }, T0 + 10);
    expect(decision.commands).toEqual([]);
    expect(decision.history.map((h) => h.type)).toEqual(["attempt_succeeded", "attempt_started"]);
    expect(decision.state.steps[1]?.action).toMatchObject({ status: "running", attempt: 1, deadlineAtMs: T0 + 10 + 5_000 });
    expect(decision.state.wakeAtMs).toBe(T0 + 10 + 5_000);
  });

  it("takes an answer as its output and goes on with the next step, recording who answered", () => {
    const decision = step(waiting(), { type: "step_completed", step: "approve", attempt: 1, output: { approvedBy: "ana" }, by: "ops:ana" }, T0 + 50);
    expect(decision.ignored).toBeUndefined();
    expect(decision.state.steps[1]).toMatchObject({ output: { approvedBy: "ana" }, action: { status: "succeeded" } });
    expect(decision.state.steps[1]?.action.deadlineAtMs).toBeUndefined();
    expect(decision.history[0]).toMatchObject({ type: "attempt_succeeded", step: "approve", by: "ops:ana", output: { approvedBy: "ana" } });
    expect(decision.commands).toMatchObject([{ step: "ship", phase: "action", attempt: 1 }]);
  });

  it("takes one answer only: a second, or one for another attempt, is ignored", () => {
    const answered = step(waiting(), { type: "step_completed", step: "approve", attempt: 1, output: true, by: "a" }, T0 + 50).state;
    expect(step(answered, { type: "step_completed", step: "approve", attempt: 1, output: false, by: "b" }, T0 + 60).ignored).toMatch(/stale/);
    expect(step(waiting(), { type: "step_completed", step: "approve", attempt: 2, output: true, by: "a" }, T0 + 60).ignored).toMatch(/stale/);
    expect(step(waiting(), { type: "step_completed", step: "reserve", attempt: 1, output: true, by: "a" }, T0 + 60).ignored).toMatch(/does not wait/);
    expect(step(waiting(), { type: "step_completed", step: "nope", attempt: 1, output: true, by: "a" }, T0 + 60).ignored).toMatch(/unknown step/);
  });

  it("fails for good on a failure answer, and the saga compensates what completed", () => {
    const decision = step(
      waiting(),
      { type: "step_failed", step: "approve", attempt: 1, error: { name: "Rejected", message: "over budget" }, retryable: false, by: "ops:bo" },
      T0 + 50,
    );
    expect(decision.state.status).toBe("compensating");
    expect(decision.state.stop).toMatchObject({ reason: "step_failed", step: "approve", error: { message: "over budget" } });
    expect(decision.history[0]).toMatchObject({ type: "attempt_failed", by: "ops:bo", timedOut: false });
    expect(decision.commands).toMatchObject([{ step: "reserve", phase: "compensation" }]);
  });

  it("times out at its deadline (only then), waits again under its retry policy, then gives up", () => {
    expect(step(waiting(), { type: "timer_fired" }, T0 + 5_000).history).toEqual([]);
    const first = step(waiting(), { type: "timer_fired" }, T0 + 5_010);
    expect(first.history[0]).toMatchObject({ type: "attempt_failed", step: "approve", timedOut: true, error: { name: "WaitTimeoutError" }, nextAttemptAtMs: T0 + 5_110 });
    expect(first.state.wakeAtMs).toBe(T0 + 5_110);
    const second = step(first.state, { type: "claimed" }, T0 + 5_110);
    expect(second.commands).toEqual([]);
    expect(second.state.steps[1]?.action).toMatchObject({ status: "running", attempt: 2, deadlineAtMs: T0 + 10_110 });
    const gaveUp = step(second.state, { type: "timer_fired" }, T0 + 10_110);
    expect(gaveUp.history.map((h) => h.type)).toEqual(["attempt_failed", "phase_gave_up", "compensation_started", "attempt_started"]);
    expect(gaveUp.state.status).toBe("compensating");
  });

  it("is not in doubt when its worker dies: a claim leaves it waiting", () => {
    const claimed = step(waiting(), { type: "claimed" }, T0 + 100);
    expect(claimed.history).toEqual([]);
    expect(claimed.commands).toEqual([]);
    expect(claimed.state.recoveries).toBe(0);
    expect(claimed.state.steps[1]?.action).toMatchObject({ status: "running", attempt: 1 });
  });

  it("settles at once on a cancel, since no call of ours is in flight, and the saga compensates", () => {
    const decision = step(waiting(), { type: "cancel_requested", reason: "customer left", by: "ops" }, T0 + 20);
    expect(decision.state.steps[1]?.action).toMatchObject({ status: "failed", lastError: { name: "Cancelled" } });
    expect(decision.state.steps[1]?.action.deadlineAtMs).toBeUndefined();
    expect(decision.state.status).toBe("compensating");
    expect(decision.commands).toMatchObject([{ step: "reserve", phase: "compensation" }]);
  });

  it("without a timeout waits for nothing but its answer", () => {
    const forever = defineSaga<null>({ name: "forever", version: 1 }).waitStep("sign").build();
    const initial = createInitialState(forever.plan, { id: "f-1", input: null, idempotencyKey: null, nowMs: T0 });
    const claimed = decide(forever.plan, initial.state, { type: "claimed" }, T0);
    expect(claimed.state.wakeAtMs).toBeNull();
    expect(claimed.state.status).toBe("running");
    expect(decide(forever.plan, claimed.state, { type: "timer_fired" }, T0 + 10 ** 9).history).toEqual([]);
  });
});

describe("waitStep in the DSL", () => {
  it("marks the plan as waiting, defaults to one attempt, and refuses an action", () => {
    expect(plan.steps[1]).toMatchObject({ name: "approve", wait: true, timeoutMs: 5_000 });
    expect(defineSaga<null>({ name: "x", version: 1 }).waitStep("a").build().plan.steps[0]?.retry.maxAttempts).toBe(1);
    expect(() => defineSaga<null>({ name: "x", version: 1 }).waitStep("a", { action: () => 1 } as never)).toThrow(/steps\[0\]\.action/);
    expect(() => defineSaga<null>({ name: "x", version: 1 }).waitStep("a", { timeoutMs: -1 })).toThrow(/steps\[0\]\.timeoutMs/);
  });
});
