import type { ErrorInfo } from "./error-info.js";
import type { JsonValue } from "./json.js";

/**
 * What the engine is told. Everything non-deterministic (the outcome of a call, the
 * random jitter of a backoff) arrives inside an event, so the engine stays a pure function.
 */
export type SagaEvent =
  | ClaimedEvent
  | TimerFiredEvent
  | PhaseSucceededEvent
  | PhaseFailedEvent
  | CancelRequestedEvent
  | StepCompletedEvent
  | StepFailedEvent
  | RetryRequestedEvent
  | SignalReceivedEvent
  | SkipRequestedEvent
  | ResolveRequestedEvent
  | AbortRequestedEvent;

/**
 * A worker took the instance from the store. Any attempt still marked running was started
 * by a worker that is gone: it is in doubt and is run again with the same idempotency key.
 */
export interface ClaimedEvent {
  type: "claimed";
}

/** A wake-up the engine asked for (a retry backoff) is due; nothing is in doubt. */
export interface TimerFiredEvent {
  type: "timer_fired";
}

export interface PhaseSucceededEvent {
  type: "action_succeeded" | "compensation_succeeded";
  step: string;
  attempt: number;
  /** The action's output (ignored for compensations). */
  output?: JsonValue;
}

export interface PhaseFailedEvent {
  type: "action_failed" | "compensation_failed";
  step: string;
  attempt: number;
  error: ErrorInfo;
  /** False for errors that must not be retried (TerminalError, a configured terminal name). */
  retryable: boolean;
  timedOut: boolean;
  /** A participant's own request to wait at least this long (e.g. HTTP Retry-After). */
  retryAfterMs?: number;
  /** A random number in [0, 1) used for backoff jitter; passed in to keep the engine pure. */
  jitter: number;
}

export interface CancelRequestedEvent {
  type: "cancel_requested";
  reason: string;
  by: string;
}

/** Someone outside completed a waiting step (see `StepPlan.wait`) with its output. */
export interface StepCompletedEvent {
  type: "step_completed";
  step: string;
  /** The waiting attempt this answers; an answer to an earlier one is stale and ignored. */
  attempt: number;
  output: JsonValue;
  /** Who answered, for the history. */
  by: string;
}

/** Someone outside failed a waiting step. */
export interface StepFailedEvent {
  type: "step_failed";
  step: string;
  attempt: number;
  error: ErrorInfo;
  /** Whether the step's retry policy may wait again; false fails it for good. */
  retryable: boolean;
  by: string;
}

/**
 * An operator asks a `failed` saga to try what it left outstanding again (after fixing the
 * cause): its failed compensations, or the step it was parked on, each with a fresh retry budget.
 */
export interface RetryRequestedEvent {
  type: "retry_requested";
  reason: string;
  by: string;
}

/**
 * A named event from outside (e.g. "manager-approved") with its payload. A step that waits for
 * that name takes the payload as its output; one that arrives before any step waits for it is
 * kept until one does. `id` names the delivery: a second delivery with the same id is a
 * duplicate and changes nothing.
 */
export interface SignalReceivedEvent {
  type: "signal_received";
  name: string;
  id: string;
  payload: JsonValue;
  by: string;
}

/**
 * An operator skips the outstanding compensation of a step of a `failed` saga (it was done by
 * hand, or turned out not to be needed); the compensations after it in the order then run.
 */
export interface SkipRequestedEvent {
  type: "skip_requested";
  step: string;
  reason: string;
  by: string;
}

/** An operator marks a `failed` saga resolved: it stays failed, and no longer needs attention. */
export interface ResolveRequestedEvent {
  type: "resolve_requested";
  reason: string;
  by: string;
}

/**
 * An operator stops a saga without compensating, for emergencies: what runs settles, nothing
 * else starts, and the saga ends `failed` with the compensations it did not run outstanding.
 */
export interface AbortRequestedEvent {
  type: "abort_requested";
  reason: string;
  by: string;
}
