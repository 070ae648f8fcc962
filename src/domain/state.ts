import type { ErrorInfo } from "./error-info.js";
import type { JsonValue } from "./json.js";
import type { Phase, PhaseStatus, SagaStatus } from "./status.js";

/** One phase (action or compensation) of one step. */
export interface PhaseState {
  status: PhaseStatus;
  /** Number of the last attempt started (0 = never started). Attempts are numbered from 1. */
  attempt: number;
  /** Attempts whose outcome was recorded as a failure; this is what the retry budget counts. */
  failures: number;
  /** Set while `status` is `retrying`: when the next attempt is due. */
  nextAttemptAtMs?: number;
  startedAtMs?: number;
  settledAtMs?: number;
  lastError?: ErrorInfo;
  /** True when the last recorded failure may have taken effect: a timeout, or a `RetryableError` with `outcomeUnknown`. */
  lastTimedOut?: boolean;
  /** Set while a waiting step waits with a timeout: when the attempt times out. */
  deadlineAtMs?: number;
}

export interface StepState {
  name: string;
  action: PhaseState;
  compensation: PhaseState;
  /** The action's result, once it succeeded. Compensation receives it. */
  output?: JsonValue;
}

/** Why forward progress stopped. */
export const StopReason = {
  StepFailed: "step_failed",
  Cancelled: "cancelled",
  RecoveryLimit: "recovery_limit",
  StepFailedAfterPivot: "step_failed_after_pivot",
  CompensationFailed: "compensation_failed",
  /** An operator stopped the saga without compensating (an emergency); what is left is outstanding. */
  Aborted: "aborted",
} as const;
export type StopReason = (typeof StopReason)[keyof typeof StopReason];

export interface Outstanding {
  step: string;
  phase: Phase;
}

/**
 * The whole persisted state of one saga instance. Plain data: it survives a JSON round
 * trip unchanged (a test says so), which is how every store keeps it.
 */
export interface SagaState {
  id: string;
  definitionName: string;
  definitionVersion: number;
  /**
   * A hash of the definition's shape (its steps and what each is) when the instance started: a
   * worker runs the instance only with a definition of the same shape under `name@version`.
   */
  definitionHash?: string;
  input: JsonValue;
  idempotencyKey: string | null;
  status: SagaStatus;
  steps: StepState[];
  /** Indexes of steps in the order their actions settled with (possible) effects; compensation runs this backwards. */
  settledOrder: number[];
  /** Fixed when compensation begins: step indexes to compensate, newest first. */
  compensationOrder: number[];
  pivotPassed: boolean;
  cancel?: { reason: string; by: string; atMs: number };
  /** Set once the saga stops going forward (compensation begins or it is parked). */
  stop?: { reason: StopReason; step?: string; error?: ErrorInfo; atMs: number };
  /** Set when the saga ended `failed`: what an operator still has to see to. */
  outstanding?: Outstanding[];
  /**
   * When the saga must be done going forward (epoch ms): once it passes, a saga still running
   * before its pivot rolls back as if cancelled (`by: "deadline"`). Absent: no deadline.
   */
  deadlineAtMs?: number;
  /** Set when an operator aborted the saga: it stops without compensating, once nothing runs. */
  abort?: { reason: string; by: string; atMs: number };
  /** Set when an operator marked a `failed` saga resolved: it stays failed, and needs no more attention. */
  resolution?: { reason: string; by: string; atMs: number };
  /** Named events delivered to this saga (see `SignalReceivedEvent`), oldest first; absent until the first. */
  signals?: ReceivedSignal[];
  recoveries: number;
  /** When the engine next wants to look at this instance; null when it waits for nothing (terminal). */
  wakeAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
  endedAtMs?: number;
}

/** A named event the saga received: kept, so it is taken once and a duplicate is known as one. */
export interface ReceivedSignal {
  id: string;
  name: string;
  payload: JsonValue;
  by: string;
  atMs: number;
  /** The step that took it as its output; absent while no step has waited for it yet. */
  consumedBy?: string;
}
