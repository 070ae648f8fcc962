import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SagaEvent } from "../../src/domain/events.js";
import type { SagaPlan } from "../../src/domain/plan.js";
import type { PhaseState, SagaState } from "../../src/domain/state.js";
import { isTerminal, type Phase } from "../../src/domain/status.js";
import { planArb, rollbackArb, scriptArb, simulate, type Fed, type Move, type Trace } from "../support/engine-sim.js";

/** What the test knows about one phase, from the events it fed and the commands it saw, not from the engine's state. */
interface PhaseModel {
  lastAttempt: number;
  key: string | undefined;
  /** Attempt issued and not settled (its outcome not yet accepted), or null. */
  running: number | null;
  failures: number;
  succeeded: boolean;
  failedForGood: boolean;
  lastTimedOut: boolean;
}

function freshPhase(): PhaseModel {
  return { lastAttempt: 0, key: undefined, running: null, failures: 0, succeeded: false, failedForGood: false, lastTimedOut: false };
}

/**
 * An independent reference model of the guarantees, advanced alongside the trace. Every
 * `assert` below is one of G1/G3/G4 or a purity rule; `where` says which fed event broke it.
 */
class TraceChecker {
  readonly plan: SagaPlan;
  readonly id: string;
  readonly action: PhaseModel[];
  readonly compensation: PhaseModel[];
  /** Steps whose action settled for good (succeeded, or failed for good), in the order they settled. */
  readonly settleOrder: number[] = [];
  /** Steps in the order their first compensation attempt was issued. */
  readonly compensationIssueOrder: number[] = [];
  pivotSucceeded = false;
  cancelAccepted = false;
  sagaEnded = 0;
  where = "";

  constructor(trace: Trace) {
    this.plan = trace.plan;
    this.id = trace.sagaId;
    this.action = trace.plan.steps.map(freshPhase);
    this.compensation = trace.plan.steps.map(freshPhase);
  }

  phase(index: number, phase: Phase): PhaseModel {
    const p = (phase === "action" ? this.action : this.compensation)[index];
    assert.ok(p, `${this.where}: no step ${index}`);
    return p;
  }

  /** G4: the action may have taken effect (it succeeded, or failed for good in a way that may leave effects). */
  mayHaveEffect(index: number): boolean {
    const a = this.phase(index, "action");
    return a.succeeded || (a.failedForGood && (this.plan.steps[index]?.compensateOnFailure === true || a.lastTimedOut));
  }

  /** Newest first: the order compensations must run in. */
  expectedCompensationOrder(): number[] {
    return [...this.settleOrder].reverse().filter((i) => this.mayHaveEffect(i) && this.plan.steps[i]?.hasCompensation === true);
  }

  stepIndex(name: string): number {
    return this.plan.steps.findIndex((s) => s.name === name);
  }

  check(fed: Fed, n: number): void {
    const { decision, before, beforeCopy, event, kind, nowMs } = fed;
    this.where = `fed #${n} (${kind} ${JSON.stringify(event)} at ${nowMs})`;
    const after = decision.state;

    assert.ok(isDeepStrictEqual(before, beforeCopy), `${this.where}: decide mutated its input state`);
    assert.ok(isDeepStrictEqual(JSON.parse(JSON.stringify(after)), after), `${this.where}: state does not survive a JSON round trip`);

    if (decision.ignored !== undefined) {
      assert.equal(after, before, `${this.where}: an ignored event must return the very same state`);
      assert.deepEqual(decision.commands, []);
      assert.deepEqual(decision.history, []);
    }
    if (kind === "duplicate" || kind === "stale") assert.ok(decision.ignored !== undefined, `${this.where}: duplicate/stale delivery was applied`);
    if (kind === "outcome") assert.equal(decision.ignored, undefined, `${this.where}: the outcome of a running attempt was ignored`);
    if (kind === "cancel") {
      const refuse = isTerminal(before.status) || before.status === "compensating" || this.cancelAccepted || this.pivotSucceeded;
      assert.equal(decision.ignored !== undefined, refuse, `${this.where}: cancel ignored=${decision.ignored} but expected refuse=${refuse}`);
    }
    if (decision.ignored !== undefined) return;

    if (event.type === "action_succeeded" || event.type === "compensation_succeeded" || event.type === "action_failed" || event.type === "compensation_failed") {
      this.applyOutcome(event, nowMs, after);
    } else if (event.type === "cancel_requested") {
      this.applyCancel(after);
    } else if (event.type === "claimed") {
      this.applyClaim(before, fed);
    }

    for (const command of decision.commands) {
      assert.ok(
        decision.history.some((h) => h.type === "attempt_started" && h.step === command.step && h.phase === command.phase && h.attempt === command.attempt),
        `${this.where}: command without attempt_started history`,
      );
      this.applyCommand(command.stepIndex, command.phase, command.attempt, command.idempotencyKey, command.step, fed);
    }
    if (kind === "wake" && !isTerminal(after.status)) {
      assert.ok(decision.commands.length > 0, `${this.where}: woke up when due with nothing in flight, but started nothing (stall)`);
    }

    const ended = decision.history.filter((h) => h.type === "saga_ended");
    this.sagaEnded += ended.length;
    assert.equal(ended.length, isTerminal(after.status) ? 1 : 0, `${this.where}: saga_ended must be written exactly when the saga ends`);
    this.checkStateAgreesWithModel(after);
  }

  applyOutcome(event: Exclude<SagaEvent, { type: "claimed" | "timer_fired" | "cancel_requested" | "step_completed" | "step_failed" | "retry_requested" | "signal_received" | "skip_requested" | "resolve_requested" | "abort_requested" }>, nowMs: number, after: SagaState): void {
    const index = this.stepIndex(event.step);
    const phase: Phase = event.type.startsWith("action") ? "action" : "compensation";
    const p = this.phase(index, phase);
    const stepPlan = this.plan.steps[index];
    assert.ok(stepPlan);
    assert.equal(p.running, event.attempt, `${this.where}: accepted an outcome for an attempt that is not running`);
    p.running = null;
    const engine = phase === "action" ? after.steps[index]?.action : after.steps[index]?.compensation;
    assert.ok(engine);

    if (!("error" in event)) {
      p.succeeded = true;
      assert.equal(engine.status, "succeeded");
      if (phase === "action") {
        this.settleOrder.push(index);
        if (stepPlan.pivot) this.pivotSucceeded = true;
      }
      return;
    }

    p.failures += 1;
    p.lastTimedOut = event.timedOut;
    const policy = phase === "action" ? stepPlan.retry : stepPlan.compensationRetry;
    const forGood =
      !event.retryable ||
      policy.terminalErrors.includes(event.error.name) ||
      p.failures >= policy.maxAttempts ||
      (phase === "action" && this.cancelAccepted && !this.pivotSucceeded);
    if (!forGood) {
      assert.ok(engine.status === "retrying" || engine.status === "running", `${this.where}: expected a retry, phase is ${engine.status}`);
      if (engine.status === "retrying") {
        const due = engine.nextAttemptAtMs;
        assert.ok(due !== undefined);
        const minDelay = event.retryAfterMs ?? 0;
        assert.ok(due >= nowMs + minDelay, `${this.where}: retryAfterMs not honoured (due ${due})`);
        assert.ok(due <= nowMs + Math.max(policy.maxDelayMs, minDelay), `${this.where}: backoff above its cap (due ${due})`);
        assert.ok(due > nowMs, `${this.where}: retrying although due now`);
        assert.equal(after.wakeAtMs, due, `${this.where}: wakeAtMs is not the retry's due time`);
      }
      return;
    }

    p.failedForGood = true;
    assert.equal(engine.status, "failed", `${this.where}: expected the ${phase} to fail for good`);
    if (phase === "compensation") {
      assert.equal(after.status, "failed", `${this.where}: a compensation failed for good but the saga is ${after.status}`);
      // G1: the failed compensation and every one still due after it, newest first.
      const due = this.expectedCompensationOrder().filter((j) => !this.phase(j, "compensation").succeeded);
      assert.deepEqual(
        after.outstanding,
        due.map((j) => ({ step: this.plan.steps[j]?.name, phase: "compensation" })),
        `${this.where}: outstanding must name the failed compensation and the ones after it`,
      );
      assert.equal(due[0], index);
      return;
    }
    this.settleOrder.push(index);
    if (this.pivotSucceeded) {
      assert.equal(after.status, "failed", `${this.where}: failure after the pivot must park the saga`);
      assert.equal(after.stop?.reason, "step_failed_after_pivot");
      assert.deepEqual(after.outstanding, [{ step: event.step, phase: "action" }]);
    }
  }

  applyCancel(after: SagaState): void {
    this.cancelAccepted = true;
    this.action.forEach((a, index) => {
      const waitingToRetry = a.lastAttempt > 0 && a.running === null && !a.succeeded && !a.failedForGood;
      if (!waitingToRetry) return;
      a.failedForGood = true;
      this.settleOrder.push(index);
      assert.equal(after.steps[index]?.action.status, "failed", `${this.where}: a cancel must end the wait for a retry`);
    });
  }

  applyClaim(before: SagaState, fed: Fed): void {
    const after = fed.decision.state;
    const inDoubt: Array<{ index: number; phase: Phase; attempt: number }> = [];
    for (const phase of ["action", "compensation"] as const) {
      this.plan.steps.forEach((_, index) => {
        const running = this.phase(index, phase).running;
        if (running !== null) inDoubt.push({ index, phase, attempt: running });
      });
    }
    const inDoubtHistory = fed.decision.history.filter((h) => h.type === "attempt_in_doubt");
    if (inDoubt.length === 0) {
      assert.equal(after.recoveries, before.recoveries, `${this.where}: a claim with nothing in doubt counted a recovery`);
      assert.equal(inDoubtHistory.length, 0);
      return;
    }
    assert.equal(after.recoveries, before.recoveries + 1, `${this.where}: recoveries must grow by one`);
    assert.equal(inDoubtHistory.length, inDoubt.length);
    if (after.recoveries > this.plan.maxRecoveries) {
      assert.equal(after.status, "failed", `${this.where}: past maxRecoveries the saga must be parked`);
      assert.deepEqual(fed.decision.commands, []);
      const reason = fed.decision.history.find((h) => h.type === "saga_ended");
      assert.ok(reason?.type === "saga_ended" && reason.reason === "recovery_limit", `${this.where}: reason must be recovery_limit`);
      for (const d of inDoubt) {
        const step = this.plan.steps[d.index]?.name;
        assert.ok(after.outstanding?.some((o) => o.step === step && o.phase === d.phase), `${this.where}: in-doubt ${step} ${d.phase} not outstanding`);
        this.phase(d.index, d.phase).running = null;
      }
      return;
    }
    for (const d of inDoubt) {
      assert.ok(
        fed.decision.commands.some((c) => c.stepIndex === d.index && c.phase === d.phase && c.attempt === d.attempt + 1),
        `${this.where}: in-doubt ${d.phase} of step ${d.index} attempt ${d.attempt} must be re-run as attempt ${d.attempt + 1}`,
      );
    }
  }

  applyCommand(index: number, phase: Phase, attempt: number, key: string, step: string, fed: Fed): void {
    const p = this.phase(index, phase);
    const stepPlan = this.plan.steps[index];
    assert.ok(stepPlan);
    assert.equal(step, stepPlan.name);
    // G3: one stable key per phase, in the documented shape.
    assert.equal(key, phase === "action" ? `${this.id}:${step}` : `${this.id}:${step}:compensate`);
    if (p.key !== undefined) assert.equal(key, p.key);
    p.key = key;
    assert.ok(attempt > p.lastAttempt, `${this.where}: attempt numbers must strictly increase (${p.lastAttempt} → ${attempt})`);
    assert.ok(!p.succeeded && !p.failedForGood, `${this.where}: started a settled ${phase} of ${step}`);
    const firstAttempt = p.lastAttempt === 0;
    p.lastAttempt = attempt;

    if (phase === "action") {
      assert.equal(this.compensationIssueOrder.length, 0, `${this.where}: an action started after compensation began`);
      for (let j = 0; j < index; j++) assert.ok(this.phase(j, "action").succeeded, `${this.where}: ${step} started before step ${j} succeeded`);
      this.action.forEach((a, j) => assert.ok(j === index || a.running === null, `${this.where}: two actions running at once`));
      if (this.cancelAccepted && !this.pivotSucceeded) {
        assert.equal(fed.kind, "crash", `${this.where}: after a cancel an action may only be re-run when in doubt`);
      }
      p.running = attempt;
      return;
    }

    // G4.
    assert.ok(!this.pivotSucceeded, `${this.where}: compensation after the pivot succeeded`);
    assert.ok(this.action.every((a) => a.running === null), `${this.where}: compensation issued while an action is unsettled`);
    assert.ok(this.action[index] !== undefined && this.phase(index, "action").lastAttempt > 0, `${this.where}: compensating a step that never started`);
    assert.ok(stepPlan.hasCompensation, `${this.where}: compensating a step without a compensation`);
    assert.ok(this.mayHaveEffect(index), `${this.where}: compensating ${step} whose action cannot have taken effect`);
    this.compensation.forEach((c, j) => assert.ok(j === index || c.running === null, `${this.where}: two compensations running at once`));
    if (firstAttempt) {
      const next = this.expectedCompensationOrder().find((j) => !this.phase(j, "compensation").succeeded);
      assert.equal(index, next, `${this.where}: compensation order is not newest first (expected step ${next})`);
      this.compensationIssueOrder.push(index);
    }
    p.running = attempt;
  }

  checkStateAgreesWithModel(state: SagaState): void {
    if (isTerminal(state.status)) {
      assert.equal(state.wakeAtMs, null, `${this.where}: a terminal saga must not wake`);
      return;
    }
    let anyRunning = false;
    state.steps.forEach((step, index) => {
      for (const [phase, engine] of [
        ["action", step.action],
        ["compensation", step.compensation],
      ] as Array<[Phase, PhaseState]>) {
        const model = this.phase(index, phase);
        const running = engine.status === "running" ? engine.attempt : null;
        assert.equal(running, model.running, `${this.where}: engine says ${phase} of ${step.name} running=${running}, the test expects ${model.running}`);
        anyRunning ||= running !== null;
      }
    });
    if (!anyRunning) assert.ok(typeof state.wakeAtMs === "number", `${this.where}: waiting for nothing yet not terminal`);
  }

  /** G1, checked on the final state. */
  checkEnd(final: SagaState): void {
    this.where = "end";
    assert.equal(this.sagaEnded, 1, "saga_ended must be written exactly once");
    const steps = this.plan.steps;
    switch (final.status) {
      case "completed":
        assert.ok(this.action.every((a) => a.succeeded), "completed but not every action succeeded");
        assert.ok(final.steps.every((s) => s.action.status === "succeeded"));
        assert.equal(this.compensationIssueOrder.length, 0, "completed but a compensation ran");
        assert.equal(final.outstanding, undefined);
        break;
      case "compensated":
        assert.ok(!this.pivotSucceeded, "compensated after the pivot succeeded");
        steps.forEach((step, index) => {
          if (step.hasCompensation && this.mayHaveEffect(index)) {
            assert.ok(this.phase(index, "compensation").succeeded, `compensated but ${step.name} (may have taken effect) was not compensated`);
          }
        });
        assert.deepEqual(this.compensationIssueOrder, this.expectedCompensationOrder(), "compensations did not run newest first");
        assert.equal(final.outstanding, undefined);
        break;
      case "failed": {
        const outstanding = final.outstanding ?? [];
        assert.ok(outstanding.length > 0, "failed without naming what is outstanding");
        for (const o of outstanding) {
          const index = this.stepIndex(o.step);
          assert.ok(index >= 0, `outstanding names an unknown step ${o.step}`);
          assert.ok(!this.phase(index, o.phase).succeeded, `outstanding names ${o.step} ${o.phase}, which succeeded`);
          const engine = o.phase === "action" ? final.steps[index]?.action : final.steps[index]?.compensation;
          assert.notEqual(engine?.status, "succeeded");
        }
        break;
      }
      default:
        assert.fail(`not a terminal status: ${final.status}`);
    }
  }
}

function checkTrace(trace: Trace): void {
  assert.ok(!trace.ranOut, `the saga did not end within the loop bound (status ${trace.final.status})`);
  const checker = new TraceChecker(trace);
  trace.fed.forEach((fed, n) => checker.check(fed, n));
  checker.checkEnd(trace.final);
}

const seen = new Map<string, number>();
function tally(key: string): void {
  seen.set(key, (seen.get(key) ?? 0) + 1);
}

describe("decide: properties over random plans and scripts", () => {
  it("G1, G3, G4, stale deliveries, attempts, keys, JSON and purity hold for every run", () => {
    fc.assert(
      fc.property(planArb, scriptArb, (plan, script) => {
        const trace = simulate(plan, script);
        checkTrace(trace);
        tally(trace.final.status);
        const ended = trace.fed.flatMap((f) => f.decision.history).find((h) => h.type === "saga_ended");
        if (ended?.type === "saga_ended" && ended.reason !== undefined) tally(ended.reason);
        for (const f of trace.fed) {
          if (f.decision.ignored !== undefined) tally(`ignored:${f.kind}`);
          if (f.decision.history.some((h) => h.type === "attempt_in_doubt")) tally("in_doubt");
        }
      }),
      { numRuns: 500 },
    );
    // The generators must reach every ending and every kind of fault, or the checks above prove little.
    for (const key of [
      "completed",
      "compensated",
      "failed",
      "compensation_failed",
      "recovery_limit",
      "step_failed_after_pivot",
      "in_doubt",
      "ignored:duplicate",
      "ignored:stale",
      "ignored:cancel",
    ]) {
      expect(seen.get(key) ?? 0, key).toBeGreaterThan(0);
    }
  });

  it("rollbacks of many steps under faults: compensations run newest first, each after its action settled", () => {
    let multiStep = 0;
    fc.assert(
      fc.property(rollbackArb, ({ plan, script }) => {
        const trace = simulate(plan, script);
        checkTrace(trace);
        expect(trace.final.status).not.toBe("completed");
        const compensatedSteps = new Set(trace.fed.flatMap((f) => f.decision.commands).filter((c) => c.phase === "compensation").map((c) => c.step));
        if (compensatedSteps.size > 1) multiStep++;
      }),
      { numRuns: 400 },
    );
    expect(multiStep).toBeGreaterThan(50);
  });

  it("heavy faults: many crashes, duplicates and cancels", () => {
    const faultyScript = fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.record({ kind: fc.constant("crash" as const), lostOutcome: fc.constant("success" as const), dtMs: fc.nat(50) }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat(), dtMs: fc.nat(50) }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant("stale" as const), pick: fc.nat(), dtMs: fc.nat(50) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), dtMs: fc.nat(50) }) },
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant("outcome" as const),
            outcome: fc.constantFrom("success" as const, "retryable" as const, "timeout" as const),
            jitter: fc.constant(0.5),
            retryAfterMs: fc.constant(undefined),
            dtMs: fc.nat(50),
          }),
        },
      ),
      { maxLength: 80 },
    ) as fc.Arbitrary<Move[]>;
    const manyRecoveries = planArb.map((plan) => ({ ...plan, maxRecoveries: plan.maxRecoveries + 5 }));
    fc.assert(
      fc.property(manyRecoveries, faultyScript, (plan, script) => checkTrace(simulate(plan, script))),
      { numRuns: 300 },
    );
  });

  it("without faults every saga completes, in order, one attempt per step", () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const trace = simulate(plan, []);
        checkTrace(trace);
        expect(trace.final.status).toBe("completed");
        const commands = trace.fed.flatMap((f) => f.decision.commands);
        expect(commands.map((c) => `${c.step}#${c.attempt}`)).toEqual(plan.steps.map((s) => `${s.name}#1`));
      }),
      { numRuns: 100 },
    );
  });

  it("the checker itself rejects a trace whose compensations ran in the wrong order", () => {
    // Guards against a vacuous checker: take a real trace and swap two compensation commands.
    const plan: SagaPlan = {
      name: "sim",
      version: 1,
      maxRecoveries: 1,
      steps: ["a", "b", "c"].map((name) => ({
        name,
        pivot: false,
        hasCompensation: true,
        compensateOnFailure: false,
        retry: { maxAttempts: 1, initialDelayMs: 0, multiplier: 1, maxDelayMs: 0, jitter: "none", terminalErrors: [] },
        timeoutMs: 0,
        compensationRetry: { maxAttempts: 1, initialDelayMs: 0, multiplier: 1, maxDelayMs: 0, jitter: "none", terminalErrors: [] },
        compensationTimeoutMs: 0,
      })),
    };
    const script: Move[] = [
      { kind: "outcome", outcome: "success", jitter: 0, retryAfterMs: undefined, dtMs: 1 },
      { kind: "outcome", outcome: "success", jitter: 0, retryAfterMs: undefined, dtMs: 1 },
      { kind: "outcome", outcome: "terminal", jitter: 0, retryAfterMs: undefined, dtMs: 1 },
    ];
    const trace = simulate(plan, script);
    expect(() => checkTrace(trace)).not.toThrow();
    expect(trace.final.status).toBe("compensated");
    const firstCompensation = trace.fed.find((f) => f.decision.commands.some((c) => c.phase === "compensation"));
    const command = firstCompensation?.decision.commands[0];
    expect(command?.step).toBe("b");
    if (command) Object.assign(command, { step: "a", stepIndex: 0, idempotencyKey: `${trace.sagaId}:a:compensate` });
    const started = firstCompensation?.decision.history.find((h) => h.type === "attempt_started" && h.phase === "compensation");
    if (started) Object.assign(started, { step: "a" });
    expect(() => checkTrace(trace)).toThrow(/not newest first/);
  });
});
