import { TERMINAL_STATUSES, type Phase, type PhaseStatus, type SagaState, type SagaStatus, type StopReason } from "./api";

export function isTerminal(status: SagaStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** The step a human would say the saga is "at", with the phase being worked on; null once it ended. */
export function currentStep(saga: SagaState): { step: string; phase: Phase } | null {
  if (saga.status === "running") {
    const busy = saga.steps.find((step) => step.action.status === "running" || step.action.status === "retrying");
    const next = busy ?? saga.steps.find((step) => step.action.status !== "succeeded");
    return next === undefined ? null : { step: next.name, phase: "action" };
  }
  if (saga.status === "compensating") {
    const index = saga.compensationOrder.find((i) => {
      const status = saga.steps[i]?.compensation.status;
      return status !== "succeeded" && status !== "not_needed" && status !== "skipped";
    });
    const step = index === undefined ? undefined : saga.steps[index];
    return step === undefined ? null : { step: step.name, phase: "compensation" };
  }
  return null;
}

export function currentStepLabel(saga: SagaState): string {
  const current = currentStep(saga);
  return current === null ? "—" : `${current.step} (${current.phase})`;
}

const STOP_REASONS: Record<StopReason, string> = {
  step_failed: "a step failed",
  cancelled: "cancelled",
  recovery_limit: "recovery limit reached",
  step_failed_after_pivot: "a step failed after the pivot",
  compensation_failed: "a compensation failed",
  aborted: "aborted by an operator, without compensating",
};

export function describeStopReason(reason: string): string {
  return (STOP_REASONS as Record<string, string | undefined>)[reason] ?? reason.replaceAll("_", " ");
}

// Every status spelled out (a Record, so a status the library adds is a type error here until it has words).
const PHASE_STATUSES: Record<PhaseStatus, string> = {
  pending: "pending",
  running: "running",
  retrying: "retrying",
  succeeded: "succeeded",
  failed: "failed",
  not_needed: "not needed",
  // Settled by an operator's hand, not by the compensation: said as such, never as "succeeded".
  skipped: "skipped",
};

/** A phase's status as words. */
export function describePhaseStatus(status: string): string {
  return (PHASE_STATUSES as Record<string, string | undefined>)[status] ?? status.replaceAll("_", " ");
}

/** How long the saga has run: to its end, or to now while it goes on. */
export function sagaDurationMs(saga: SagaState, nowMs: number): number {
  return (saga.endedAtMs ?? nowMs) - saga.createdAtMs;
}
