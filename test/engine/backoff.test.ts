import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RetryPolicy } from "../../src/domain/retry-policy.js";
import { backoffDelayMs, retryDelayMs } from "../../src/engine/backoff.js";

function policy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return { maxAttempts: 10, initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: "none", terminalErrors: [], ...overrides };
}

describe("backoffDelayMs", () => {
  it.each([
    { failure: 1, delay: 100 },
    { failure: 2, delay: 200 },
    { failure: 3, delay: 400 },
    { failure: 4, delay: 800 },
    { failure: 5, delay: 1_000 },
    { failure: 30, delay: 1_000 },
    { failure: 1_000, delay: 1_000 },
  ])("grows exponentially and is capped at maxDelayMs: failure $failure → $delay ms", ({ failure, delay }) => {
    expect(backoffDelayMs(policy(), failure, 0.5)).toBe(delay);
  });

  it.each([
    { multiplier: 1, failure: 7, delay: 100 },
    { multiplier: 3, failure: 3, delay: 900 },
    { multiplier: 1.5, failure: 3, delay: 225 },
  ])("uses the multiplier: ×$multiplier after failure $failure → $delay ms", ({ multiplier, failure, delay }) => {
    expect(backoffDelayMs(policy({ multiplier }), failure, 0)).toBe(delay);
  });

  it("treats a failure number below 1 like the first", () => {
    expect(backoffDelayMs(policy(), 0, 0)).toBe(100);
  });

  it.each([0, 0.3, 0.999_999_9, 1])('jitter "none" gives the cap whatever the jitter (%s)', (jitter) => {
    expect(backoffDelayMs(policy(), 3, jitter)).toBe(400);
  });

  it.each([
    { jitter: 0, delay: 0 },
    { jitter: 0.25, delay: 100 },
    { jitter: 0.5, delay: 200 },
    { jitter: 0.999, delay: 399 },
  ])("full jitter scales the cap: jitter $jitter → $delay ms", ({ jitter, delay }) => {
    expect(backoffDelayMs(policy({ jitter: "full" }), 3, jitter)).toBe(delay);
  });

  it("full jitter stays in [0, cap) for any jitter, even out-of-range ones", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.integer({ min: 1, max: 60 }),
        fc.oneof(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(-1, 1, 2, 1e9)),
        (initialDelayMs, extra, multiplier, failure, jitter) => {
          const p = policy({ jitter: "full", initialDelayMs, maxDelayMs: initialDelayMs + extra, multiplier });
          const cap = Math.min(p.maxDelayMs, initialDelayMs * multiplier ** (failure - 1));
          const delay = backoffDelayMs(p, failure, jitter);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(cap);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("is monotone in the failure number without jitter, and never above maxDelayMs", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 50_000 }), fc.double({ min: 1, max: 5, noNaN: true }), (initial, extra, multiplier) => {
        const p = policy({ initialDelayMs: initial, maxDelayMs: initial + extra, multiplier });
        let previous = -1;
        for (let failure = 1; failure <= 40; failure++) {
          const delay = backoffDelayMs(p, failure, 0.5);
          expect(delay).toBeGreaterThanOrEqual(previous);
          expect(delay).toBeLessThanOrEqual(p.maxDelayMs);
          previous = delay;
        }
        if (multiplier >= 2 && initial > 0) expect(previous).toBe(Math.round(p.maxDelayMs));
      }),
      { numRuns: 200 },
    );
  });
});

describe("retryDelayMs", () => {
  it.each([
    { retryAfterMs: undefined, delay: 400 },
    { retryAfterMs: 0, delay: 400 },
    { retryAfterMs: 399, delay: 400 },
    { retryAfterMs: 401, delay: 401 },
    { retryAfterMs: 60_000, delay: 60_000 },
  ])("honours a Retry-After larger than the backoff: $retryAfterMs → $delay", ({ retryAfterMs, delay }) => {
    expect(retryDelayMs(policy(), 3, 0.5, retryAfterMs)).toBe(delay);
  });
});
