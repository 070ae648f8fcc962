import type { Logger } from "../runtime/logger.js";
import type { TransitionNotice } from "../runtime/saga-driver.js";

/**
 * One structured line per history entry of every transition, at info: what an operator greps for
 * first (`sagaId`, `step`, `phase`, `attempt`) as fields, and the entry's type as the message.
 * Failures carry the error's name and message; inputs and outputs are left out (they may hold
 * personal data and are in the store for whoever may read them).
 */
export function transitionLogger(logger: Logger): (notice: TransitionNotice) => void {
  return (notice) => {
    const base = { sagaId: notice.sagaId, definition: notice.state.definitionName, version: notice.state.definitionVersion, workerId: notice.workerId, epoch: notice.epoch };
    for (const entry of notice.history) {
      switch (entry.type) {
        case "attempt_started":
        case "attempt_succeeded":
          logger.info({ ...base, step: entry.step, phase: entry.phase, attempt: entry.attempt }, entry.type);
          break;
        case "attempt_failed":
          logger.info(
            {
              ...base,
              step: entry.step,
              phase: entry.phase,
              attempt: entry.attempt,
              timedOut: entry.timedOut,
              error: { name: entry.error.name, message: entry.error.message, ...(entry.error.code === undefined ? {} : { code: entry.error.code }) },
              ...(entry.nextAttemptAtMs === undefined ? {} : { nextAttemptAt: new Date(entry.nextAttemptAtMs).toISOString() }),
            },
            entry.type,
          );
          break;
        case "phase_gave_up":
          logger.info({ ...base, step: entry.step, phase: entry.phase, attempts: entry.attempts, error: { name: entry.error.name, message: entry.error.message } }, entry.type);
          break;
        case "attempt_in_doubt":
          logger.info({ ...base, step: entry.step, phase: entry.phase, attempt: entry.attempt, recoveries: entry.recoveries }, entry.type);
          break;
        case "saga_started":
          logger.info({ ...base, idempotencyKey: entry.idempotencyKey }, entry.type);
          break;
        case "saga_ended":
          logger.info({ ...base, status: entry.status, ...(entry.reason === undefined ? {} : { reason: entry.reason }) }, entry.type);
          break;
        case "compensation_started":
          logger.info({ ...base, reason: entry.reason, ...(entry.step === undefined ? {} : { step: entry.step }), order: entry.order }, entry.type);
          break;
        case "cancel_requested":
          logger.info({ ...base, reason: entry.reason, by: entry.by }, entry.type);
          break;
        default:
          logger.info({ ...base }, entry.type);
      }
    }
  };
}
