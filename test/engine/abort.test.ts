import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaState } from "../../src/domain/state.js";
import { defineSaga } from "../../src/dsl/index.js";
import { decide, type Decision } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

const T0 = 1_000_000;
const trip = defineSaga<null>({ name: "trip", version: 1 })
  .step("flight", { action: () => null, compensate: () => null })
  .step("hotel", { action: () => null, compensate: () => null })
  .waitStep("approval")
  .step("pay", { action: () => null })
  .build();
const plan = trip.plan;
const abort = { type: "abort_requested" as const, reason: "participant is double-charging, stop everything", by: "ops:ana" };

function apply(state: SagaState, event: SagaEvent, at: number): Decision {
  return decide(plan, state, event, at);
}

/** flight done; hotel running (in flight). */
function hotelRunning(): SagaState {
  const initial = createInitialState(plan, { id: "t-1", input: null, idempotencyKey: null, nowMs: T0 });
  const claimed = apply(initial.state, { type: "claimed" }, T0).state;
  return apply(claimed, { type: "action_succeeded", step: "flight", attempt: 1, output: null }, T0 + 1).state;
}

describe("abort: stop without compensating", () => {
  it("lets the step in flight settle, starts nothing after it, and ends failed with the compensations it did not run outstanding", () => {
    const asked = apply(hotelRunning(), abort, T0 + 2);
    expect(asked.ignored).toBeUndefined();
    expect(asked.history).toEqual([{ type: "abort_requested", atMs: T0 + 2, reason: abort.reason, by: "ops:ana" }]);
    expect(asked.state.status).toBe("running");
    expect(asked.commands).toEqual([]);

    const settled = apply(asked.state, { type: "action_succeeded", step: "hotel", attempt: 1, output: null }, T0 + 3);
    expect(settled.commands).toEqual([]);
    expect(settled.state).toMatchObject({
      status: "failed",
      stop: { reason: "aborted" },
      outstanding: [
        { step: "hotel", phase: "compensation" },
        { step: "flight", phase: "compensation" },
      ],
    });
    expect(settled.history.at(-1)).toMatchObject({ type: "saga_ended", status: "failed", reason: "aborted" });
    expect(settled.state.steps.map((s) => s.compensation.status)).toEqual(["pending", "pending", "not_needed", "not_needed"]);
  });

  it("ends a waiting saga at once, and a later retry compensates what it left", () => {
    const waiting = apply(apply(hotelRunning(), { type: "action_succeeded", step: "hotel", attempt: 1, output: null }, T0 + 3).state, { type: "timer_fired" }, T0 + 4).state;
    expect(waiting.steps[2]?.action.status).toBe("running");
    const aborted = apply(waiting, abort, T0 + 5);
    expect(aborted.state.status).toBe("failed");
    expect(aborted.state.steps[2]?.action).toMatchObject({ status: "failed", lastError: { name: "Aborted" } });
    expect(aborted.commands).toEqual([]);
    expect(apply(aborted.state, abort, T0 + 6).ignored).toMatch(/already failed/);
    expect(apply(aborted.state, { type: "cancel_requested", reason: "x", by: "y" }, T0 + 6).ignored).toMatch(/already failed/);

    const retried = apply(aborted.state, { type: "retry_requested", reason: "all clear", by: "ops" }, T0 + 10);
    expect(retried.state.status).toBe("compensating");
    expect(retried.state.abort).toBeUndefined();
    expect(retried.commands).toMatchObject([{ step: "hotel", phase: "compensation" }]);
  });

  it("during a rollback stops the compensations after the one in flight", () => {
    const compensating = apply(apply(hotelRunning(), { type: "action_succeeded", step: "hotel", attempt: 1, output: null }, T0 + 3).state, { type: "cancel_requested", reason: "c", by: "u" }, T0 + 4);
    // approval waited and was settled by the cancel; hotel's compensation runs.
    expect(compensating.commands).toMatchObject([{ step: "hotel", phase: "compensation" }]);
    const asked = apply(compensating.state, abort, T0 + 5).state;
    const done = apply(asked, { type: "compensation_succeeded", step: "hotel", attempt: 1 }, T0 + 6);
    expect(done.commands).toEqual([]);
    expect(done.state).toMatchObject({ status: "failed", stop: { reason: "aborted" }, outstanding: [{ step: "flight", phase: "compensation" }] });
  });
});
