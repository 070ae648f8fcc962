import { idempotencyKeyFor, type SagaCommand } from "../domain/commands.js";
import type { ErrorInfo } from "../domain/error-info.js";
import type { AbortRequestedEvent, PhaseFailedEvent, PhaseSucceededEvent, ResolveRequestedEvent, SagaEvent, SignalReceivedEvent, SkipRequestedEvent, StepCompletedEvent, StepFailedEvent } from "../domain/events.js";
import type { HistoryEntry } from "../domain/history.js";
import type { SagaPlan } from "../domain/plan.js";
import type { Outstanding, PhaseState, SagaState, StepState, StopReason } from "../domain/state.js";
import { isTerminal, type Phase } from "../domain/status.js";
import { retryDelayMs } from "./backoff.js";
import { appendExact, copyPhase, copyState, startedPhase, stepWith, succeededPhase } from "../domain/copy-state.js";

/** What an operator may still do to a `failed` saga. */
const OPERATOR_REPAIRS: ReadonlySet<SagaEvent["type"]> = new Set(["retry_requested", "skip_requested", "resolve_requested"]);

/** The engine's answer to one event. */
export interface Decision {
  /** The next state; the input state is never mutated. */
  state: SagaState;
  /** Attempts to start now, each already recorded as started in `state`. */
  commands: SagaCommand[];
  /** Entries to append to the instance's history, in order. */
  history: HistoryEntry[];
  /** Set when the event was not applicable (a duplicate or stale delivery, a late cancel); `state` is then unchanged. */
  ignored?: string;
}

/**
 * The state being decided, copy-on-write: `s` is a fresh top-level object whose `steps` array is
 * fresh too, but each step and each of its phases still is the input's until `edit` copies it, and
 * `settledOrder` until `markSettled` replaces it. So the input is never mutated and untouched
 * parts are shared, not cloned. On the hot paths an optional field is deleted only when it is
 * set: `delete` of an absent field still costs a call into V8's runtime on every transition.
 */
interface Draft {
  plan: SagaPlan;
  s: SagaState;
  /** The state decided from: a step of `s.steps` that is still its step there is not copied yet (read-only). */
  input: SagaState;
  now: number;
  commands: SagaCommand[];
  history: HistoryEntry[];
}

/**
 * The saga engine: a pure function from (plan, state, event, now) to the next state and
 * the commands to run. No I/O, no clock, no randomness: all of it arrives in the arguments.
 */
export function decide(plan: SagaPlan, state: SagaState, event: SagaEvent, nowMs: number): Decision {
  if (plan.name !== state.definitionName || plan.version !== state.definitionVersion) {
    throw new RangeError(
      `plan ${plan.name}@${plan.version} does not match instance ${state.id} (${state.definitionName}@${state.definitionVersion})`,
    );
  }
  // A failed saga takes one event still: an operator's retry, which reopens it.
  // A failed saga takes an operator's repairs still: retry (which reopens it), skip, resolve.
  if (isTerminal(state.status) && !(state.status === "failed" && OPERATOR_REPAIRS.has(event.type))) return ignore(state, `saga is already ${state.status}`);

  // `settledOrder` stays the input's until `markSettled` replaces it.
  const s = copyState(state);
  const d: Draft = { plan, s, input: state, now: nowMs, commands: [], history: [] };
  let ignored: string | undefined;
  switch (event.type) {
    case "claimed":
      recoverInDoubt(d);
      break;
    case "timer_fired":
      expireWaits(d);
      break;
    case "action_succeeded":
    case "compensation_succeeded":
      ignored = applySuccess(d, event);
      break;
    case "action_failed":
    case "compensation_failed":
      ignored = applyFailure(d, event);
      break;
    case "cancel_requested":
      ignored = applyCancel(d, event.reason, event.by);
      break;
    case "step_completed":
      ignored = applyAnswer(d, event);
      break;
    case "step_failed":
      ignored = applyAnswer(d, event);
      break;
    case "retry_requested":
      ignored = applyRetry(d, event.reason, event.by);
      break;
    case "signal_received":
      ignored = applySignal(d, event);
      break;
    case "skip_requested":
      ignored = applySkip(d, event);
      break;
    case "resolve_requested":
      ignored = applyResolve(d, event);
      break;
    case "abort_requested":
      ignored = applyAbort(d, event);
      break;
  }
  if (ignored !== undefined) return ignore(state, ignored);
  checkDeadline(d);
  advance(d);
  keepDeadlineDue(d);
  d.s.updatedAtMs = nowMs;
  return { state: d.s, commands: d.commands, history: d.history };
}

/**
 * Appends to the decision's history. Arrays of exactly their size: an entry pushed onto an empty
 * array makes room for seventeen, and the runtime holds the history until its commit is durable,
 * so every saga in flight would carry the slack through each young-generation collection.
 */
function record(d: Draft, entry: HistoryEntry): void {
  d.history = appendExact(d.history, entry);
}

/** Appends to the decision's commands, sized exactly as `record` sizes the history. */
function command(d: Draft, next: SagaCommand): void {
  d.commands = appendExact(d.commands, next);
}

/** Appends a step to the order in which steps settled, in a new array (the input's is shared). */
function markSettled(d: Draft, index: number): void {
  d.s.settledOrder = appendExact(d.s.settledOrder, index);
}

function ignore(state: SagaState, reason: string): Decision {
  return { state, commands: [], history: [], ignored: reason };
}

/** A phase to read; never write to it (it may be the input's). */
function phaseOf(d: Draft, stepIndex: number, phase: Phase): Readonly<PhaseState> {
  const step = d.s.steps[stepIndex];
  if (step === undefined) throw new RangeError(`step index ${stepIndex} out of range`);
  return phase === "action" ? step.action : step.compensation;
}

/**
 * A phase of the draft that may be written: copied the first time, into a fresh step that shares
 * the other phase with the input until that one is edited too. A step or phase that is still the
 * input's object is not copied yet.
 */
function edit(d: Draft, stepIndex: number, phase: Phase): PhaseState {
  const step = d.s.steps[stepIndex];
  const original = d.input.steps[stepIndex];
  if (step === undefined || original === undefined) throw new RangeError(`step index ${stepIndex} out of range`);
  const action = phase === "action";
  const current = action ? step.action : step.compensation;
  if (step !== original && current !== (action ? original.action : original.compensation)) return current;
  const copy = copyPhase(current);
  setPhase(d, stepIndex, phase, copy);
  return copy;
}

/**
 * Puts `next`, a new phase object, in place of a phase of the draft, copying its step the first
 * time as `edit` does. The hot transitions build their phase anew (`startedPhase`,
 * `succeededPhase`) rather than edit a copy: a time added to a copied phase would give it a
 * property array, one more object for every saga in flight and every state a store keeps.
 */
function setPhase(d: Draft, stepIndex: number, phase: Phase, next: PhaseState): void {
  const step = d.s.steps[stepIndex];
  const original = d.input.steps[stepIndex];
  if (step === undefined || original === undefined) throw new RangeError(`step index ${stepIndex} out of range`);
  const action = phase === "action";
  if (step !== original) {
    if (action) step.action = next;
    else step.compensation = next;
  } else {
    d.s.steps[stepIndex] = stepWith(step, action ? next : step.action, action ? step.compensation : next, step.output);
  }
}

/** Resolves an outcome event to its running phase (to read: `edit` or `setPhase` to change it), or says why it does not apply. */
function locate(d: Draft, stepName: string, phase: Phase, attempt: number): { index: number; p: Readonly<PhaseState> } | string {
  const index = indexOfStep(d.s.steps, stepName);
  if (index < 0) return `unknown step ${stepName}`;
  const current = phaseOf(d, index, phase);
  if (current.status !== "running" || current.attempt !== attempt) {
    return `stale ${phase} outcome for ${stepName} attempt ${attempt} (phase is ${current.status}, attempt ${current.attempt})`;
  }
  return { index, p: current };
}

/** `findIndex` by name, without a closure per event. */
function indexOfStep(steps: readonly StepState[], name: string): number {
  for (let index = 0; index < steps.length; index++) if ((steps[index] as StepState).name === name) return index;
  return -1;
}

function applySuccess(d: Draft, event: PhaseSucceededEvent, by?: string): string | undefined {
  const phase: Phase = event.type === "action_succeeded" ? "action" : "compensation";
  const found = locate(d, event.step, phase, event.attempt);
  if (typeof found === "string") return found;
  const { index, p } = found;
  if (phase === "action" && d.plan.steps[index]?.sleep?.kind === "until" && p.deadlineAtMs === undefined) {
    // The action computed when to wake up; the step sleeps until then (at once, if that passed).
    const untilMs = typeof event.output === "number" && Number.isFinite(event.output) ? event.output : d.now;
    sleepUntil(d, index, event.step, event.attempt, untilMs);
    return undefined;
  }
  const succeeded = succeededPhase(p, d.now);
  if (phase === "action") {
    const output = event.output ?? null;
    const step = d.s.steps[index] as StepState;
    d.s.steps[index] = stepWith(step, succeeded, step.compensation, output);
    markSettled(d, index);
    if (d.plan.steps[index]?.pivot === true) d.s.pivotPassed = true;
    const entry: HistoryEntry = { type: "attempt_succeeded", atMs: d.now, step: event.step, phase, attempt: event.attempt, output };
    if (by !== undefined) entry.by = by;
    record(d, entry);
  } else {
    setPhase(d, index, phase, succeeded);
    record(d, { type: "attempt_succeeded", atMs: d.now, step: event.step, phase, attempt: event.attempt });
  }
  return undefined;
}

function applyFailure(d: Draft, event: PhaseFailedEvent, by?: string): string | undefined {
  const phase: Phase = event.type === "action_failed" ? "action" : "compensation";
  const found = locate(d, event.step, phase, event.attempt);
  if (typeof found === "string") return found;
  const { index } = found;
  const p = edit(d, index, phase);
  if (p.deadlineAtMs !== undefined) delete p.deadlineAtMs;
  const stepPlan = d.plan.steps[index];
  if (stepPlan === undefined) return `unknown step ${event.step}`;
  const policy = phase === "action" ? stepPlan.retry : stepPlan.compensationRetry;

  p.failures += 1;
  p.lastError = event.error;
  p.lastTimedOut = event.timedOut;
  // A cancel stops forward retries (the saga is rolling back anyway); compensations keep retrying.
  // So does a stop: a sibling of a parallel group failing after another gave up is not retried.
  const cancelStopsRetry = phase === "action" && ((d.s.cancel !== undefined && !d.s.pivotPassed) || d.s.stop !== undefined);
  const canRetry =
    event.retryable && !policy.terminalErrors.includes(event.error.name) && p.failures < policy.maxAttempts && !cancelStopsRetry;

  if (canRetry) {
    const nextAttemptAtMs = d.now + retryDelayMs(policy, p.failures, event.jitter, event.retryAfterMs);
    p.status = "retrying";
    p.nextAttemptAtMs = nextAttemptAtMs;
    record(d, {
      type: "attempt_failed",
      atMs: d.now,
      step: event.step,
      phase,
      attempt: event.attempt,
      error: event.error,
      timedOut: event.timedOut,
      nextAttemptAtMs,
      ...(by === undefined ? {} : { by }),
    });
    return undefined;
  }

  record(d, {
    type: "attempt_failed",
    atMs: d.now,
    step: event.step,
    phase,
    attempt: event.attempt,
    error: event.error,
    timedOut: event.timedOut,
    ...(by === undefined ? {} : { by }),
  });
  giveUp(d, index, phase, event.error);
  return undefined;
}

/** A phase failed for good: decide what that means for the saga. */
function giveUp(d: Draft, index: number, phase: Phase, error: ErrorInfo): void {
  const p = edit(d, index, phase);
  const stepName = d.s.steps[index]?.name ?? String(index);
  p.status = "failed";
  p.settledAtMs = d.now;
  if (p.nextAttemptAtMs !== undefined) delete p.nextAttemptAtMs;
  record(d, { type: "phase_gave_up", atMs: d.now, step: stepName, phase, attempts: p.attempt, error });

  if (phase === "compensation") {
    // Compensations stay in strict reverse order, so the ones after this one wait for an operator too.
    finishFailed(d, "compensation_failed", outstandingCompensations(d));
    return;
  }
  // A timed-out last attempt may have taken effect even though it reported nothing.
  if (d.plan.steps[index]?.compensateOnFailure === true || p.lastTimedOut === true) markSettled(d, index);
  if (d.s.pivotPassed) {
    d.s.stop = { reason: "step_failed_after_pivot", step: stepName, error, atMs: d.now };
    finishFailed(d, "step_failed_after_pivot", [{ step: stepName, phase: "action" }]);
    return;
  }
  if (d.s.status === "running" && d.s.stop === undefined) {
    d.s.stop = { reason: d.s.cancel ? "cancelled" : "step_failed", step: stepName, error, atMs: d.now };
  }
  if (d.plan.steps[index]?.group !== undefined) stopSiblings(d, index, stepName);
}

/**
 * A member of a parallel group failed for good: siblings waiting to retry, or waiting for an
 * answer or asleep, give up too (nothing of theirs is in flight). Siblings in flight settle on
 * their own; with `onFailure: "cancel"` the runtime aborts their attempts.
 */
function stopSiblings(d: Draft, index: number, failed: string): void {
  for (const sibling of groupMembers(d, index)) {
    if (sibling !== index) endWait(d, sibling, "SiblingFailed", (what) => `stopped while ${what}: ${failed}, a step of the same parallel group, failed for good`);
  }
}

function applyCancel(d: Draft, reason: string, by: string): string | undefined {
  if (d.s.cancel !== undefined) return "cancel already requested";
  if (d.s.status === "compensating") return "saga is already compensating";
  if (d.s.pivotPassed) return "saga passed its pivot step and can only roll forward";
  record(d, { type: "cancel_requested", atMs: d.now, reason, by });
  beginCancel(d, reason, by);
  return undefined;
}

/**
 * A saga past its deadline, still going forward before its pivot, rolls back as if cancelled
 * (`by: "deadline"`): a running step settles first, then what completed is compensated. Its
 * compensations are never cut short by the deadline; they keep their own budgets.
 */
function checkDeadline(d: Draft): void {
  const { deadlineAtMs } = d.s;
  if (deadlineAtMs === undefined || deadlineAtMs > d.now) return;
  if (d.s.status !== "running" || d.s.pivotPassed || d.s.cancel !== undefined || d.s.abort !== undefined) return;
  record(d, { type: "deadline_passed", atMs: d.now, deadlineAtMs });
  beginCancel(d, `the saga's deadline passed (${deadlineAtMs - d.s.createdAtMs} ms after its start)`, "deadline");
}

/** While the deadline can still stop it, the saga is due by then at the latest, so a worker looks. */
function keepDeadlineDue(d: Draft): void {
  const { deadlineAtMs } = d.s;
  if (deadlineAtMs === undefined || d.s.status !== "running" || d.s.pivotPassed || d.s.cancel !== undefined || d.s.abort !== undefined) return;
  if (d.s.wakeAtMs === null || d.s.wakeAtMs > deadlineAtMs) d.s.wakeAtMs = deadlineAtMs;
}

function beginCancel(d: Draft, reason: string, by: string): void {
  d.s.cancel = { reason, by, atMs: d.now };
  endWaits(d, "Cancelled", "cancelled", reason);
}

/** Ends what waits rather than runs (a retry backoff, an outside answer, a sleep), as failed for good. */
function endWaits(d: Draft, errorName: string, verb: string, reason: string): void {
  // A step waiting to retry has settled as far as a cancel is concerned: its next attempt never
  // starts. So has a step waiting for an outside answer, or asleep: no call of ours is in flight.
  d.s.steps.forEach((_, index) => endWait(d, index, errorName, (what) => `${verb} while ${what}: ${reason}`));
}

/**
 * Ends one step's wait, if it is waiting (to retry, for an answer, asleep), as failed for good;
 * `describe` words the error from what it was doing. A step running a call of ours is left to settle.
 */
function endWait(d: Draft, index: number, errorName: string, describe: (what: string) => string): void {
  const action = d.s.steps[index]?.action;
  if (action?.status === "retrying") {
    giveUp(d, index, "action", action.lastError ?? { name: errorName, message: describe("waiting to retry") });
  } else if (action?.status === "running" && (d.plan.steps[index]?.wait === true || asleep(d, index))) {
    const what = asleep(d, index) ? "asleep" : "waiting for an outside answer";
    const p = edit(d, index, "action");
    if (p.deadlineAtMs !== undefined) delete p.deadlineAtMs;
    p.lastError = { name: errorName, message: describe(what) };
    giveUp(d, index, "action", p.lastError);
  }
}

/** A sleep step's attempt is sleeping (rather than computing when to wake up). */
function asleep(d: Draft, index: number): boolean {
  const step = d.s.steps[index];
  return d.plan.steps[index]?.sleep !== undefined && step?.action.status === "running" && step.action.deadlineAtMs !== undefined;
}

function recoverInDoubt(d: Draft): void {
  // Every claim asks, and nearly every one finds nothing in doubt (a new saga): no array until then.
  let inDoubt: Array<{ index: number; phase: Phase }> | undefined;
  for (let index = 0; index < d.s.steps.length; index++) {
    const step = d.s.steps[index] as StepState;
    // A step waiting for an outside answer ran no call of ours: it just goes on waiting; so does
    // one asleep (a sleep whose time was still being computed is in doubt, and computed again).
    if (step.action.status === "running" && d.plan.steps[index]?.wait !== true && !asleep(d, index)) (inDoubt ??= []).push({ index, phase: "action" });
    if (step.compensation.status === "running") (inDoubt ??= []).push({ index, phase: "compensation" });
  }
  if (inDoubt === undefined) return;
  d.s.recoveries += 1;
  for (const { index, phase } of inDoubt) {
    const p = phaseOf(d, index, phase);
    record(d, {
      type: "attempt_in_doubt",
      atMs: d.now,
      step: d.s.steps[index]?.name ?? String(index),
      phase,
      attempt: p.attempt,
      recoveries: d.s.recoveries,
    });
  }
  if (d.s.recoveries > d.plan.maxRecoveries) {
    const outstanding: Outstanding[] = inDoubt.map(({ index, phase }) => ({ step: d.s.steps[index]?.name ?? "", phase }));
    const error: ErrorInfo = {
      name: "RecoveryLimitError",
      message: `the worker running this attempt died ${d.s.recoveries} times (limit ${d.plan.maxRecoveries}); parked for an operator`,
    };
    for (const { index, phase } of inDoubt) {
      const p = edit(d, index, phase);
      p.status = "failed";
      p.lastError = error;
      p.settledAtMs = d.now;
    }
    const first = outstanding[0];
    d.s.stop ??= { reason: "recovery_limit", ...(first ? { step: first.step } : {}), error, atMs: d.now };
    const rest = d.s.status === "compensating" ? outstandingCompensations(d).filter((o) => !outstanding.some((x) => x.step === o.step)) : [];
    finishFailed(d, "recovery_limit", [...outstanding, ...rest]);
    return;
  }
  // Run each in-doubt attempt again with the same idempotency key: the participant de-duplicates (G3).
  for (const { index, phase } of inDoubt) startAttempt(d, index, phase);
}

/**
 * Reopens a failed saga on what it left outstanding: those phases start again (a new attempt,
 * with the same idempotency key) with a fresh retry budget. Outstanding compensations resume
 * compensating in their order; an outstanding action (after the pivot, or parked by the recovery
 * limit) resumes going forward.
 */
function applyRetry(d: Draft, reason: string, by: string): string | undefined {
  if (d.s.status !== "failed") return `saga is ${d.s.status}; only a failed saga can be retried`;
  const outstanding = d.s.outstanding ?? [];
  if (outstanding.length === 0) return "nothing is outstanding";
  for (const { step, phase } of outstanding) {
    const index = d.s.steps.findIndex((s) => s.name === step);
    if (index < 0) continue;
    const p = edit(d, index, phase);
    p.status = "pending";
    p.failures = 0;
    delete p.settledAtMs;
    delete p.nextAttemptAtMs;
  }
  const compensating = outstanding.some((o) => o.phase === "compensation");
  d.s.status = compensating ? "compensating" : "running";
  // Going forward again: what stopped it is what is being retried.
  if (!compensating) delete d.s.stop;
  d.s.recoveries = 0;
  delete d.s.outstanding;
  delete d.s.endedAtMs;
  delete d.s.resolution;
  // An aborted saga retried goes on: the abort was its stop, now being undone.
  delete d.s.abort;
  record(d, { type: "retry_requested", atMs: d.now, reason, by, outstanding });
  return undefined;
}

/**
 * An operator skips an outstanding compensation of a failed saga: it counts as settled (by hand),
 * and the compensations after it in the order run, with a fresh budget; with none left, the saga
 * ends compensated. Only a compensation the saga lists as outstanding can be skipped.
 */
function applySkip(d: Draft, event: SkipRequestedEvent): string | undefined {
  if (d.s.status !== "failed") return `saga is ${d.s.status}; only a failed saga's compensations can be skipped`;
  const outstanding = d.s.outstanding ?? [];
  if (!outstanding.some((o) => o.step === event.step && o.phase === "compensation")) {
    const listed = outstanding.map((o) => `${o.step} ${o.phase}`).join(", ") || "nothing";
    return `the compensation of ${event.step} is not outstanding (outstanding: ${listed})`;
  }
  const index = d.s.steps.findIndex((step) => step.name === event.step);
  const p = edit(d, index, "compensation");
  p.status = "skipped";
  p.settledAtMs = d.now;
  delete p.nextAttemptAtMs;
  record(d, { type: "compensation_skipped", atMs: d.now, step: event.step, reason: event.reason, by: event.by });
  const rest = outstanding.filter((o) => !(o.step === event.step && o.phase === "compensation"));
  delete d.s.outstanding;
  delete d.s.endedAtMs;
  delete d.s.resolution;
  delete d.s.abort;
  for (const { step, phase } of rest) {
    const at = d.s.steps.findIndex((s) => s.name === step);
    if (at < 0) continue;
    const q = edit(d, at, phase);
    q.status = "pending";
    q.failures = 0;
    delete q.settledAtMs;
    delete q.nextAttemptAtMs;
  }
  d.s.recoveries = 0;
  // What is left runs on (advance starts it, or ends the saga compensated when nothing is).
  d.s.status = "compensating";
  return undefined;
}

/**
 * An operator's emergency stop: nothing new starts; a step or compensation in flight settles (G4),
 * waits end, and then the saga ends `failed` with the compensations it did not run outstanding.
 */
function applyAbort(d: Draft, event: AbortRequestedEvent): string | undefined {
  if (d.s.abort !== undefined) return `already aborted by ${d.s.abort.by}`;
  d.s.abort = { reason: event.reason, by: event.by, atMs: d.now };
  record(d, { type: "abort_requested", atMs: d.now, reason: event.reason, by: event.by });
  // Giving up a wait must not start compensating: the stop below is the abort's.
  const going = d.s.status === "running";
  endWaits(d, "Aborted", "aborted", event.reason);
  if (going) d.s.stop = { reason: "aborted", atMs: d.now };
  return undefined;
}

/** The abort's end, once nothing runs: what would have been compensated is outstanding instead. */
function finishAborted(d: Draft): void {
  const s = d.s;
  if (s.status === "running") {
    // The compensations a rollback would run, in its order, recorded but not started.
    markCompensationOrder(d);
  }
  s.stop = { ...(s.stop ?? { atMs: d.now }), reason: "aborted" };
  finishFailed(d, "aborted", outstandingCompensations(d));
}

/** An operator marks a failed saga resolved: it stays failed, with who resolved it and why. */
function applyResolve(d: Draft, event: ResolveRequestedEvent): string | undefined {
  if (d.s.status !== "failed") return `saga is ${d.s.status}; only a failed saga can be marked resolved`;
  if (d.s.resolution !== undefined) return `saga was already marked resolved by ${d.s.resolution.by}`;
  d.s.resolution = { reason: event.reason, by: event.by, atMs: d.now };
  record(d, { type: "resolved", atMs: d.now, reason: event.reason, by: event.by });
  return undefined;
}

/** An outside answer to a waiting step: its success or failure, as if the step had run. */
function applyAnswer(d: Draft, event: StepCompletedEvent | StepFailedEvent): string | undefined {
  const index = d.s.steps.findIndex((step) => step.name === event.step);
  if (index < 0) return `unknown step ${event.step}`;
  if (d.plan.steps[index]?.wait !== true) return `step ${event.step} does not wait for an outside answer`;
  if (event.type === "step_completed") {
    return applySuccess(d, { type: "action_succeeded", step: event.step, attempt: event.attempt, output: event.output }, event.by);
  }
  // A fixed jitter keeps the engine pure; an answer carries no randomness of its own.
  return applyFailure(
    d,
    { type: "action_failed", step: event.step, attempt: event.attempt, error: event.error, retryable: event.retryable, timedOut: false, jitter: 1 },
    event.by,
  );
}

/**
 * Keeps a named event, once per delivery id, and answers the step waiting for it now, if any;
 * otherwise it waits in the state for the first step that waits for its name (`startAttempt`).
 */
function applySignal(d: Draft, event: SignalReceivedEvent): string | undefined {
  const kept = d.s.signals ?? [];
  if (kept.some((signal) => signal.id === event.id)) return `duplicate signal ${event.name} (delivery ${event.id})`;
  d.s.signals = kept.concat({ id: event.id, name: event.name, payload: event.payload, by: event.by, atMs: d.now });
  record(d, { type: "signal_received", atMs: d.now, name: event.name, id: event.id, by: event.by });
  const waiting = d.s.steps.findIndex((step, index) => d.plan.steps[index]?.event === event.name && step.action.status === "running");
  const step = d.s.steps[waiting];
  if (step !== undefined) consumeSignal(d, waiting, step.name, step.action.attempt);
  return undefined;
}

/** The oldest kept, untaken event the step waits for becomes the output of its running attempt. */
function consumeSignal(d: Draft, index: number, stepName: string, attempt: number): boolean {
  const name = d.plan.steps[index]?.event;
  const signals = d.s.signals;
  const at = name === undefined || signals === undefined ? -1 : signals.findIndex((signal) => signal.name === name && signal.consumedBy === undefined);
  const signal = signals?.[at];
  if (signals === undefined || signal === undefined) return false;
  d.s.signals = signals.map((kept, i) => (i === at ? { ...kept, consumedBy: stepName } : kept));
  applySuccess(d, { type: "action_succeeded", step: stepName, attempt, output: signal.payload }, signal.by);
  return true;
}

/**
 * A sleep step's attempt sleeps until `untilMs`: recorded, with the saga's wake-up set to it, or
 * over at once when that time has passed. No command: no worker is held while it sleeps.
 */
function sleepUntil(d: Draft, index: number, stepName: string, attempt: number, untilMs: number): void {
  const p = edit(d, index, "action");
  p.deadlineAtMs = untilMs;
  record(d, { type: "sleep_started", atMs: d.now, step: stepName, attempt, untilMs });
  if (untilMs <= d.now) {
    wakeFromSleep(d, index, stepName, attempt, untilMs);
    return;
  }
  d.s.wakeAtMs = untilMs;
}

function wakeFromSleep(d: Draft, index: number, stepName: string, attempt: number, untilMs: number): void {
  const output = { sleptUntilMs: untilMs };
  const step = d.s.steps[index] as StepState;
  d.s.steps[index] = stepWith(step, succeededPhase(step.action, d.now), step.compensation, output);
  markSettled(d, index);
  if (d.plan.steps[index]?.pivot === true) d.s.pivotPassed = true;
  record(d, { type: "attempt_succeeded", atMs: d.now, step: stepName, phase: "action", attempt, output });
}

/**
 * Wakes sleep steps whose time came, and fails the attempts of waiting steps whose deadline
 * passed, under their retry policy.
 */
function expireWaits(d: Draft): void {
  d.s.steps.forEach((step, index) => {
    const { action } = step;
    if (action.status !== "running" || action.deadlineAtMs === undefined || action.deadlineAtMs > d.now) return;
    if (d.plan.steps[index]?.sleep !== undefined) {
      wakeFromSleep(d, index, step.name, action.attempt, action.deadlineAtMs);
      return;
    }
    const timeoutMs = d.plan.steps[index]?.timeoutMs ?? 0;
    applyFailure(d, {
      type: "action_failed",
      step: step.name,
      attempt: action.attempt,
      error: { name: "WaitTimeoutError", message: `no outside answer to step ${step.name} attempt ${action.attempt} within ${timeoutMs} ms` },
      retryable: true,
      // The party asked may still act on it.
      timedOut: true,
      jitter: 1,
    });
  });
}

/** Starts whatever is due next, or finishes the saga. */
function advance(d: Draft): void {
  const s = d.s;
  if (isTerminal(s.status)) return;
  const actionRunning = anyPhase(s.steps, "action", "running");
  if (s.abort !== undefined) {
    if (!actionRunning && !anyPhase(s.steps, "compensation", "running")) finishAborted(d);
    return;
  }
  if (s.status === "running") {
    const rollingBack = s.stop !== undefined || (s.cancel !== undefined && !s.pivotPassed);
    if (rollingBack) {
      // G4: the rollback waits for every action in flight, siblings of a group included.
      if (actionRunning) return;
      if (s.stop === undefined) s.stop = { reason: "cancelled", atMs: d.now };
      beginCompensation(d);
    } else {
      const index = firstActionNotSucceeded(s.steps);
      if (index < 0) {
        finish(d, "completed");
        return;
      }
      if (d.plan.steps[index]?.group !== undefined) {
        advanceGroup(d, groupMembers(d, index));
        return;
      }
      if (actionRunning) return;
      scheduleOrStart(d, index, "action");
      // A step that waits for an event already received took it as it started: go on at once.
      if (s.steps[index]?.action.status === "succeeded") advance(d);
      return;
    }
  }
  // Compensating. G4: nothing is compensated while any action is still unsettled.
  if (actionRunning || anyPhase(s.steps, "compensation", "running")) return;
  const next = s.compensationOrder.find((index) => {
    const status = s.steps[index]?.compensation.status;
    return status !== "succeeded" && status !== "not_needed" && status !== "skipped";
  });
  if (next === undefined) {
    finish(d, "compensated");
    return;
  }
  scheduleOrStart(d, next, "compensation");
}

/**
 * Whether a step's `phase` is in `status`. `advance` runs at every transition, so its scans are
 * loops rather than `some`/`findIndex` with a callback each.
 */
function anyPhase(steps: readonly StepState[], phase: Phase, status: PhaseState["status"]): boolean {
  for (const step of steps) if ((phase === "action" ? step.action : step.compensation).status === status) return true;
  return false;
}

function firstActionNotSucceeded(steps: readonly StepState[]): number {
  for (let index = 0; index < steps.length; index++) if ((steps[index] as StepState).action.status !== "succeeded") return index;
  return -1;
}

/** The indexes of the parallel group the step at `index` belongs to (consecutive in the plan). */
function groupMembers(d: Draft, index: number): number[] {
  const name = d.plan.steps[index]?.group?.name;
  const members: number[] = [];
  d.plan.steps.forEach((step, at) => {
    if (name !== undefined && step.group?.name === name) members.push(at);
  });
  return members;
}

/**
 * A parallel group going forward: every member not started yet starts now, a member whose retry
 * is due starts again, and the saga is due again at the earliest retry or wait deadline. Once all
 * succeeded, the saga goes on with the step after the group.
 */
function advanceGroup(d: Draft, members: readonly number[]): void {
  const s = d.s;
  for (const index of members) {
    const p = s.steps[index]?.action;
    if (p === undefined) continue;
    if (p.status === "pending" || (p.status === "retrying" && (p.nextAttemptAtMs ?? 0) <= d.now)) startAttempt(d, index, "action");
  }
  if (members.every((index) => s.steps[index]?.action.status === "succeeded")) {
    advance(d);
    return;
  }
  // Due now while an attempt of ours is in flight (so a worker that dies leaves it in doubt, after
  // its lease); otherwise at the earliest retry, wait deadline or wake-up of a sleep.
  let due: number | null = null;
  for (const index of members) {
    const p = s.steps[index]?.action;
    if (p === undefined) continue;
    const inFlight = p.status === "running" && d.plan.steps[index]?.wait !== true && p.deadlineAtMs === undefined;
    const at = inFlight ? d.now : p.status === "retrying" ? (p.nextAttemptAtMs ?? d.now) : p.status === "running" ? (p.deadlineAtMs ?? null) : null;
    if (at !== null && (due === null || at < due)) due = at;
  }
  s.wakeAtMs = due;
}

function scheduleOrStart(d: Draft, index: number, phase: Phase): void {
  const p = phaseOf(d, index, phase);
  if (p.status === "pending" || (p.status === "retrying" && (p.nextAttemptAtMs ?? 0) <= d.now)) {
    startAttempt(d, index, phase);
  } else if (p.status === "retrying") {
    d.s.wakeAtMs = p.nextAttemptAtMs ?? d.now;
  } else {
    throw new Error(`engine invariant: ${phase} of step ${index} is ${p.status} while the saga is ${d.s.status}`);
  }
}

function startAttempt(d: Draft, index: number, phase: Phase): void {
  const stepPlan = d.plan.steps[index];
  const stepName = d.s.steps[index]?.name;
  if (stepPlan === undefined || stepName === undefined) throw new RangeError(`step index ${index} out of range`);
  const p = startedPhase(phaseOf(d, index, phase), d.now);
  setPhase(d, index, phase, p);
  record(d, { type: "attempt_started", atMs: d.now, step: stepName, phase, attempt: p.attempt });
  if (phase === "action" && stepPlan.sleep?.kind === "duration") {
    sleepUntil(d, index, stepName, p.attempt, d.now + stepPlan.sleep.durationMs);
    return;
  }
  if (phase === "action" && stepPlan.wait === true) {
    // Nothing to run: the saga waits, holding no worker, until an answer is delivered or the
    // deadline's wake-up expires the attempt; an event that arrived before is the answer now.
    if (stepPlan.event !== undefined && consumeSignal(d, index, stepName, p.attempt)) return;
    if (stepPlan.timeoutMs > 0) p.deadlineAtMs = d.now + stepPlan.timeoutMs;
    d.s.wakeAtMs = p.deadlineAtMs ?? null;
    return;
  }
  // Due now: if this worker dies, whoever claims the instance after its lease finds the attempt in doubt.
  d.s.wakeAtMs = d.now;
  command(d, {
    type: "run",
    phase,
    step: stepName,
    stepIndex: index,
    attempt: p.attempt,
    idempotencyKey: idempotencyKeyFor(d.s.id, stepName, phase),
    timeoutMs: phase === "action" ? stepPlan.timeoutMs : stepPlan.compensationTimeoutMs,
  });
}

/**
 * The order a rollback compensates in: every settled step with a compensation, newest first; the
 * others' compensations are not needed. Kept in the state, so in an array of exactly its size.
 */
function markCompensationOrder(d: Draft): number[] {
  const order = d.s.settledOrder.filter((index) => d.plan.steps[index]?.hasCompensation === true).reverse().slice();
  d.s.steps.forEach((_, index) => {
    if (!order.includes(index)) edit(d, index, "compensation").status = "not_needed";
  });
  d.s.compensationOrder = order;
  return order;
}

function beginCompensation(d: Draft): void {
  const s = d.s;
  const order = markCompensationOrder(d);
  s.status = "compensating";
  record(d, {
    type: "compensation_started",
    atMs: d.now,
    reason: s.stop?.reason ?? "step_failed",
    ...(s.stop?.step !== undefined ? { step: s.stop.step } : {}),
    order: order.map((index) => s.steps[index]?.name ?? String(index)),
  });
}

function outstandingCompensations(d: Draft): Outstanding[] {
  return d.s.compensationOrder
    .filter((index) => {
      const status = d.s.steps[index]?.compensation.status;
      return status !== "succeeded" && status !== "not_needed" && status !== "skipped";
    })
    .map((index) => ({ step: d.s.steps[index]?.name ?? String(index), phase: "compensation" as const }));
}

function finish(d: Draft, status: "completed" | "compensated"): void {
  d.s.status = status;
  d.s.wakeAtMs = null;
  d.s.endedAtMs = d.now;
  record(d, { type: "saga_ended", atMs: d.now, status });
}

function finishFailed(d: Draft, reason: StopReason, outstanding: Outstanding[]): void {
  d.s.status = "failed";
  d.s.outstanding = outstanding;
  d.s.wakeAtMs = null;
  d.s.endedAtMs = d.now;
  record(d, { type: "saga_ended", atMs: d.now, status: "failed", reason, outstanding });
}
