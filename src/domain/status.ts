/** Where a saga instance is in its life. Only the last three are terminal (G1). */
export const SagaStatus = {
  Running: "running",
  Compensating: "compensating",
  Completed: "completed",
  Compensated: "compensated",
  Failed: "failed",
} as const;
export type SagaStatus = (typeof SagaStatus)[keyof typeof SagaStatus];

export const SAGA_STATUSES: readonly SagaStatus[] = Object.values(SagaStatus);
export const TERMINAL_STATUSES: readonly SagaStatus[] = [SagaStatus.Completed, SagaStatus.Compensated, SagaStatus.Failed];

/**
 * Compared one by one rather than with `TERMINAL_STATUSES.includes`: it is asked several times per
 * transition (the engine, the runtime, the stores, every subscriber), and `includes` is a call into
 * a generic builtin that compares strings by content, about a hundred instructions a time.
 */
export function isTerminal(status: SagaStatus): boolean {
  return status === SagaStatus.Completed || status === SagaStatus.Compensated || status === SagaStatus.Failed;
}

export function isSagaStatus(value: unknown): value is SagaStatus {
  return typeof value === "string" && (SAGA_STATUSES as readonly string[]).includes(value);
}

/**
 * Where one phase (the action, or the compensation) of one step is.
 * `running` means an attempt was recorded as started and its outcome is not recorded yet:
 * if the worker that started it is gone, the attempt is in doubt.
 */
export const PhaseStatus = {
  Pending: "pending",
  Running: "running",
  Retrying: "retrying",
  Succeeded: "succeeded",
  Failed: "failed",
  /** Compensation only: nothing to undo (no compensation defined, or the action never took effect). */
  NotNeeded: "not_needed",
  /** Compensation only: an operator skipped it (done by hand, or not needed after all), with a recorded reason. */
  Skipped: "skipped",
} as const;
export type PhaseStatus = (typeof PhaseStatus)[keyof typeof PhaseStatus];

/** The two things a step can do. */
export const Phase = { Action: "action", Compensation: "compensation" } as const;
export type Phase = (typeof Phase)[keyof typeof Phase];
