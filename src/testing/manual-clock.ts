import type { Clock } from "../runtime/clock.js";

/** A clock that only moves when told to, for tests of timeouts, backoff and deadlines. */
export class ManualClock implements Clock {
  #nowMs: number;

  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  now(): number {
    return this.#nowMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance() needs a finite number ≥ 0, got ${ms}`);
    this.#nowMs += ms;
  }

  set(ms: number): void {
    if (ms < this.#nowMs) throw new RangeError(`the clock cannot go back from ${this.#nowMs} to ${ms}`);
    this.#nowMs = ms;
  }
}
