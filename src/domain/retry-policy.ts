/**
 * How often and how patiently a phase is retried.
 * The delay before retry n (n ≥ 1) is `min(maxDelayMs, initialDelayMs × multiplier^(n-1))`,
 * scaled by a random factor in [0, 1) when `jitter` is `"full"`.
 */
export interface RetryPolicy {
  /** Attempts in total, including the first. 1 means no retry. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  readonly jitter: "full" | "none";
  /** Error names (`err.name`) that fail the phase at once, without retry. */
  readonly terminalErrors: readonly string[];
}
