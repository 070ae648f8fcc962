import type { JsonValue } from "../domain/json.js";
import type { SagaPlan } from "../domain/plan.js";
import type { HistoryEntry } from "../domain/history.js";
import type { PhaseState, SagaState } from "../domain/state.js";

/**
 * The phase every step starts in, one object for all of them: `decide` copies a phase before it
 * changes it, so none is ever changed in place (frozen, so a change would throw). Six objects
 * fewer a saga at its start, and on the success path the three compensations a store keeps stay
 * this one.
 */
const NOT_STARTED: PhaseState = Object.freeze({ status: "pending", attempt: 0, failures: 0 });

export interface NewSagaParams {
  id: string;
  input: JsonValue;
  idempotencyKey: string | null;
  nowMs: number;
  /** Overrides the plan's `deadlineMs`; absent with no plan deadline: none. */
  deadlineAtMs?: number;
  /** The shape hash of the definition it starts with (see `SagaState.definitionHash`). */
  definitionHash?: string;
}

/** The state of a saga that was accepted and has not run anything yet; due at once. */
export function createInitialState(plan: SagaPlan, params: NewSagaParams): { state: SagaState; history: HistoryEntry[] } {
  const steps = plan.steps.map((step) => ({ name: step.name, action: NOT_STARTED, compensation: NOT_STARTED }));
  // With the definition's hash in the literal, where `copyState` puts it (see there), when there is
  // one (every start gives one): added after, it would take a property array of its own, and the
  // first state of every saga a hidden class no later state has.
  const state: SagaState =
    params.definitionHash === undefined
      ? {
          id: params.id,
          definitionName: plan.name,
          definitionVersion: plan.version,
          input: params.input,
          idempotencyKey: params.idempotencyKey,
          status: "running",
          steps,
          settledOrder: [],
          compensationOrder: [],
          pivotPassed: false,
          recoveries: 0,
          wakeAtMs: params.nowMs,
          createdAtMs: params.nowMs,
          updatedAtMs: params.nowMs,
        }
      : {
          id: params.id,
          definitionName: plan.name,
          definitionVersion: plan.version,
          definitionHash: params.definitionHash,
          input: params.input,
          idempotencyKey: params.idempotencyKey,
          status: "running",
          steps,
          settledOrder: [],
          compensationOrder: [],
          pivotPassed: false,
          recoveries: 0,
          wakeAtMs: params.nowMs,
          createdAtMs: params.nowMs,
          updatedAtMs: params.nowMs,
        };
  const deadlineAtMs = params.deadlineAtMs ?? (plan.deadlineMs === undefined ? undefined : params.nowMs + plan.deadlineMs);
  if (deadlineAtMs !== undefined) state.deadlineAtMs = deadlineAtMs;
  const history: HistoryEntry[] = [
    { type: "saga_started", atMs: params.nowMs, input: params.input, idempotencyKey: params.idempotencyKey },
  ];
  return { state, history };
}
