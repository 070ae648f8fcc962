import type { RetryPolicy } from "../domain/retry-policy.js";

/** Actions: three attempts, 100 ms doubling to at most 10 s, full jitter. */
export const DEFAULT_ACTION_RETRY: RetryPolicy = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: 100,
  multiplier: 2,
  maxDelayMs: 10_000,
  jitter: "full",
  terminalErrors: Object.freeze([]),
});

/**
 * Compensations must not give up lightly (a saga that cannot compensate needs an operator):
 * ten attempts, 200 ms doubling to at most 30 s, full jitter.
 */
export const DEFAULT_COMPENSATION_RETRY: RetryPolicy = Object.freeze({
  maxAttempts: 10,
  initialDelayMs: 200,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: "full",
  terminalErrors: Object.freeze([]),
});

/** How often an instance may be recovered with an attempt in doubt before it is parked. */
export const DEFAULT_MAX_RECOVERIES = 10;
