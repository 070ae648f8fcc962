import type { ErrorInfo } from "../domain/error-info.js";
import type { StoredHistoryEntry } from "../domain/history.js";
import type { JsonValue } from "../domain/json.js";
import type { Outstanding, PhaseState, SagaState, StepState } from "../domain/state.js";
import type { Phase, PhaseStatus, SagaStatus } from "../domain/status.js";

// The JSON shapes of `list --json` and `show --json`. They are documented in docs/cli.md;
// add fields freely, but never rename or remove one.

/** One item of `sagaflow list --json`. */
export interface ListItemView {
  id: string;
  definition: string;
  version: number;
  status: SagaStatus;
  idempotencyKey: string | null;
  /** The step being worked on (its compensation while compensating); null once the saga ended. */
  currentStep: string | null;
  startedAt: string;
  updatedAt: string;
  endedAt: string | null;
  /** Times a worker found an attempt in doubt (its previous worker died) and ran it again. */
  recoveries: number;
  stop: { reason: string; step: string | null; message: string | null } | null;
}

/** How one attempt ended; `in_doubt`: its worker died, so the next attempt re-ran it with the same key. */
export type AttemptOutcome = "succeeded" | "failed" | "in_doubt" | "running";

/** One attempt of an action or compensation, rebuilt from the history. */
export interface AttemptView {
  attempt: number;
  startedAt: string;
  endedAt: string | null;
  outcome: AttemptOutcome;
  timedOut?: boolean;
  error?: ErrorInfo;
  output?: JsonValue;
}

/** An action or a compensation of one step. */
export interface PhaseView {
  status: PhaseStatus;
  attempts: AttemptView[];
  lastError: ErrorInfo | null;
}

/** One step of `show --json`. */
export interface StepView {
  name: string;
  output: JsonValue | null;
  action: PhaseView;
  compensation: PhaseView;
}

/** A stored history entry with ISO times (`at`, `nextAttemptAt`) in place of epoch milliseconds. */
export type HistoryItemView = { seq: number; at: string; type: string } & Record<string, unknown>;

/** The object `sagaflow show ID --json` prints. */
export interface ShowView extends ListItemView {
  input: JsonValue;
  stop: (NonNullable<ListItemView["stop"]> & { error: ErrorInfo | null; at: string }) | null;
  cancel: { reason: string; by: string; at: string } | null;
  /** What an operator still has to see to; empty unless the saga ended `failed`. */
  outstanding: Outstanding[];
  steps: StepView[];
  history: HistoryItemView[];
}

/** Epoch milliseconds as an ISO 8601 string. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The step a human would say the saga is "at". */
export function currentStepOf(state: SagaState): string | null {
  if (state.status === "running") {
    const busy = state.steps.find((step) => step.action.status === "running" || step.action.status === "retrying");
    return (busy ?? state.steps.find((step) => step.action.status !== "succeeded"))?.name ?? null;
  }
  if (state.status === "compensating") {
    const index = state.compensationOrder.find((i) => {
      const status = state.steps[i]?.compensation.status;
      return status !== "succeeded" && status !== "not_needed" && status !== "skipped";
    });
    return index === undefined ? null : (state.steps[index]?.name ?? null);
  }
  return null;
}

/** Builds a `list --json` item. */
export function toListItem(state: SagaState): ListItemView {
  return {
    id: state.id,
    definition: state.definitionName,
    version: state.definitionVersion,
    status: state.status,
    idempotencyKey: state.idempotencyKey,
    currentStep: currentStepOf(state),
    startedAt: iso(state.createdAtMs),
    updatedAt: iso(state.updatedAtMs),
    endedAt: state.endedAtMs === undefined ? null : iso(state.endedAtMs),
    recoveries: state.recoveries,
    stop: state.stop === undefined ? null : { reason: state.stop.reason, step: state.stop.step ?? null, message: state.stop.error?.message ?? null },
  };
}

/** Builds the `show --json` object from the state and its full history. */
export function toShowView(state: SagaState, history: readonly StoredHistoryEntry[]): ShowView {
  const item = toListItem(state);
  return {
    ...item,
    input: state.input,
    stop:
      state.stop === undefined
        ? null
        : {
            reason: state.stop.reason,
            step: state.stop.step ?? null,
            message: state.stop.error?.message ?? null,
            error: state.stop.error ?? null,
            at: iso(state.stop.atMs),
          },
    cancel: state.cancel === undefined ? null : { reason: state.cancel.reason, by: state.cancel.by, at: iso(state.cancel.atMs) },
    outstanding: state.outstanding ?? [],
    steps: state.steps.map((step) => toStepView(step, history)),
    history: history.map(toHistoryItem),
  };
}

function toStepView(step: StepState, history: readonly StoredHistoryEntry[]): StepView {
  return {
    name: step.name,
    output: step.output ?? null,
    action: toPhaseView(step.action, attemptsOf(history, step.name, "action")),
    compensation: toPhaseView(step.compensation, attemptsOf(history, step.name, "compensation")),
  };
}

function toPhaseView(phase: PhaseState, attempts: AttemptView[]): PhaseView {
  return { status: phase.status, attempts, lastError: phase.lastError ?? null };
}

/** Reconstructs each attempt of one phase from the history: when it started and how it ended. */
function attemptsOf(history: readonly StoredHistoryEntry[], step: string, phase: Phase): AttemptView[] {
  const attempts = new Map<number, AttemptView>();
  for (const entry of history) {
    if (!("step" in entry) || entry.step !== step || !("phase" in entry) || entry.phase !== phase) continue;
    if (entry.type === "attempt_started") {
      attempts.set(entry.attempt, { attempt: entry.attempt, startedAt: iso(entry.atMs), endedAt: null, outcome: "running" });
      continue;
    }
    if (entry.type !== "attempt_succeeded" && entry.type !== "attempt_failed" && entry.type !== "attempt_in_doubt") continue;
    const attempt = attempts.get(entry.attempt);
    if (attempt === undefined) continue;
    attempt.endedAt = iso(entry.atMs);
    if (entry.type === "attempt_succeeded") {
      attempt.outcome = "succeeded";
      if (entry.output !== undefined) attempt.output = entry.output;
    } else if (entry.type === "attempt_failed") {
      attempt.outcome = "failed";
      attempt.error = entry.error;
      attempt.timedOut = entry.timedOut;
    } else {
      attempt.outcome = "in_doubt";
    }
  }
  return [...attempts.values()].sort((a, b) => a.attempt - b.attempt);
}

function toHistoryItem(entry: StoredHistoryEntry): HistoryItemView {
  const { seq, atMs, type, ...rest } = entry;
  const item: HistoryItemView = { seq, at: iso(atMs), type };
  for (const [key, value] of Object.entries(rest)) {
    if (key === "nextAttemptAtMs" && typeof value === "number") item.nextAttemptAt = iso(value);
    else item[key] = value;
  }
  return item;
}
