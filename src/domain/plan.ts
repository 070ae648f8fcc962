import type { RetryPolicy } from "./retry-policy.js";

/**
 * The data half of a saga definition: everything the pure engine needs to decide,
 * and nothing it must not see (the step functions live in the DSL's definition).
 */
export interface SagaPlan {
  readonly name: string;
  readonly version: number;
  readonly steps: readonly StepPlan[];
  /**
   * How many times an instance may be found with an attempt in doubt (its worker died
   * while running it) before it is parked as `failed` with reason `recovery_limit`.
   */
  readonly maxRecoveries: number;
  /** Default deadline of an instance, in ms from its start; absent: none. See `SagaState.deadlineAtMs`. */
  readonly deadlineMs?: number;
}

export interface StepPlan {
  readonly name: string;
  /** Once a pivot step succeeds the saga no longer rolls back; it only rolls forward. */
  readonly pivot: boolean;
  readonly hasCompensation: boolean;
  /** A step that failed for good is compensated only when its failure may leave effects. */
  readonly compensateOnFailure: boolean;
  readonly retry: RetryPolicy;
  /** Per-attempt limit for the action; 0 means none. */
  readonly timeoutMs: number;
  readonly compensationRetry: RetryPolicy;
  readonly compensationTimeoutMs: number;
  /**
   * The action is no call of ours: the step waits until someone outside completes or fails it
   * (`Orchestrator.completeStep`, the HTTP API), for at most `timeoutMs` per attempt (0: forever).
   */
  readonly wait?: boolean;
  /** A waiting step that is answered by the named event (`SignalReceivedEvent`) rather than by `completeStep`. */
  readonly event?: string;
  /**
   * A durable timer (`sleepStep`): no call of its own, the saga sleeps until the time comes, holding
   * no worker. `duration`: from when the step starts. `until`: the step's action computes the
   * time (epoch ms) once, then the saga sleeps until it.
   */
  /**
   * Set on every step of a parallel group (`SagaBuilder.parallel`), whose steps are consecutive in
   * `steps` and start together. `onFailure`: when one fails for good, `wait` lets the siblings in
   * flight finish, `cancel` aborts their attempts; either way what may have taken effect is then
   * compensated, newest first.
   */
  readonly group?: { readonly name: string; readonly onFailure: "wait" | "cancel" };
  readonly sleep?: { readonly kind: "duration"; readonly durationMs: number } | { readonly kind: "until" };
}
