import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaState } from "../../src/domain/state.js";
import { defineSaga } from "../../src/dsl/index.js";
import { decide, type Decision } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

const T0 = 1_000_000;
const MINUTE = 60_000;

const booking = defineSaga<null>({ name: "booking", version: 1, deadlineMs: 10 * MINUTE })
  .step("hold", { action: () => null, compensate: () => null })
  .waitStep("approval", { compensate: () => null })
  .step("charge", { action: () => null, compensate: () => null, pivot: true })
  .step("ship", { action: () => null })
  .build();
const plan = booking.plan;

function apply(state: SagaState, event: SagaEvent, at: number): Decision {
  return decide(plan, state, event, at);
}

function started(deadlineAtMs?: number): SagaState {
  const initial = createInitialState(plan, { id: "b-1", input: null, idempotencyKey: null, nowMs: T0, ...(deadlineAtMs === undefined ? {} : { deadlineAtMs }) });
  return apply(initial.state, { type: "claimed" }, T0).state;
}

/** `hold` done: the saga waits for approval, with nothing of ours running. */
function waiting(): SagaState {
  return apply(started(), { type: "action_succeeded", step: "hold", attempt: 1, output: null }, T0 + 10).state;
}

describe("a saga's deadline", () => {
  it("comes from the definition (from the start), or from the start itself", () => {
    expect(plan.deadlineMs).toBe(10 * MINUTE);
    expect(started().deadlineAtMs).toBe(T0 + 10 * MINUTE);
    expect(started(T0 + MINUTE).deadlineAtMs).toBe(T0 + MINUTE);
    expect(() => defineSaga({ name: "x", version: 1, deadlineMs: 0 })).toThrow(/deadlineMs/);
  });

  it("keeps a waiting saga due by its deadline, so a worker looks at it then", () => {
    expect(waiting().wakeAtMs).toBe(T0 + 10 * MINUTE);
  });

  it("when it passes, rolls the saga back as if cancelled: the wait ends, what completed is compensated", () => {
    const passed = apply(waiting(), { type: "timer_fired" }, T0 + 10 * MINUTE);
    expect(passed.history.map((h) => h.type)).toEqual(["deadline_passed", "phase_gave_up", "compensation_started", "attempt_started"]);
    expect(passed.history[0]).toEqual({ type: "deadline_passed", atMs: T0 + 10 * MINUTE, deadlineAtMs: T0 + 10 * MINUTE });
    expect(passed.state.cancel).toMatchObject({ by: "deadline" });
    expect(passed.state.status).toBe("compensating");
    expect(passed.commands).toMatchObject([{ step: "hold", phase: "compensation" }]);
    // The compensations are not cut short by the deadline: no wake-up is pinned to it any more.
    const compensated = apply(passed.state, { type: "compensation_succeeded", step: "hold", attempt: 1 }, T0 + 11 * MINUTE);
    expect(compensated.state.status).toBe("compensated");
  });

  it("lets a step that is running settle first, then compensates it too", () => {
    const running = started();
    const settled = apply(running, { type: "action_succeeded", step: "hold", attempt: 1, output: null }, T0 + 10 * MINUTE + 5);
    expect(settled.history[0]).toMatchObject({ type: "attempt_succeeded", step: "hold" });
    expect(settled.history.map((h) => h.type)).toContain("deadline_passed");
    expect(settled.commands).toMatchObject([{ step: "hold", phase: "compensation" }]);
  });

  it("no longer applies once the saga passed its pivot: it only rolls forward", () => {
    let s = apply(waiting(), { type: "step_completed", step: "approval", attempt: 1, output: true, by: "ops" }, T0 + 20).state;
    s = apply(s, { type: "action_succeeded", step: "charge", attempt: 1, output: null }, T0 + 30).state;
    expect(s.pivotPassed).toBe(true);
    const late = apply(s, { type: "action_succeeded", step: "ship", attempt: 1, output: null }, T0 + 20 * MINUTE);
    expect(late.state.status).toBe("completed");
    expect(late.history.map((h) => h.type)).not.toContain("deadline_passed");
  });
});
