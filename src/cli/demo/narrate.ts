import type { TransitionNotice } from "../../runtime/saga-driver.js";

/**
 * The `[Orchestrator] …` lines of the seed's output, derived from a committed transition.
 * Lines the seed has are worded as in the seed; the rest (retries, recoveries) are extra.
 */
export function narrate(notice: TransitionNotice): string[] {
  const orderId = orderIdOf(notice);
  const lines: string[] = [];
  for (const entry of notice.history) {
    switch (entry.type) {
      case "attempt_started":
        if (entry.phase === "action") lines.push(entry.attempt === 1 ? `executing step: ${entry.step}` : `retrying step: ${entry.step} (attempt ${entry.attempt})`);
        else if (entry.attempt > 1) lines.push(`retrying compensation of ${entry.step} (attempt ${entry.attempt})`);
        break;
      case "attempt_failed":
        if (entry.nextAttemptAtMs !== undefined) {
          const what = entry.phase === "action" ? `step ${entry.step}` : `compensation of ${entry.step}`;
          lines.push(`${what} attempt ${entry.attempt} failed: ${entry.error.message}; will retry`);
        }
        break;
      case "phase_gave_up":
        lines.push(entry.phase === "action" ? `step ${entry.step} failed: ${entry.error.message}` : `compensation of ${entry.step} gave up: ${entry.error.message}`);
        break;
      case "attempt_in_doubt":
        lines.push(`${entry.step} ${entry.phase} attempt ${entry.attempt} was in flight when its worker stopped; running it again`);
        break;
      case "compensation_started":
        lines.push("running compensating transactions...");
        break;
      case "saga_ended":
        if (entry.status === "completed") lines.push(`saga completed successfully for order ${orderId}`);
        else if (entry.status === "failed") lines.push(`saga failed for order ${orderId}; outstanding: ${(entry.outstanding ?? []).map((o) => `${o.step} ${o.phase}`).join(", ")}`);
        break;
      default:
        break;
    }
  }
  return lines.map((line) => `[Orchestrator] ${line}`);
}

function orderIdOf(notice: TransitionNotice): string {
  const input = notice.state.input;
  if (typeof input === "object" && input !== null && !Array.isArray(input) && typeof input.orderId === "string") return input.orderId;
  return notice.sagaId;
}
