// How the SQLite and PostgreSQL stores keep a state: JSON with the fields still at their initial
// values left out. A state is rewritten at every transition, and about half of a 3-step saga's
// ~900 bytes were compensations never started, zero counters and empty orders: bytes that were
// encoded, sent, parsed, written to the WAL and flushed for nothing. Reading puts them back, so
// rows written in full (before this, or by hand) read the same way.
//
// A field added to these types must be added here too: test/store/state-json.test.ts builds each
// type with every field set (typed `Required<…>`, so it stops compiling until it is) and checks
// that a round trip keeps all of them.
import type { PhaseState, SagaState, StepState } from "../domain/state.js";

/** A phase as stored: `failures` left out when 0. */
type StoredPhase = Omit<PhaseState, "failures"> & { failures?: number };

/** A step as stored: a phase never started left out. */
interface StoredStep extends Omit<StepState, "action" | "compensation"> {
  action?: StoredPhase;
  compensation?: StoredPhase;
}

/** A state as stored: empty orders, `pivotPassed: false` and `recoveries: 0` left out. */
export interface StoredState extends Omit<SagaState, "steps" | "settledOrder" | "compensationOrder" | "pivotPassed" | "recoveries"> {
  steps: StoredStep[];
  settledOrder?: number[];
  compensationOrder?: number[];
  pivotPassed?: boolean;
  recoveries?: number;
}

/** The JSON text a store keeps for `state`. */
export function stateToJson(state: SagaState): string {
  return JSON.stringify(toStored(state));
}


function toStored(state: SagaState): StoredState {
  // Written out rather than spread, in the order `copyState` uses, so every stored object has one shape.
  const stored: StoredState = {
    id: state.id,
    definitionName: state.definitionName,
    definitionVersion: state.definitionVersion,
    input: state.input,
    idempotencyKey: state.idempotencyKey,
    status: state.status,
    steps: state.steps.map(toStoredStep),
    wakeAtMs: state.wakeAtMs,
    createdAtMs: state.createdAtMs,
    updatedAtMs: state.updatedAtMs,
  };
  if (state.settledOrder.length > 0) stored.settledOrder = state.settledOrder;
  if (state.compensationOrder.length > 0) stored.compensationOrder = state.compensationOrder;
  if (state.pivotPassed) stored.pivotPassed = true;
  if (state.recoveries !== 0) stored.recoveries = state.recoveries;
  if (state.definitionHash !== undefined) stored.definitionHash = state.definitionHash;
  if (state.cancel !== undefined) stored.cancel = state.cancel;
  if (state.stop !== undefined) stored.stop = state.stop;
  if (state.outstanding !== undefined) stored.outstanding = state.outstanding;
  if (state.deadlineAtMs !== undefined) stored.deadlineAtMs = state.deadlineAtMs;
  if (state.abort !== undefined) stored.abort = state.abort;
  if (state.resolution !== undefined) stored.resolution = state.resolution;
  if (state.signals !== undefined) stored.signals = state.signals;
  if (state.endedAtMs !== undefined) stored.endedAtMs = state.endedAtMs;
  return stored;
}

function toStoredStep(step: StepState): StoredStep {
  const stored: StoredStep = { name: step.name };
  if (!isUntouched(step.action)) stored.action = toStoredPhase(step.action);
  if (!isUntouched(step.compensation)) stored.compensation = toStoredPhase(step.compensation);
  if (step.output !== undefined) stored.output = step.output;
  return stored;
}

/** A phase as `initialState` makes it: pending, never attempted, nothing else set. */
function isUntouched(phase: PhaseState): boolean {
  return (
    phase.status === "pending" &&
    phase.attempt === 0 &&
    phase.failures === 0 &&
    phase.nextAttemptAtMs === undefined &&
    phase.startedAtMs === undefined &&
    phase.settledAtMs === undefined &&
    phase.lastError === undefined &&
    phase.lastTimedOut === undefined &&
    phase.deadlineAtMs === undefined
  );
}

function toStoredPhase(phase: PhaseState): StoredPhase {
  const stored: StoredPhase = { status: phase.status, attempt: phase.attempt };
  if (phase.failures !== 0) stored.failures = phase.failures;
  if (phase.nextAttemptAtMs !== undefined) stored.nextAttemptAtMs = phase.nextAttemptAtMs;
  if (phase.startedAtMs !== undefined) stored.startedAtMs = phase.startedAtMs;
  if (phase.settledAtMs !== undefined) stored.settledAtMs = phase.settledAtMs;
  if (phase.lastError !== undefined) stored.lastError = phase.lastError;
  if (phase.lastTimedOut !== undefined) stored.lastTimedOut = phase.lastTimedOut;
  if (phase.deadlineAtMs !== undefined) stored.deadlineAtMs = phase.deadlineAtMs;
  return stored;
}

/**
 * The state that parsed JSON of `stateToJson` (or a state written in full) holds. Rebuilt field by
 * field in `copyState`'s order, so a state read from a store has the shapes of the ones the engine
 * makes and does not turn the engine's property accesses polymorphic.
 */
export function fromStoredState(stored: StoredState): SagaState {
  const state: SagaState = {
    id: stored.id,
    definitionName: stored.definitionName,
    definitionVersion: stored.definitionVersion,
    input: stored.input,
    idempotencyKey: stored.idempotencyKey,
    status: stored.status,
    steps: stored.steps.map(fromStoredStep),
    settledOrder: stored.settledOrder ?? [],
    compensationOrder: stored.compensationOrder ?? [],
    pivotPassed: stored.pivotPassed ?? false,
    recoveries: stored.recoveries ?? 0,
    wakeAtMs: stored.wakeAtMs,
    createdAtMs: stored.createdAtMs,
    updatedAtMs: stored.updatedAtMs,
  };
  if (stored.definitionHash !== undefined) state.definitionHash = stored.definitionHash;
  if (stored.cancel !== undefined) state.cancel = stored.cancel;
  if (stored.stop !== undefined) state.stop = stored.stop;
  if (stored.outstanding !== undefined) state.outstanding = stored.outstanding;
  if (stored.deadlineAtMs !== undefined) state.deadlineAtMs = stored.deadlineAtMs;
  if (stored.abort !== undefined) state.abort = stored.abort;
  if (stored.resolution !== undefined) state.resolution = stored.resolution;
  if (stored.signals !== undefined) state.signals = stored.signals;
  if (stored.endedAtMs !== undefined) state.endedAtMs = stored.endedAtMs;
  return state;
}

function fromStoredStep(stored: StoredStep): StepState {
  const step: StepState = { name: stored.name, action: fromStoredPhase(stored.action), compensation: fromStoredPhase(stored.compensation) };
  if (stored.output !== undefined) step.output = stored.output;
  return step;
}

function fromStoredPhase(stored: StoredPhase | undefined): PhaseState {
  if (stored === undefined) return { status: "pending", attempt: 0, failures: 0 };
  const phase: PhaseState = { status: stored.status, attempt: stored.attempt, failures: stored.failures ?? 0 };
  if (stored.nextAttemptAtMs !== undefined) phase.nextAttemptAtMs = stored.nextAttemptAtMs;
  if (stored.startedAtMs !== undefined) phase.startedAtMs = stored.startedAtMs;
  if (stored.settledAtMs !== undefined) phase.settledAtMs = stored.settledAtMs;
  if (stored.lastError !== undefined) phase.lastError = stored.lastError;
  if (stored.lastTimedOut !== undefined) phase.lastTimedOut = stored.lastTimedOut;
  if (stored.deadlineAtMs !== undefined) phase.deadlineAtMs = stored.deadlineAtMs;
  return phase;
}
