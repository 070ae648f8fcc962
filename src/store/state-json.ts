// How the SQLite and PostgreSQL stores keep a state: JSON without what the instance row already
// holds in columns of its own (id, definition name and version, idempotency key, status, created
// and updated times: the columns are written from the same state in the same statement, and
// reading puts them back), and with the fields still at their initial values left out. A state is
// rewritten at every transition: about half of a 3-step saga's ~900 bytes were compensations never
// started, zero counters and empty orders, and another ~200 repeated the columns; bytes that were
// encoded, sent, parsed, written to the WAL and flushed for nothing. Rows written in full (before
// this, or by hand) read the same way.
//
// A field added to these types must be added here too: test/store/state-json.test.ts builds each
// type with every field set (typed `Required<…>`, so it stops compiling until it is) and checks
// that a round trip keeps all of them.
import { copyPhase, copyState } from "../domain/copy-state.js";
import type { ErrorInfo } from "../domain/error-info.js";
import type { PhaseState, SagaState, StepState } from "../domain/state.js";
import type { Phase, SagaStatus } from "../domain/status.js";
import { StoreUnavailableError } from "../errors.js";

/** A phase as stored: `failures` left out when 0. */
type StoredPhase = Omit<PhaseState, "failures"> & { failures?: number };

/** A step as stored: a phase never started left out. */
interface StoredStep extends Omit<StepState, "action" | "compensation"> {
  action?: StoredPhase;
  compensation?: StoredPhase;
}

/** The fields of a state that `saga_instances` keeps in columns, which the stored JSON leaves out. */
type ColumnField = "id" | "definitionName" | "definitionVersion" | "idempotencyKey" | "status" | "createdAtMs" | "updatedAtMs";

/**
 * A stop as stored: when its error is the last error of the step it names (as `decide` makes it,
 * the same object), `errorOf` names that step's phase instead of repeating the error.
 */
type StoredStop = Omit<NonNullable<SagaState["stop"]>, "error"> & { error?: ErrorInfo; errorOf?: Phase };

/**
 * A state as stored: the column fields left out (present in rows written before that), empty
 * orders, `pivotPassed: false` and `recoveries: 0` too.
 */
export interface StoredState
  extends Omit<SagaState, ColumnField | "steps" | "settledOrder" | "compensationOrder" | "pivotPassed" | "recoveries" | "stop">, Partial<Pick<SagaState, ColumnField>> {
  steps: StoredStep[];
  stop?: StoredStop;
  settledOrder?: number[];
  compensationOrder?: number[];
  pivotPassed?: boolean;
  recoveries?: number;
}

/**
 * The JSON text a store keeps for `state`. Written out field by field rather than by
 * `JSON.stringify` of a compacted copy: the copy's objects and the generic walk over them cost
 * half again as much (3.0 against 1.9 µs for a 3-step saga's state here), at every transition.
 * Data the engine does not shape (input, outputs, errors, signals, reasons) still goes through
 * `JSON.stringify`. Numbers are written as `JSON.stringify` writes them, `null` when not finite.
 */
export function stateToJson(state: SagaState): string {
  let json = `{"input":${data(state.input)},"steps":[`;
  const { steps } = state;
  for (let i = 0; i < steps.length; i++) json += (i === 0 ? "" : ",") + stepJson(steps[i] as StepState);
  // The state's own wake-up: the column may hold an earlier one (see UPDATE_COMMITTED_KEEPING_SCHEDULE).
  json += `],"wakeAtMs":${state.wakeAtMs === null ? "null" : num(state.wakeAtMs)}`;
  if (state.settledOrder.length > 0) json += `,"settledOrder":${data(state.settledOrder)}`;
  if (state.compensationOrder.length > 0) json += `,"compensationOrder":${data(state.compensationOrder)}`;
  if (state.pivotPassed) json += `,"pivotPassed":true`;
  if (state.recoveries !== 0) json += `,"recoveries":${num(state.recoveries)}`;
  if (state.definitionHash !== undefined) json += `,"definitionHash":${text(state.definitionHash)}`;
  if (state.cancel !== undefined) json += `,"cancel":${data(state.cancel)}`;
  if (state.stop !== undefined) json += `,"stop":${stopJson(state, state.stop)}`;
  if (state.outstanding !== undefined) json += `,"outstanding":${data(state.outstanding)}`;
  if (state.deadlineAtMs !== undefined) json += `,"deadlineAtMs":${num(state.deadlineAtMs)}`;
  if (state.abort !== undefined) json += `,"abort":${data(state.abort)}`;
  if (state.resolution !== undefined) json += `,"resolution":${data(state.resolution)}`;
  if (state.signals !== undefined) json += `,"signals":${data(state.signals)}`;
  if (state.endedAtMs !== undefined) json += `,"endedAtMs":${num(state.endedAtMs)}`;
  return `${json}}`;
}

/**
 * A stop whose error is its step's last error (a step that failed for good stops the saga with
 * the error it failed with) names that step's phase instead of holding a second copy: the error,
 * its stack included, is the largest part of a stopped saga's state, which is rewritten at every
 * transition until the saga ends. Any other error is written out.
 */
function stopJson(state: SagaState, stop: NonNullable<SagaState["stop"]>): string {
  const step = stop.error === undefined ? undefined : state.steps.find((s) => s.name === stop.step);
  const errorOf: Phase | undefined =
    step === undefined ? undefined : step.action.lastError === stop.error ? "action" : step.compensation.lastError === stop.error ? "compensation" : undefined;
  if (errorOf === undefined) return data(stop);
  const { error: _shared, ...rest } = stop;
  return data({ ...rest, errorOf });
}

function stepJson(step: StepState): string {
  let json = `{"name":${text(step.name)}`;
  if (!isUntouched(step.action)) json += `,"action":${phaseJson(step.action)}`;
  if (!isUntouched(step.compensation)) json += `,"compensation":${phaseJson(step.compensation)}`;
  if (step.output !== undefined) json += `,"output":${data(step.output)}`;
  return `${json}}`;
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

function phaseJson(phase: PhaseState): string {
  let json = `{"status":${text(phase.status)},"attempt":${num(phase.attempt)}`;
  if (phase.failures !== 0) json += `,"failures":${num(phase.failures)}`;
  if (phase.nextAttemptAtMs !== undefined) json += `,"nextAttemptAtMs":${num(phase.nextAttemptAtMs)}`;
  if (phase.startedAtMs !== undefined) json += `,"startedAtMs":${num(phase.startedAtMs)}`;
  if (phase.settledAtMs !== undefined) json += `,"settledAtMs":${num(phase.settledAtMs)}`;
  if (phase.lastError !== undefined) json += `,"lastError":${data(phase.lastError)}`;
  if (phase.lastTimedOut !== undefined) json += `,"lastTimedOut":${phase.lastTimedOut ? "true" : "false"}`;
  if (phase.deadlineAtMs !== undefined) json += `,"deadlineAtMs":${num(phase.deadlineAtMs)}`;
  return `${json}}`;
}

/** A string as JSON (`null` if, through a bug upstream, it is missing, so the text still parses). */
function text(value: string): string {
  return data(value);
}

/** A number as `JSON.stringify` writes it. */
function num(value: number): string {
  return Number.isFinite(value) ? String(value) : "null";
}

/** Any other value as JSON; `null` for one JSON cannot hold, so the text always parses. */
function data(value: unknown): string {
  return JSON.stringify(value) ?? "null";
}

/** The columns of `saga_instances` a state is read with (see `ColumnField`). */
export interface StateColumns {
  id: string;
  definition_name: string;
  definition_version: number;
  idempotency_key: string | null;
  status: string;
  created_at_ms: number;
  updated_at_ms: number;
}

/** What a state is read from: `StateColumns` (the compiler checks every one is named) and the JSON. */
const STATE_COLUMN_NAMES = ["id", "definition_name", "definition_version", "idempotency_key", "status", "created_at_ms", "updated_at_ms", "state_json"] as const;
type ListedColumns = (typeof STATE_COLUMN_NAMES)[number];
// Fails to compile when `StateColumns` gains a column the list above does not name.
const EVERY_STATE_COLUMN_LISTED: Exclude<keyof StateColumns, ListedColumns> extends never ? true : never = true;
void EVERY_STATE_COLUMN_LISTED;

/** Those columns in a select list, each prefixed with `alias.` when given. */
export function stateColumnList(alias?: string): string {
  const prefix = alias === undefined ? "" : `${alias}.`;
  return STATE_COLUMN_NAMES.map((c) => prefix + c).join(", ");
}

/**
 * The state that parsed JSON of `stateToJson` (or a state written in full) holds, with the
 * fields its row keeps in columns taken from `columns` (which always win: they are what every
 * query filters and orders on). The parsed
 * object is this call's own: what was left out is filled in, then it is copied field by field in
 * `copyState`'s order, so a state read from a store has the shapes of the ones the engine makes
 * and does not turn the engine's property accesses polymorphic.
 */
export function fromStoredState(stored: StoredState, columns: StateColumns): SagaState {
  const filled = stored as unknown as SagaState;
  filled.id = columns.id;
  filled.definitionName = columns.definition_name;
  filled.definitionVersion = columns.definition_version;
  filled.idempotencyKey = columns.idempotency_key;
  filled.status = columns.status as SagaStatus;
  filled.createdAtMs = columns.created_at_ms;
  filled.updatedAtMs = columns.updated_at_ms;
  filled.steps = stored.steps.map(fromStoredStep);
  filled.settledOrder = stored.settledOrder ?? [];
  filled.compensationOrder = stored.compensationOrder ?? [];
  filled.pivotPassed = stored.pivotPassed ?? false;
  filled.recoveries = stored.recoveries ?? 0;
  if (stored.stop?.errorOf !== undefined) filled.stop = withStopError(stored.stop, stored.stop.errorOf, filled.steps, columns.id);
  return copyState(filled);
}

/** The stop of a state read back, its error the one its step's phase holds (see `stopJson`). */
function withStopError(stored: StoredStop, errorOf: Phase, steps: readonly StepState[], sagaId: string): NonNullable<SagaState["stop"]> {
  const { errorOf: _phase, ...stop } = stored;
  const error = steps.find((step) => step.name === stop.step)?.[errorOf]?.lastError;
  if (error === undefined) {
    throw new StoreUnavailableError(
      `the store's state of saga ${sagaId} says its stop's error is step ${String(stop.step)}'s last ${errorOf} error, which the state does not hold; the database was damaged or edited by hand: restore it from a backup`,
    );
  }
  return { ...stop, error };
}

function fromStoredStep(stored: StoredStep): StepState {
  const step: StepState = { name: stored.name, action: fromStoredPhase(stored.action), compensation: fromStoredPhase(stored.compensation) };
  if (stored.output !== undefined) step.output = stored.output;
  return step;
}

function fromStoredPhase(stored: StoredPhase | undefined): PhaseState {
  if (stored === undefined) return { status: "pending", attempt: 0, failures: 0 };
  stored.failures ??= 0;
  return copyPhase(stored as PhaseState);
}
