import type { RetryPolicy } from "../domain/retry-policy.js";

/**
 * Delay before the retry that follows the `failureNumber`-th failure (1-based).
 * Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): a uniform draw in
 * [0, cap), which spreads retries of many sagas that failed together.
 * `jitter` is a random number in [0, 1) supplied by the caller, so this stays pure.
 */
export function backoffDelayMs(policy: RetryPolicy, failureNumber: number, jitter: number): number {
  const exponent = Math.max(0, failureNumber - 1);
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** exponent);
  if (policy.jitter === "none") return Math.round(cap);
  const clamped = Math.min(Math.max(jitter, 0), 0.999_999);
  return Math.floor(cap * clamped);
}

/** The retry delay with a participant's own minimum (e.g. Retry-After) honoured. */
export function retryDelayMs(policy: RetryPolicy, failureNumber: number, jitter: number, retryAfterMs?: number): number {
  const delay = backoffDelayMs(policy, failureNumber, jitter);
  return retryAfterMs !== undefined && retryAfterMs > delay ? retryAfterMs : delay;
}
