import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaPlan } from "../../src/domain/plan.js";
import type { SagaState } from "../../src/domain/state.js";
import { defineSaga } from "../../src/dsl/index.js";
import { decide } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

const T0 = 5_000_000;
const ERROR = { name: "TerminalError", message: "refused" };

function run(plan: SagaPlan, events: SagaEvent[]): SagaState {
  let state = createInitialState(plan, { id: "r-1", input: null, idempotencyKey: null, nowMs: T0 }).state;
  let now = T0;
  for (const event of events) state = decide(plan, state, event, (now += 10)).state;
  return state;
}

const payment = defineSaga<null>({ name: "pay", version: 1 })
  .step("charge", { action: () => null, compensate: () => undefined, compensationRetry: { maxAttempts: 1 } })
  .step("ship", { action: () => null, retry: { maxAttempts: 1 } })
  .build().plan;

/** charge succeeds, ship fails for good, charge's compensation fails for good: failed, its refund outstanding. */
const failedCompensation: SagaEvent[] = [
  { type: "claimed" },
  { type: "action_succeeded", step: "charge", attempt: 1, output: null },
  { type: "action_failed", step: "ship", attempt: 1, error: ERROR, retryable: false, timedOut: false, jitter: 0 },
  { type: "compensation_failed", step: "charge", attempt: 1, error: ERROR, retryable: false, timedOut: false, jitter: 0 },
];

describe("retry_requested", () => {
  it("reopens a saga whose compensation failed: the compensation runs again with a fresh budget, then it ends compensated", () => {
    const failed = run(payment, failedCompensation);
    expect(failed).toMatchObject({ status: "failed", outstanding: [{ step: "charge", phase: "compensation" }] });
    const retried = decide(payment, failed, { type: "retry_requested", reason: "refund API fixed", by: "ops:ana" }, T0 + 1_000);
    expect(retried.ignored).toBeUndefined();
    expect(retried.state.status).toBe("compensating");
    expect(retried.state.outstanding).toBeUndefined();
    expect(retried.state.endedAtMs).toBeUndefined();
    expect(retried.history[0]).toMatchObject({ type: "retry_requested", by: "ops:ana", reason: "refund API fixed", outstanding: [{ step: "charge", phase: "compensation" }] });
    expect(retried.commands).toMatchObject([{ step: "charge", phase: "compensation", attempt: 2, idempotencyKey: "r-1:charge:compensate" }]);
    expect(retried.state.steps[0]?.compensation).toMatchObject({ status: "running", failures: 0 });
    const done = decide(payment, retried.state, { type: "compensation_succeeded", step: "charge", attempt: 2 }, T0 + 1_010);
    expect(done.state.status).toBe("compensated");
  });

  it("reopens a saga parked after its pivot: the failed step runs again going forward, and the saga can complete", () => {
    const pivoted = defineSaga<null>({ name: "pivoted", version: 1 })
      .step("charge", { action: () => null, pivot: true })
      .step("ship", { action: () => null, retry: { maxAttempts: 1 } })
      .build().plan;
    const failed = run(pivoted, [
      { type: "claimed" },
      { type: "action_succeeded", step: "charge", attempt: 1, output: null },
      { type: "action_failed", step: "ship", attempt: 1, error: ERROR, retryable: false, timedOut: false, jitter: 0 },
    ]);
    expect(failed).toMatchObject({ status: "failed", stop: { reason: "step_failed_after_pivot" } });
    const retried = decide(pivoted, failed, { type: "retry_requested", reason: "address fixed", by: "ops" }, T0 + 1_000);
    expect(retried.state.status).toBe("running");
    expect(retried.state.stop).toBeUndefined();
    expect(retried.commands).toMatchObject([{ step: "ship", phase: "action", attempt: 2 }]);
    expect(decide(pivoted, retried.state, { type: "action_succeeded", step: "ship", attempt: 2, output: null }, T0 + 1_010).state.status).toBe("completed");
  });

  it("is ignored by a saga that is not failed, and takes nothing else once failed", () => {
    const failed = run(payment, failedCompensation);
    const running = run(payment, [{ type: "claimed" }]);
    expect(decide(payment, running, { type: "retry_requested", reason: "x", by: "y" }, T0 + 100).ignored).toMatch(/only a failed saga/);
    const completed = run(payment, [
      { type: "claimed" },
      { type: "action_succeeded", step: "charge", attempt: 1, output: null },
      { type: "action_succeeded", step: "ship", attempt: 1, output: null },
    ]);
    expect(decide(payment, completed, { type: "retry_requested", reason: "x", by: "y" }, T0 + 100).ignored).toMatch(/already completed/);
    expect(decide(payment, failed, { type: "cancel_requested", reason: "x", by: "y" }, T0 + 100).ignored).toMatch(/already failed/);
    expect(decide(payment, failed, { type: "claimed" }, T0 + 100).ignored).toMatch(/already failed/);
  });
});
