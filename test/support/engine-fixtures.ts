import { expect } from "vitest";
import type { SagaCommand } from "../../src/domain/commands.js";
import type { ErrorInfo } from "../../src/domain/error-info.js";
import type { HistoryEntry } from "../../src/domain/history.js";
import type { PhaseFailedEvent, SagaEvent } from "../../src/domain/events.js";
import type { JsonValue } from "../../src/domain/json.js";
import type { SagaPlan, StepPlan } from "../../src/domain/plan.js";
import type { RetryPolicy } from "../../src/domain/retry-policy.js";
import type { SagaState } from "../../src/domain/state.js";
import type { Phase } from "../../src/domain/status.js";
import { decide, type Decision } from "../../src/engine/decide.js";
import { createInitialState } from "../../src/engine/initial-state.js";

/** A deterministic policy (no jitter) so tests can name exact wake-up times. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return { maxAttempts: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: "none", terminalErrors: ["Fatal"], ...overrides };
}

export function stepPlan(name: string, overrides: Partial<StepPlan> = {}): StepPlan {
  return {
    name,
    pivot: false,
    hasCompensation: true,
    compensateOnFailure: false,
    retry: retryPolicy(),
    timeoutMs: 0,
    compensationRetry: retryPolicy(),
    compensationTimeoutMs: 0,
    ...overrides,
  };
}

export function sagaPlan(steps: StepPlan[], maxRecoveries = 2): SagaPlan {
  return { name: "order", version: 1, steps, maxRecoveries };
}

/** Freezes a value and everything reachable from it, so a mutation throws in strict mode. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** `JSON.parse(JSON.stringify(value))`: what every store gives back. */
export function jsonRoundTrip<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function succeeded(step: string, attempt: number, output: JsonValue = { step, attempt }): SagaEvent {
  return { type: "action_succeeded", step, attempt, output };
}

export function compensated(step: string, attempt: number): SagaEvent {
  return { type: "compensation_succeeded", step, attempt };
}

export interface FailureOptions {
  retryable?: boolean;
  timedOut?: boolean;
  name?: string;
  retryAfterMs?: number;
  jitter?: number;
}

function failure(type: PhaseFailedEvent["type"], step: string, attempt: number, o: FailureOptions): SagaEvent {
  const error: ErrorInfo = { name: o.name ?? (o.timedOut === true ? "StepTimeoutError" : "Error"), message: `${step} attempt ${attempt} failed` };
  return {
    type,
    step,
    attempt,
    error,
    retryable: o.retryable ?? true,
    timedOut: o.timedOut ?? false,
    jitter: o.jitter ?? 0.5,
    ...(o.retryAfterMs !== undefined ? { retryAfterMs: o.retryAfterMs } : {}),
  };
}

export function failed(step: string, attempt: number, o: FailureOptions = {}): SagaEvent {
  return failure("action_failed", step, attempt, o);
}

export function compensationFailed(step: string, attempt: number, o: FailureOptions = {}): SagaEvent {
  return failure("compensation_failed", step, attempt, o);
}

export const claimed: SagaEvent = { type: "claimed" };
export const timerFired: SagaEvent = { type: "timer_fired" };
export function cancel(reason = "customer asked", by = "alice"): SagaEvent {
  return { type: "cancel_requested", reason, by };
}

/** `a#1` for an action attempt, `a~1` for a compensation attempt. */
export function describeCommand(command: SagaCommand): string {
  return `${command.step}${command.phase === "action" ? "#" : "~"}${command.attempt}`;
}

/**
 * Feeds events to `decide` one at a time, the way a worker would, and checks on every call
 * that the (deep-frozen) input state was not mutated and the next state survives JSON.
 */
export class EngineRun {
  readonly plan: SagaPlan;
  state: SagaState;
  nowMs = 0;
  /** Every command issued so far, described (see describeCommand). */
  readonly log: string[] = [];
  readonly commands: SagaCommand[] = [];
  readonly history: HistoryEntry[] = [];
  last!: Decision;

  constructor(plan: SagaPlan, id = "s1", input: JsonValue = { orderId: "o-1" }) {
    this.plan = plan;
    this.state = createInitialState(plan, { id, input, idempotencyKey: null, nowMs: 0 }).state;
  }

  /** The first wake-up of a new instance. */
  start(): Decision {
    return this.feed(timerFired);
  }

  feed(event: SagaEvent, atMs: number = this.nowMs): Decision {
    expect(atMs).toBeGreaterThanOrEqual(this.nowMs);
    this.nowMs = atMs;
    const input = deepFreeze(this.state);
    const copy = structuredClone(input);
    const decision = decide(this.plan, input, event, atMs);
    expect(input).toStrictEqual(copy);
    expect(jsonRoundTrip(decision.state)).toStrictEqual(decision.state);
    if (decision.ignored !== undefined) {
      expect(decision.state).toBe(input);
      expect(decision.commands).toEqual([]);
      expect(decision.history).toEqual([]);
    }
    this.state = decision.state;
    this.last = decision;
    this.commands.push(...decision.commands);
    this.history.push(...decision.history);
    this.log.push(...decision.commands.map(describeCommand));
    return decision;
  }

  /** Feeds events in order at the current time; returns the last decision. */
  feedAll(events: readonly SagaEvent[]): Decision {
    for (const event of events) this.feed(event);
    return this.last;
  }

  phase(step: string, phase: Phase) {
    const s = this.state.steps.find((x) => x.name === step);
    if (s === undefined) throw new Error(`no step ${step}`);
    return phase === "action" ? s.action : s.compensation;
  }
}
