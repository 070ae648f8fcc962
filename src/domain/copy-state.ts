// Shallow copies of the state's objects, written field by field: for `decide`'s copy-on-write
// draft, and for the stores, which rebuild a state read back in the same shapes. Object spread (`{ ...state }`) was a third of the engine's time: states, steps and phases
// come in many shapes (their optional fields are set in different orders), so every spread site
// went megamorphic and took V8's slow generic path. A literal with the required fields, then
// the optional ones that are set, is the same copy at a quarter of the cost.
//
// A field added to these types must be added here too: test/domain/copy-state.test.ts builds
// each type with every field set (typed `Required<…>`, so it stops compiling until it is) and
// checks that the copy keeps all of them.
import type { JsonValue } from "./json.js";
import type { PhaseState, SagaState, StepState } from "./state.js";

/** A copy of `state` with a fresh `steps` array; every other value is shared with `state`. */
export function copyState(state: SagaState): SagaState {
  // The definition's hash is set on nearly every state (every start sets it), so it is part of the
  // literal rather than added after: a property added to a literal goes to a property array of
  // its own, one more object for every copy and for every state a store keeps. Hence two literals,
  // one per shape: deleting the field from one literal instead sends the copy to dictionary mode,
  // and `decide` on such states ran at a quarter of the rate (145k against 430–630k sagas/s).
  if (state.definitionHash !== undefined) return copyOptional(state, {
    id: state.id,
    definitionName: state.definitionName,
    definitionVersion: state.definitionVersion,
    definitionHash: state.definitionHash,
    input: state.input,
    idempotencyKey: state.idempotencyKey,
    status: state.status,
    steps: state.steps.slice(),
    settledOrder: state.settledOrder,
    compensationOrder: state.compensationOrder,
    pivotPassed: state.pivotPassed,
    recoveries: state.recoveries,
    wakeAtMs: state.wakeAtMs,
    createdAtMs: state.createdAtMs,
    updatedAtMs: state.updatedAtMs,
  });
  return copyOptional(state, {
    id: state.id,
    definitionName: state.definitionName,
    definitionVersion: state.definitionVersion,
    input: state.input,
    idempotencyKey: state.idempotencyKey,
    status: state.status,
    steps: state.steps.slice(),
    settledOrder: state.settledOrder,
    compensationOrder: state.compensationOrder,
    pivotPassed: state.pivotPassed,
    recoveries: state.recoveries,
    wakeAtMs: state.wakeAtMs,
    createdAtMs: state.createdAtMs,
    updatedAtMs: state.updatedAtMs,
  });
}

/** `copy` with the optional fields of `state` other than the definition's hash. */
function copyOptional(state: SagaState, copy: SagaState): SagaState {
  copyRareFields(state, copy);
  if (state.endedAtMs !== undefined) copy.endedAtMs = state.endedAtMs;
  return copy;
}

/**
 * Sets on `target` the optional fields of `state` that most sagas never have (a cancel, a stop,
 * what is outstanding, a deadline, an abort, a resolution, signals), those that are set; the
 * memory store keeps them as they are when it packs an ended saga, in an object of their own.
 */
export function copyRareFields(state: SagaState, target: Partial<SagaState>): void {
  if (state.cancel !== undefined) target.cancel = state.cancel;
  if (state.stop !== undefined) target.stop = state.stop;
  if (state.outstanding !== undefined) target.outstanding = state.outstanding;
  if (state.deadlineAtMs !== undefined) target.deadlineAtMs = state.deadlineAtMs;
  if (state.abort !== undefined) target.abort = state.abort;
  if (state.resolution !== undefined) target.resolution = state.resolution;
  if (state.signals !== undefined) target.signals = state.signals;
}

/**
 * `step` with these phases and output (undefined: none), in a new object of the one shape every
 * step has: a literal with the output in it, never one added after (see `copyState`).
 */
export function stepWith(step: StepState, action: PhaseState, compensation: PhaseState, output: JsonValue | undefined): StepState {
  return output === undefined ? { name: step.name, action, compensation } : { name: step.name, action, compensation, output };
}

/** A copy of `phase`; its error is shared. */
export function copyPhase(phase: PhaseState): PhaseState {
  const copy: PhaseState = { status: phase.status, attempt: phase.attempt, failures: phase.failures };
  if (phase.nextAttemptAtMs !== undefined) copy.nextAttemptAtMs = phase.nextAttemptAtMs;
  if (phase.startedAtMs !== undefined) copy.startedAtMs = phase.startedAtMs;
  if (phase.settledAtMs !== undefined) copy.settledAtMs = phase.settledAtMs;
  if (phase.lastError !== undefined) copy.lastError = phase.lastError;
  if (phase.lastTimedOut !== undefined) copy.lastTimedOut = phase.lastTimedOut;
  if (phase.deadlineAtMs !== undefined) copy.deadlineAtMs = phase.deadlineAtMs;
  return copy;
}

/**
 * `items` with `item` appended, in a new array of exactly that size. `concat` sizes exactly too
 * but costs ten times more for the few items a saga's orders hold; `push` or spreading would
 * leave room for sixteen that every stored state would carry.
 */
export function appendExact<T>(items: readonly T[], item: T): T[] {
  switch (items.length) {
    case 0:
      return [item];
    case 1:
      return [items[0] as T, item];
    case 2:
      return [items[0] as T, items[1] as T, item];
    case 3:
      return [items[0] as T, items[1] as T, items[2] as T, item];
    default:
      return items.concat([item]);
  }
}

/** `first` followed by `second`, in a new array of exactly that size (see `appendExact`). */
export function concatExact<T>(first: readonly T[], second: readonly T[]): T[] {
  if (second.length === 1) return appendExact(first, second[0] as T);
  return first.concat(second);
}

/**
 * `phase` as its next attempt starts at `nowMs` (running, the attempt counted, no retry pending),
 * in one literal with its start time: the time added to a copy instead would give the phase a
 * property array of its own.
 */
export function startedPhase(phase: Readonly<PhaseState>, nowMs: number): PhaseState {
  const next: PhaseState = { status: "running", attempt: phase.attempt + 1, failures: phase.failures, startedAtMs: nowMs };
  if (phase.settledAtMs !== undefined) next.settledAtMs = phase.settledAtMs;
  if (phase.lastError !== undefined) next.lastError = phase.lastError;
  if (phase.lastTimedOut !== undefined) next.lastTimedOut = phase.lastTimedOut;
  if (phase.deadlineAtMs !== undefined) next.deadlineAtMs = phase.deadlineAtMs;
  return next;
}

/** `phase` as its attempt succeeds at `nowMs`, no longer waiting for a deadline; in one literal with its times, as `startedPhase`. */
export function succeededPhase(phase: Readonly<PhaseState>, nowMs: number): PhaseState {
  const next: PhaseState =
    phase.startedAtMs === undefined
      ? { status: "succeeded", attempt: phase.attempt, failures: phase.failures, settledAtMs: nowMs }
      : { status: "succeeded", attempt: phase.attempt, failures: phase.failures, startedAtMs: phase.startedAtMs, settledAtMs: nowMs };
  if (phase.nextAttemptAtMs !== undefined) next.nextAttemptAtMs = phase.nextAttemptAtMs;
  if (phase.lastError !== undefined) next.lastError = phase.lastError;
  if (phase.lastTimedOut !== undefined) next.lastTimedOut = phase.lastTimedOut;
  return next;
}
