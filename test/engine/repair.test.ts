import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaState } from "../../src/domain/state.js";
import { defineSaga } from "../../src/dsl/index.js";
import { decide, type Decision } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

const T0 = 1_000_000;
const ONCE = { maxAttempts: 1 } as const;

const order = defineSaga<null>({ name: "order", version: 1 })
  .step("hold", { action: () => null, compensate: () => null, compensationRetry: ONCE })
  .step("charge", { action: () => null, compensate: () => null, compensationRetry: ONCE })
  .step("ship", { action: () => null, retry: ONCE })
  .build();
const plan = order.plan;

function apply(state: SagaState, event: SagaEvent, at: number): Decision {
  return decide(plan, state, event, at);
}

const boom = { name: "RefundDown", message: "refund API down" };

/** hold and charge succeeded, ship failed for good, charge's refund failed for good: failed, with both compensations outstanding. */
function failed(): SagaState {
  let s = createInitialState(plan, { id: "o-1", input: null, idempotencyKey: null, nowMs: T0 }).state;
  s = apply(s, { type: "claimed" }, T0).state;
  s = apply(s, { type: "action_succeeded", step: "hold", attempt: 1, output: null }, T0 + 1).state;
  s = apply(s, { type: "action_succeeded", step: "charge", attempt: 1, output: null }, T0 + 2).state;
  s = apply(s, { type: "action_failed", step: "ship", attempt: 1, error: { name: "NoCourier", message: "no" }, retryable: false, timedOut: false, jitter: 0.5 }, T0 + 3).state;
  s = apply(s, { type: "compensation_failed", step: "charge", attempt: 1, error: boom, retryable: true, timedOut: false, jitter: 0.5 }, T0 + 4).state;
  return s;
}

describe("an operator's repairs of a failed saga", () => {
  it("start from a failed saga that names what is outstanding, newest first", () => {
    expect(failed()).toMatchObject({ status: "failed", outstanding: [{ step: "charge", phase: "compensation" }, { step: "hold", phase: "compensation" }] });
  });

  it("skip: the skipped compensation counts as settled, the older ones run, and the saga ends compensated", () => {
    const skipped = apply(failed(), { type: "skip_requested", step: "charge", reason: "refunded by hand (OPS-42)", by: "ops:ana" }, T0 + 100);
    expect(skipped.ignored).toBeUndefined();
    expect(skipped.history[0]).toEqual({ type: "compensation_skipped", atMs: T0 + 100, step: "charge", reason: "refunded by hand (OPS-42)", by: "ops:ana" });
    expect(skipped.state.status).toBe("compensating");
    expect(skipped.state.steps[1]?.compensation.status).toBe("skipped");
    expect(skipped.state.outstanding).toBeUndefined();
    expect(skipped.commands).toMatchObject([{ step: "hold", phase: "compensation", attempt: 1 }]);
    const done = apply(skipped.state, { type: "compensation_succeeded", step: "hold", attempt: 1 }, T0 + 110);
    expect(done.state.status).toBe("compensated");
    expect(done.history.at(-1)).toMatchObject({ type: "saga_ended", status: "compensated" });
  });

  it("skip of the last outstanding compensation ends the saga compensated at once", () => {
    const first = apply(failed(), { type: "skip_requested", step: "charge", reason: "by hand", by: "ops" }, T0 + 100).state;
    const holdFails = apply(first, { type: "compensation_failed", step: "hold", attempt: 1, error: boom, retryable: false, timedOut: false, jitter: 0.5 }, T0 + 101).state;
    expect(holdFails).toMatchObject({ status: "failed", outstanding: [{ step: "hold", phase: "compensation" }] });
    const last = apply(holdFails, { type: "skip_requested", step: "hold", reason: "released by hand", by: "ops" }, T0 + 102);
    expect(last.state.status).toBe("compensated");
    expect(last.commands).toEqual([]);
    expect(last.history.map((h) => h.type)).toEqual(["compensation_skipped", "saga_ended"]);
  });

  it("skip is refused where it makes no sense: a compensation not outstanding, an action, a saga not failed", () => {
    expect(apply(failed(), { type: "skip_requested", step: "ship", reason: "r", by: "o" }, T0 + 5).ignored).toMatch(/compensation of ship is not outstanding/);
    const running = createInitialState(plan, { id: "o-2", input: null, idempotencyKey: null, nowMs: T0 }).state;
    expect(apply(running, { type: "skip_requested", step: "hold", reason: "r", by: "o" }, T0).ignored).toMatch(/only a failed saga/);
    const compensated = apply(apply(failed(), { type: "skip_requested", step: "charge", reason: "r", by: "o" }, T0 + 5).state, { type: "compensation_succeeded", step: "hold", attempt: 1 }, T0 + 6).state;
    expect(apply(compensated, { type: "skip_requested", step: "hold", reason: "r", by: "o" }, T0 + 7).ignored).toMatch(/already compensated/);
  });

  it("resolve: the saga stays failed, with who resolved it and why, once", () => {
    const resolved = apply(failed(), { type: "resolve_requested", reason: "customer refunded by bank transfer", by: "ops:bo" }, T0 + 100);
    expect(resolved.ignored).toBeUndefined();
    expect(resolved.state.status).toBe("failed");
    expect(resolved.state.resolution).toEqual({ reason: "customer refunded by bank transfer", by: "ops:bo", atMs: T0 + 100 });
    expect(resolved.state.outstanding).toEqual(failed().outstanding);
    expect(resolved.commands).toEqual([]);
    expect(resolved.history).toEqual([{ type: "resolved", atMs: T0 + 100, reason: "customer refunded by bank transfer", by: "ops:bo" }]);
    expect(apply(resolved.state, { type: "resolve_requested", reason: "again", by: "ops" }, T0 + 101).ignored).toMatch(/already marked resolved by ops:bo/);
  });

  it("a retry after a resolve reopens the saga and clears the resolution", () => {
    const resolved = apply(failed(), { type: "resolve_requested", reason: "r", by: "o" }, T0 + 100).state;
    const retried = apply(resolved, { type: "retry_requested", reason: "try again", by: "o" }, T0 + 101);
    expect(retried.state.status).toBe("compensating");
    expect(retried.commands).toMatchObject([{ step: "charge", phase: "compensation" }]);
  });
});
