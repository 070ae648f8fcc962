import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaPlan } from "../../src/domain/plan.js";
import type { Outstanding, SagaState } from "../../src/domain/state.js";
import { decide } from "../../src/engine/decide.js";
import {
  EngineRun,
  cancel,
  claimed,
  compensated,
  compensationFailed,
  deepFreeze,
  failed,
  jsonRoundTrip,
  retryPolicy,
  sagaPlan,
  stepPlan,
  succeeded,
  timerFired,
} from "../support/engine-fixtures.js";

const abc = sagaPlan([stepPlan("a"), stepPlan("b"), stepPlan("c")]);

/** One event at a time; `[atMs, event]` moves the clock first. */
type ScriptLine = SagaEvent | [number, SagaEvent];

interface Scenario {
  name: string;
  plan: SagaPlan;
  script: ScriptLine[];
  /** Commands issued, in order: `a#1` an action attempt, `a~1` a compensation attempt. */
  log: string[];
  status: SagaState["status"];
  reason?: string;
  outstanding?: Outstanding[];
}

function play(plan: SagaPlan, script: readonly ScriptLine[]): EngineRun {
  const run = new EngineRun(plan);
  run.start();
  for (const line of script) {
    if (Array.isArray(line)) run.feed(line[1], line[0]);
    else run.feed(line);
  }
  return run;
}

const scenarios: Scenario[] = [
  {
    name: "happy path: three steps complete in order",
    plan: abc,
    script: [succeeded("a", 1), succeeded("b", 1), succeeded("c", 1)],
    log: ["a#1", "b#1", "c#1"],
    status: "completed",
  },
  {
    name: "retries exhausted: completed steps are compensated newest first",
    plan: abc,
    script: [
      succeeded("a", 1),
      succeeded("b", 1),
      failed("c", 1),
      [100, timerFired],
      failed("c", 2),
      [300, timerFired],
      failed("c", 3),
      compensated("b", 1),
      compensated("a", 1),
    ],
    log: ["a#1", "b#1", "c#1", "c#2", "c#3", "b~1", "a~1"],
    status: "compensated",
    reason: "step_failed",
  },
  {
    name: "terminal error (retryable: false) is not retried",
    plan: abc,
    script: [succeeded("a", 1), succeeded("b", 1), failed("c", 1, { retryable: false }), compensated("b", 1), compensated("a", 1)],
    log: ["a#1", "b#1", "c#1", "b~1", "a~1"],
    status: "compensated",
    reason: "step_failed",
  },
  {
    name: "an error named in policy.terminalErrors is not retried",
    plan: abc,
    script: [succeeded("a", 1), succeeded("b", 1), failed("c", 1, { name: "Fatal" }), compensated("b", 1), compensated("a", 1)],
    log: ["a#1", "b#1", "c#1", "b~1", "a~1"],
    status: "compensated",
  },
  {
    name: "the first step failing for good leaves nothing to compensate",
    plan: abc,
    script: [failed("a", 1, { retryable: false })],
    log: ["a#1"],
    status: "compensated",
    reason: "step_failed",
  },
  {
    name: "a compensation failing for good ends `failed` with it and the later ones outstanding",
    plan: abc,
    script: [succeeded("a", 1), succeeded("b", 1), failed("c", 1, { retryable: false }), compensationFailed("b", 1, { name: "Fatal" })],
    log: ["a#1", "b#1", "c#1", "b~1"],
    status: "failed",
    outstanding: [
      { step: "b", phase: "compensation" },
      { step: "a", phase: "compensation" },
    ],
  },
  {
    name: "a compensation that exhausts its retry policy ends `failed`",
    plan: sagaPlan([stepPlan("a"), stepPlan("b", { compensationRetry: retryPolicy({ maxAttempts: 2 }) }), stepPlan("c")]),
    script: [
      succeeded("a", 1),
      succeeded("b", 1),
      failed("c", 1, { retryable: false }),
      compensationFailed("b", 1),
      [100, timerFired],
      compensationFailed("b", 2),
    ],
    log: ["a#1", "b#1", "c#1", "b~1", "b~2"],
    status: "failed",
    outstanding: [
      { step: "b", phase: "compensation" },
      { step: "a", phase: "compensation" },
    ],
  },
  {
    name: "the last compensation failing leaves only itself outstanding",
    plan: abc,
    script: [succeeded("a", 1), succeeded("b", 1), failed("c", 1, { retryable: false }), compensated("b", 1), compensationFailed("a", 1, { retryable: false })],
    log: ["a#1", "b#1", "c#1", "b~1", "a~1"],
    status: "failed",
    outstanding: [{ step: "a", phase: "compensation" }],
  },
  {
    name: "failure after the pivot: `failed`, no compensation",
    plan: sagaPlan([stepPlan("a"), stepPlan("b", { pivot: true, hasCompensation: false }), stepPlan("c")]),
    script: [succeeded("a", 1), succeeded("b", 1), failed("c", 1, { retryable: false })],
    log: ["a#1", "b#1", "c#1"],
    status: "failed",
    reason: "step_failed_after_pivot",
    outstanding: [{ step: "c", phase: "action" }],
  },
  {
    name: "after the pivot retryable failures are still retried",
    plan: sagaPlan([stepPlan("a"), stepPlan("b", { pivot: true, hasCompensation: false }), stepPlan("c")]),
    script: [succeeded("a", 1), succeeded("b", 1), failed("c", 1), [100, timerFired], succeeded("c", 2)],
    log: ["a#1", "b#1", "c#1", "c#2"],
    status: "completed",
  },
  {
    name: "the pivot step itself failing rolls back the steps before it",
    plan: sagaPlan([stepPlan("a"), stepPlan("b", { pivot: true }), stepPlan("c")]),
    script: [succeeded("a", 1), failed("b", 1, { retryable: false }), compensated("a", 1)],
    log: ["a#1", "b#1", "a~1"],
    status: "compensated",
  },
  {
    name: "compensateOnFailure: the failed step is compensated first",
    plan: sagaPlan([stepPlan("a"), stepPlan("b"), stepPlan("c", { compensateOnFailure: true })]),
    script: [succeeded("a", 1), succeeded("b", 1), failed("c", 1, { retryable: false }), compensated("c", 1), compensated("b", 1), compensated("a", 1)],
    log: ["a#1", "b#1", "c#1", "c~1", "b~1", "a~1"],
    status: "compensated",
  },
  {
    name: "a timed-out final attempt may have taken effect: it is compensated",
    plan: sagaPlan([stepPlan("a"), stepPlan("b"), stepPlan("c", { retry: retryPolicy({ maxAttempts: 2 }) })]),
    script: [
      succeeded("a", 1),
      succeeded("b", 1),
      failed("c", 1),
      [100, timerFired],
      failed("c", 2, { timedOut: true }),
      compensated("c", 1),
      compensated("b", 1),
      compensated("a", 1),
    ],
    log: ["a#1", "b#1", "c#1", "c#2", "c~1", "b~1", "a~1"],
    status: "compensated",
  },
  {
    name: "an earlier timeout followed by a definite failure: not compensated",
    plan: abc,
    script: [
      succeeded("a", 1),
      succeeded("b", 1),
      failed("c", 1, { timedOut: true }),
      [100, timerFired],
      failed("c", 2, { retryable: false }),
      compensated("b", 1),
      compensated("a", 1),
    ],
    log: ["a#1", "b#1", "c#1", "c#2", "b~1", "a~1"],
    status: "compensated",
  },
  {
    name: "a timed-out attempt that fails for good (retryable: false) is compensated",
    plan: abc,
    script: [succeeded("a", 1), failed("b", 1, { timedOut: true, retryable: false }), compensated("b", 1), compensated("a", 1)],
    log: ["a#1", "b#1", "b~1", "a~1"],
    status: "compensated",
  },
  {
    name: "steps without a compensation are skipped",
    plan: sagaPlan([stepPlan("a"), stepPlan("b", { hasCompensation: false }), stepPlan("c")]),
    script: [succeeded("a", 1), succeeded("b", 1), failed("c", 1, { retryable: false }), compensated("a", 1)],
    log: ["a#1", "b#1", "c#1", "a~1"],
    status: "compensated",
  },
  {
    name: "cancel while an action runs: it settles, then is compensated",
    plan: abc,
    script: [succeeded("a", 1), cancel(), succeeded("b", 1), compensated("b", 1), compensated("a", 1)],
    log: ["a#1", "b#1", "b~1", "a~1"],
    status: "compensated",
    reason: "cancelled",
  },
  {
    name: "cancel while an action runs that then fails retryably: no retry, not compensated",
    plan: abc,
    script: [succeeded("a", 1), cancel(), failed("b", 1), compensated("a", 1)],
    log: ["a#1", "b#1", "a~1"],
    status: "compensated",
    reason: "cancelled",
  },
  {
    name: "cancel while a step waits to retry: compensates at once",
    plan: abc,
    script: [succeeded("a", 1), failed("b", 1), [10, cancel()], compensated("a", 1), [500, timerFired]],
    log: ["a#1", "b#1", "a~1"],
    status: "compensated",
    reason: "cancelled",
  },
  {
    name: "cancel while waiting to retry after a timeout: the timed-out step is compensated",
    plan: abc,
    script: [succeeded("a", 1), failed("b", 1, { timedOut: true }), [10, cancel()], compensated("b", 1), compensated("a", 1)],
    log: ["a#1", "b#1", "b~1", "a~1"],
    status: "compensated",
  },
  {
    name: "a retried compensation eventually succeeds",
    plan: abc,
    script: [
      succeeded("a", 1),
      failed("b", 1, { retryable: false }),
      compensationFailed("a", 1),
      [150, timerFired],
      compensationFailed("a", 2, { timedOut: true }),
      [1_000, timerFired],
      compensated("a", 3),
    ],
    log: ["a#1", "b#1", "a~1", "a~2", "a~3"],
    status: "compensated",
  },
];

describe("decide: scenarios", () => {
  it.each(scenarios)("$name", ({ plan, script, log, status, reason, outstanding }) => {
    const run = play(plan, script);
    expect(run.log).toEqual(log);
    expect(run.state.status).toBe(status);
    expect(run.state.wakeAtMs).toBeNull();
    expect(run.state.endedAtMs).toBeLessThanOrEqual(run.nowMs);
    if (reason !== undefined) expect(run.state.stop?.reason).toBe(reason);
    if (status === "completed") expect(run.state.stop).toBeUndefined();
    if (outstanding !== undefined) expect(run.state.outstanding).toEqual(outstanding);
    else expect(run.state.outstanding).toBeUndefined();
    expect(run.history.filter((h) => h.type === "saga_ended")).toEqual([
      expect.objectContaining({ type: "saga_ended", atMs: run.state.endedAtMs, status }),
    ]);
  });

  it.each(scenarios)("$name: no command is issued twice and every key is `<id>:<step>[:compensate]`", ({ plan, script }) => {
    const run = play(plan, script);
    for (const command of run.commands) {
      expect(command.idempotencyKey).toBe(command.phase === "action" ? `s1:${command.step}` : `s1:${command.step}:compensate`);
      expect(plan.steps[command.stepIndex]?.name).toBe(command.step);
    }
    const seen = run.commands.map((c) => `${c.step}/${c.phase}/${c.attempt}`);
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe("decide: the happy path in detail", () => {
  it("starts the first step on the first wake-up, recorded as running and due now", () => {
    const run = new EngineRun(abc);
    const d = run.feed(timerFired, 5);
    expect(d.commands).toEqual([{ type: "run", phase: "action", step: "a", stepIndex: 0, attempt: 1, idempotencyKey: "s1:a", timeoutMs: 0 }]);
    expect(run.phase("a", "action")).toMatchObject({ status: "running", attempt: 1, startedAtMs: 5 });
    expect(d.state.wakeAtMs).toBe(5);
    expect(d.history).toEqual([{ type: "attempt_started", atMs: 5, step: "a", phase: "action", attempt: 1 }]);
  });

  it("a claim of a fresh instance starts it too, without counting a recovery", () => {
    const run = new EngineRun(abc);
    const d = run.feed(claimed);
    expect(run.log).toEqual(["a#1"]);
    expect(d.state.recoveries).toBe(0);
  });

  it.each([
    [0, "a", "s1:a"],
    [1, "b", "s1:b"],
    [2, "c", "s1:c"],
  ])("step %i (%s) runs with key %s, after the previous output was recorded", (index, step, key) => {
    const run = new EngineRun(abc);
    run.start();
    for (const name of ["a", "b", "c"].slice(0, index)) run.feed(succeeded(name, 1, { from: name }));
    const command = run.last.commands[0];
    expect(command).toMatchObject({ step, stepIndex: index, attempt: 1, idempotencyKey: key, phase: "action" });
    for (const name of ["a", "b", "c"].slice(0, index)) {
      expect(run.state.steps.find((s) => s.name === name)?.output).toEqual({ from: name });
    }
  });

  it("passes each step's timeout on, and the compensation's own timeout on compensations", () => {
    const plan = sagaPlan([stepPlan("a", { timeoutMs: 1_500, compensationTimeoutMs: 700 }), stepPlan("b", { timeoutMs: 50 })]);
    const run = new EngineRun(plan);
    run.start();
    expect(run.last.commands[0]?.timeoutMs).toBe(1_500);
    run.feed(succeeded("a", 1));
    expect(run.last.commands[0]?.timeoutMs).toBe(50);
    run.feed(failed("b", 1, { retryable: false }));
    expect(run.last.commands[0]).toMatchObject({ phase: "compensation", step: "a", timeoutMs: 700, idempotencyKey: "s1:a:compensate" });
  });

  it("records settle order and the saga's end in history", () => {
    const run = play(abc, [succeeded("a", 1), succeeded("b", 1), succeeded("c", 1, { ok: true })]);
    expect(run.state.settledOrder).toEqual([0, 1, 2]);
    expect(run.state.steps[2]?.output).toEqual({ ok: true });
    expect(run.last.history).toEqual([
      { type: "attempt_succeeded", atMs: 0, step: "c", phase: "action", attempt: 1, output: { ok: true } },
      { type: "saga_ended", atMs: 0, status: "completed" },
    ]);
  });

  it("an action that succeeded without an output records null", () => {
    const run = new EngineRun(sagaPlan([stepPlan("a")]));
    run.start();
    run.feed({ type: "action_succeeded", step: "a", attempt: 1 });
    expect(run.state.steps[0]?.output).toBeNull();
    expect(run.state.status).toBe("completed");
  });
});

describe("decide: retry timing", () => {
  function failingB(): EngineRun {
    const run = new EngineRun(abc);
    run.start();
    run.feed(succeeded("a", 1));
    run.feed(failed("b", 1), 1_000);
    return run;
  }

  it("a retryable failure waits with a backoff wake-up time", () => {
    const run = failingB();
    expect(run.last.commands).toEqual([]);
    expect(run.phase("b", "action")).toMatchObject({ status: "retrying", attempt: 1, failures: 1, nextAttemptAtMs: 1_100 });
    expect(run.state.wakeAtMs).toBe(1_100);
    expect(run.state.status).toBe("running");
    expect(run.last.history).toEqual([
      expect.objectContaining({ type: "attempt_failed", step: "b", attempt: 1, nextAttemptAtMs: 1_100, timedOut: false }),
    ]);
  });

  it.each([
    { at: 1_000, starts: false },
    { at: 1_050, starts: false },
    { at: 1_099, starts: false },
    { at: 1_100, starts: true },
    { at: 5_000, starts: true },
  ])("timer_fired at $at: starts attempt 2 = $starts", ({ at, starts }) => {
    const run = failingB();
    const d = run.feed(timerFired, at);
    expect(d.ignored).toBeUndefined();
    if (starts) {
      expect(d.commands).toEqual([expect.objectContaining({ step: "b", attempt: 2, idempotencyKey: "s1:b" })]);
      expect(run.phase("b", "action")).toMatchObject({ status: "running", attempt: 2, failures: 1 });
      expect(run.phase("b", "action").nextAttemptAtMs).toBeUndefined();
      expect(d.state.wakeAtMs).toBe(at);
    } else {
      expect(d.commands).toEqual([]);
      expect(d.history).toEqual([]);
      expect(run.phase("b", "action")).toMatchObject({ status: "retrying", attempt: 1, nextAttemptAtMs: 1_100 });
      expect(d.state.wakeAtMs).toBe(1_100);
    }
  });

  it("timer_fired while an attempt runs starts nothing new", () => {
    const run = new EngineRun(abc);
    run.start();
    const d = run.feed(timerFired, 10);
    expect(d.commands).toEqual([]);
    expect(run.phase("a", "action")).toMatchObject({ status: "running", attempt: 1 });
  });

  it.each([
    { failure: 1, delay: 100 },
    { failure: 2, delay: 200 },
    { failure: 3, delay: 400 },
    { failure: 4, delay: 800 },
    { failure: 5, delay: 1_000 },
  ])("backoff grows: after failure $failure the next attempt is due $delay ms later", ({ failure, delay }) => {
    const plan = sagaPlan([stepPlan("a", { retry: retryPolicy({ maxAttempts: 6 }) })]);
    const run = new EngineRun(plan);
    run.start();
    for (let n = 1; n < failure; n++) {
      run.feed(failed("a", n));
      run.feed(timerFired, run.state.wakeAtMs ?? 0);
    }
    run.feed(failed("a", failure));
    expect(run.state.wakeAtMs).toBe(run.nowMs + delay);
  });

  it("full jitter scales the delay by the event's jitter", () => {
    const plan = sagaPlan([stepPlan("a", { retry: retryPolicy({ jitter: "full" }) })]);
    const run = new EngineRun(plan);
    run.start();
    run.feed(failed("a", 1, { jitter: 0.25 }), 1_000);
    expect(run.state.wakeAtMs).toBe(1_025);
  });

  it.each([
    { retryAfterMs: 5_000, due: 6_000 },
    { retryAfterMs: 101, due: 1_101 },
    { retryAfterMs: 50, due: 1_100 },
    { retryAfterMs: 0, due: 1_100 },
  ])("retryAfterMs $retryAfterMs: next attempt due at $due (the larger of it and the backoff)", ({ retryAfterMs, due }) => {
    const run = new EngineRun(abc);
    run.start();
    run.feed(failed("a", 1, { retryAfterMs }), 1_000);
    expect(run.phase("a", "action").nextAttemptAtMs).toBe(due);
    expect(run.state.wakeAtMs).toBe(due);
    run.feed(timerFired, due - 1);
    expect(run.last.commands).toEqual([]);
    run.feed(timerFired, due);
    expect(run.log).toEqual(["a#1", "a#2"]);
  });

  it("a zero backoff starts the next attempt in the same decision", () => {
    const plan = sagaPlan([stepPlan("a", { retry: retryPolicy({ initialDelayMs: 0, maxDelayMs: 0 }) })]);
    const run = new EngineRun(plan);
    run.start();
    const d = run.feed(failed("a", 1), 7);
    expect(d.commands).toEqual([expect.objectContaining({ step: "a", attempt: 2 })]);
  });

  it("maxAttempts 1 means no retry", () => {
    const plan = sagaPlan([stepPlan("a"), stepPlan("b", { retry: retryPolicy({ maxAttempts: 1 }) })]);
    const run = play(plan, [succeeded("a", 1), failed("b", 1)]);
    expect(run.log).toEqual(["a#1", "b#1", "a~1"]);
    expect(run.phase("b", "action")).toMatchObject({ status: "failed", failures: 1 });
    expect(run.last.history).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "phase_gave_up", step: "b", phase: "action", attempts: 1 })]),
    );
  });

  it("a compensation's terminalErrors are honoured", () => {
    const plan = sagaPlan([stepPlan("a", { compensationRetry: retryPolicy({ terminalErrors: ["Gone"] }) }), stepPlan("b")]);
    const run = play(plan, [succeeded("a", 1), failed("b", 1, { retryable: false }), compensationFailed("a", 1, { name: "Gone" })]);
    expect(run.state.status).toBe("failed");
    expect(run.state.stop?.reason).toBe("step_failed");
    expect(run.last.history.at(-1)).toMatchObject({ type: "saga_ended", status: "failed", reason: "compensation_failed" });
  });
});

describe("decide: compensation", () => {
  it("fixes the order when compensation begins and marks the rest not_needed", () => {
    const plan = sagaPlan([stepPlan("a"), stepPlan("b", { hasCompensation: false }), stepPlan("c"), stepPlan("d")]);
    const run = play(plan, [succeeded("a", 1), succeeded("b", 1), succeeded("c", 1), failed("d", 1, { retryable: false })]);
    expect(run.state.status).toBe("compensating");
    expect(run.state.compensationOrder).toEqual([2, 0]);
    expect(run.state.steps.map((s) => s.compensation.status)).toEqual(["pending", "not_needed", "running", "not_needed"]);
    expect(run.last.history).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "compensation_started", reason: "step_failed", step: "d", order: ["c", "a"] }),
      ]),
    );
    expect(run.state.stop).toMatchObject({ reason: "step_failed", step: "d", error: { name: "Error" } });
  });

  it("a compensation runs with the same key on every attempt", () => {
    const run = play(abc, [succeeded("a", 1), failed("b", 1, { retryable: false }), compensationFailed("a", 1), [100, timerFired]]);
    const keys = run.commands.filter((c) => c.phase === "compensation").map((c) => [c.attempt, c.idempotencyKey]);
    expect(keys).toEqual([
      [1, "s1:a:compensate"],
      [2, "s1:a:compensate"],
    ]);
  });

  it("a compensation waiting to retry is not started early", () => {
    const run = play(abc, [succeeded("a", 1), failed("b", 1, { retryable: false }), [1_000, compensationFailed("a", 1)]]);
    expect(run.state.wakeAtMs).toBe(1_100);
    run.feed(timerFired, 1_099);
    expect(run.last.commands).toEqual([]);
    expect(run.state.status).toBe("compensating");
  });
});

describe("decide: cancel", () => {
  it("while an action runs: recorded, nothing new starts until it settles", () => {
    const run = play(abc, [succeeded("a", 1)]);
    const d = run.feed(cancel("changed mind", "bob"), 40);
    expect(d.commands).toEqual([]);
    expect(d.state.status).toBe("running");
    expect(d.state.cancel).toEqual({ reason: "changed mind", by: "bob", atMs: 40 });
    expect(d.history).toEqual([{ type: "cancel_requested", atMs: 40, reason: "changed mind", by: "bob" }]);
    expect(run.phase("b", "action").status).toBe("running");
    const after = run.feed(succeeded("b", 1), 50);
    expect(after.commands.map((c) => `${c.step}/${c.phase}`)).toEqual(["b/compensation"]);
    expect(after.state.compensationOrder).toEqual([1, 0]);
    expect(after.state.stop?.reason).toBe("cancelled");
  });

  it("while a step waits to retry: compensates at once and never starts another attempt", () => {
    const run = play(abc, [succeeded("a", 1), failed("b", 1)]);
    const d = run.feed(cancel(), 20);
    expect(d.commands).toEqual([expect.objectContaining({ step: "a", phase: "compensation", attempt: 1 })]);
    expect(run.phase("b", "action")).toMatchObject({ status: "failed", attempt: 1 });
    expect(run.phase("b", "action").nextAttemptAtMs).toBeUndefined();
    expect(run.phase("b", "compensation").status).toBe("not_needed");
    expect(d.history.map((h) => h.type)).toEqual(["cancel_requested", "phase_gave_up", "compensation_started", "attempt_started"]);
    run.feed(timerFired, 10_000);
    expect(run.log).toEqual(["a#1", "b#1", "a~1"]);
  });

  it("during the first step: that step is compensated once it succeeds", () => {
    const run = new EngineRun(abc);
    run.start();
    run.feed(cancel());
    const d = run.feed(succeeded("a", 1));
    expect(d.commands).toEqual([expect.objectContaining({ step: "a", phase: "compensation" })]);
  });

  it("a cancelled step whose action failed for good is not compensated unless it says so", () => {
    const run = play(abc, [succeeded("a", 1), cancel(), failed("b", 1, { retryable: false })]);
    expect(run.state.compensationOrder).toEqual([0]);
    expect(run.state.stop).toMatchObject({ reason: "cancelled", step: "b" });
  });

  const pivotPlan = sagaPlan([stepPlan("a"), stepPlan("p", { pivot: true, hasCompensation: false }), stepPlan("c")]);

  it.each<{ name: string; plan: SagaPlan; before: ScriptLine[]; reason: RegExp }>([
    { name: "after the pivot succeeded", plan: pivotPlan, before: [succeeded("a", 1), succeeded("p", 1)], reason: /pivot/ },
    { name: "twice", plan: abc, before: [cancel()], reason: /already requested/ },
    { name: "while compensating", plan: abc, before: [succeeded("a", 1), failed("b", 1, { retryable: false })], reason: /compensating/ },
    { name: "when completed", plan: abc, before: [succeeded("a", 1), succeeded("b", 1), succeeded("c", 1)], reason: /completed/ },
    { name: "when compensated", plan: abc, before: [failed("a", 1, { retryable: false })], reason: /compensated/ },
    {
      name: "when failed",
      plan: abc,
      before: [succeeded("a", 1), failed("b", 1, { retryable: false }), compensationFailed("a", 1, { retryable: false })],
      reason: /failed/,
    },
  ])("is ignored $name, with a reason and the very same state", ({ plan, before, reason }) => {
    const run = play(plan, before);
    const state = run.state;
    const d = run.feed(cancel(), run.nowMs + 1);
    expect(d.ignored).toMatch(reason);
    expect(d.state).toBe(state);
    expect(d.commands).toEqual([]);
    expect(d.history).toEqual([]);
  });

  it("requested while the pivot runs and the pivot then succeeds: rolls forward", () => {
    const run = play(pivotPlan, [succeeded("a", 1), cancel(), succeeded("p", 1), succeeded("c", 1)]);
    expect(run.log).toEqual(["a#1", "p#1", "c#1"]);
    expect(run.state.status).toBe("completed");
  });
});

describe("decide: recovery of attempts in doubt", () => {
  it("claimed with an action running: in doubt, recoveries+1, same step re-run as attempt+1 with the same key", () => {
    const run = play(abc, [succeeded("a", 1)]);
    const d = run.feed(claimed, 30);
    expect(d.state.recoveries).toBe(1);
    expect(d.commands).toEqual([
      { type: "run", phase: "action", step: "b", stepIndex: 1, attempt: 2, idempotencyKey: "s1:b", timeoutMs: 0 },
    ]);
    expect(d.history[0]).toEqual({ type: "attempt_in_doubt", atMs: 30, step: "b", phase: "action", attempt: 1, recoveries: 1 });
    expect(run.phase("b", "action")).toMatchObject({ status: "running", attempt: 2, failures: 0 });
  });

  it("an in-doubt attempt does not spend the retry budget", () => {
    const plan = sagaPlan([stepPlan("a", { retry: retryPolicy({ maxAttempts: 2 }) })]);
    const run = play(plan, [claimed, claimed, failed("a", 3), [100, timerFired]]);
    expect(run.log).toEqual(["a#1", "a#2", "a#3", "a#4"]);
    expect(run.phase("a", "action")).toMatchObject({ status: "running", attempt: 4, failures: 1 });
  });

  it("claimed with a compensation running re-runs it with the compensation key", () => {
    const run = play(abc, [succeeded("a", 1), failed("b", 1, { retryable: false })]);
    const d = run.feed(claimed);
    expect(d.commands).toEqual([expect.objectContaining({ phase: "compensation", step: "a", attempt: 2, idempotencyKey: "s1:a:compensate" })]);
    expect(d.state.status).toBe("compensating");
  });

  it("claimed with nothing running: no recovery is counted", () => {
    const run = play(abc, [failed("a", 1)]);
    const d = run.feed(claimed, 10);
    expect(d.state.recoveries).toBe(0);
    expect(d.commands).toEqual([]);
    expect(d.history).toEqual([]);
    expect(d.state.wakeAtMs).toBe(100);
  });

  it.each([0, 1, 3])("more than maxRecoveries (%i) in-doubt claims: failed with reason recovery_limit", (maxRecoveries) => {
    const plan = sagaPlan([stepPlan("a"), stepPlan("b")], maxRecoveries);
    const run = play(plan, [succeeded("a", 1)]);
    for (let n = 1; n <= maxRecoveries; n++) {
      run.feed(claimed);
      expect(run.state.status).toBe("running");
      expect(run.last.commands).toEqual([expect.objectContaining({ step: "b", attempt: n + 1 })]);
    }
    const d = run.feed(claimed, 99);
    expect(d.commands).toEqual([]);
    expect(d.state.status).toBe("failed");
    expect(d.state.recoveries).toBe(maxRecoveries + 1);
    expect(d.state.stop).toMatchObject({ reason: "recovery_limit", step: "b", error: { name: "RecoveryLimitError" } });
    expect(d.state.outstanding).toEqual([{ step: "b", phase: "action" }]);
    expect(d.state.wakeAtMs).toBeNull();
    expect(d.history.at(-1)).toMatchObject({ type: "saga_ended", status: "failed", reason: "recovery_limit" });
  });

  it("the recovery limit during compensation names the in-doubt compensation and the ones after it", () => {
    const plan = sagaPlan([stepPlan("a"), stepPlan("b"), stepPlan("c")], 0);
    const run = play(plan, [succeeded("a", 1), succeeded("b", 1), failed("c", 1, { retryable: false })]);
    const d = run.feed(claimed);
    expect(d.state.status).toBe("failed");
    expect(d.state.outstanding).toEqual([
      { step: "b", phase: "compensation" },
      { step: "a", phase: "compensation" },
    ]);
    expect(d.state.stop?.reason).toBe("step_failed");
  });

  it("the outcome of the dropped attempt arriving late is ignored", () => {
    const run = play(abc, [succeeded("a", 1), claimed]);
    const state = run.state;
    const d = run.feed(succeeded("b", 1));
    expect(d.ignored).toMatch(/stale/);
    expect(d.state).toBe(state);
    run.feed(succeeded("b", 2));
    expect(run.log).toEqual(["a#1", "b#1", "b#2", "c#1"]);
  });
});

describe("decide: stale and duplicate deliveries", () => {
  const cases: Array<{ name: string; before: ScriptLine[]; event: SagaEvent; reason: RegExp }> = [
    { name: "wrong attempt (future)", before: [], event: succeeded("a", 2), reason: /stale/ },
    { name: "wrong attempt (past)", before: [failed("a", 1), [100, timerFired]], event: failed("a", 1), reason: /stale/ },
    { name: "already succeeded", before: [succeeded("a", 1)], event: succeeded("a", 1), reason: /stale/ },
    { name: "failure of an attempt that succeeded", before: [succeeded("a", 1)], event: failed("a", 1), reason: /stale/ },
    { name: "duplicate failure while waiting to retry", before: [failed("a", 1)], event: failed("a", 1), reason: /stale/ },
    { name: "unknown step", before: [], event: succeeded("zz", 1), reason: /unknown step/ },
    { name: "an action outcome for a step not started", before: [], event: succeeded("b", 1), reason: /stale/ },
    { name: "a compensation outcome while its action runs", before: [], event: compensated("a", 1), reason: /stale/ },
    {
      name: "duplicate compensation success",
      before: [succeeded("a", 1), succeeded("b", 1), failed("c", 1, { retryable: false }), compensated("b", 1)],
      event: compensated("b", 1),
      reason: /stale/,
    },
    {
      name: "any outcome once terminal",
      before: [succeeded("a", 1), succeeded("b", 1), succeeded("c", 1)],
      event: succeeded("c", 1),
      reason: /already completed/,
    },
  ];

  it.each(cases)("$name: ignored, the very same state object, nothing issued", ({ before, event, reason }) => {
    const run = play(abc, before);
    const state = run.state;
    const d = run.feed(event, run.nowMs + 1);
    expect(d.ignored).toMatch(reason);
    expect(d.state).toBe(state);
    expect(d.commands).toEqual([]);
    expect(d.history).toEqual([]);
  });
});

describe("decide: purity and persistence", () => {
  it("refuses a plan of another definition or version", () => {
    const run = new EngineRun(abc);
    expect(() => decide({ ...abc, version: 2 }, run.state, timerFired, 0)).toThrow(RangeError);
    expect(() => decide({ ...abc, name: "other" }, run.state, timerFired, 0)).toThrow(/does not match/);
  });

  it("never mutates a deep-frozen input, through every kind of event", () => {
    const plan = sagaPlan([stepPlan("a"), stepPlan("b", { compensateOnFailure: true }), stepPlan("c")]);
    const run = new EngineRun(plan);
    run.start();
    const events: ScriptLine[] = [
      succeeded("a", 1),
      failed("b", 1, { timedOut: true }),
      [100, timerFired],
      claimed,
      cancel(),
      failed("b", 3, { retryAfterMs: 10 }),
      compensationFailed("b", 1),
      [10_000, timerFired],
      compensated("b", 2),
      compensated("a", 1),
    ];
    const frozen: SagaState[] = [];
    for (const line of events) {
      const [at, event] = Array.isArray(line) ? line : [run.nowMs, line];
      frozen.push(deepFreeze(run.state));
      const snapshot = structuredClone(run.state);
      const d = decide(plan, run.state, event, at);
      expect(d.state).not.toBe(frozen.at(-1));
      expect(frozen.at(-1)).toStrictEqual(snapshot);
      run.nowMs = at;
      run.state = d.state;
    }
    expect(run.state.status).toBe("compensated");
  });

  it("copies on write: the steps an event touches are new objects, the others are shared with the input", () => {
    const run = new EngineRun(abc);
    run.start();
    const before = deepFreeze(run.state);
    const d = decide(abc, before, succeeded("a", 1), 5);
    expect(d.state).not.toBe(before);
    expect(d.state.steps).not.toBe(before.steps);
    expect(d.state.settledOrder).not.toBe(before.settledOrder);
    // a settled and b started: both copied; c untouched: shared, as is the input payload.
    expect(d.state.steps[0]).not.toBe(before.steps[0]);
    expect(d.state.steps[1]).not.toBe(before.steps[1]);
    expect(d.state.steps[2]).toBe(before.steps[2]);
    expect(d.state.input).toBe(before.input);
    expect(before.steps[0]?.action.status).toBe("running");
    expect(d.state.steps[0]?.action.status).toBe("succeeded");
    expect(d.state.settledOrder).toEqual([0]);
    expect(before.settledOrder).toEqual([]);
  });

  it("every state of every scenario survives a JSON round trip unchanged", () => {
    for (const { plan, script } of scenarios) {
      const run = new EngineRun(plan);
      const states: SagaState[] = [run.state, run.start().state];
      for (const line of script) states.push((Array.isArray(line) ? run.feed(line[1], line[0]) : run.feed(line)).state);
      for (const state of states) expect(jsonRoundTrip(state)).toStrictEqual(state);
      expect(states.length).toBe(script.length + 2);
    }
  });

  it("a failed saga's state with errors, stop, cancel and outstanding survives JSON", () => {
    const run = play(abc, [succeeded("a", 1, { nested: { list: [1, "x", null, true] } }), cancel(), failed("b", 1), compensationFailed("a", 1, { retryable: false })]);
    expect(run.state.status).toBe("failed");
    expect(run.state.cancel).toBeDefined();
    expect(run.state.outstanding).toHaveLength(1);
    expect(jsonRoundTrip(run.state)).toStrictEqual(run.state);
  });
});
