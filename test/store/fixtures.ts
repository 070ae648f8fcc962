import { expect } from "vitest";
import type { HistoryEntry } from "../../src/domain/history.js";
import { InvalidArgumentError } from "../../src/errors.js";
import type { SagaPlan, StepPlan } from "../../src/domain/plan.js";
import type { RetryPolicy } from "../../src/domain/retry-policy.js";
import type { SagaState } from "../../src/domain/state.js";
import type { SagaStatus } from "../../src/domain/status.js";
import { createInitialState } from "../../src/engine/initial-state.js";
import { definitionKey, type ClaimedInstance, type SagaStore, type TransitionCommit } from "../../src/store/saga-store.js";

/** A fixed "now"; every time in the suite is an offset from it, so nothing depends on the clock. */
export const T0 = 1_700_000_000_000;
export const LEASE_MS = 30_000;

const retry: RetryPolicy = { maxAttempts: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: "none", terminalErrors: [] };

function step(name: string, overrides: Partial<StepPlan> = {}): StepPlan {
  return {
    name,
    pivot: false,
    hasCompensation: true,
    compensateOnFailure: false,
    retry,
    timeoutMs: 0,
    compensationRetry: retry,
    compensationTimeoutMs: 0,
    ...overrides,
  };
}

export const orderPlan: SagaPlan = {
  name: "order",
  version: 1,
  maxRecoveries: 3,
  steps: [step("reserve-payment"), step("reserve-inventory"), step("ship-order", { hasCompensation: false, pivot: true })],
};
export const refundPlan: SagaPlan = { name: "refund", version: 2, maxRecoveries: 3, steps: [step("refund")] };

export const ORDER = definitionKey(orderPlan.name, orderPlan.version);
export const REFUND = definitionKey(refundPlan.name, refundPlan.version);

export interface NewSagaOptions {
  nowMs?: number;
  key?: string | null;
  plan?: SagaPlan;
  /** Overrides the initial wake-up (which is `nowMs`). */
  wakeAtMs?: number | null;
  status?: SagaStatus;
}

/** A fresh instance as the engine would start it, with a JSON input that exercises escaping. */
export function newSaga(id: string, options: NewSagaOptions = {}): { state: SagaState; history: HistoryEntry[] } {
  const nowMs = options.nowMs ?? T0;
  const input = { orderId: id, amount: 12.5, items: [{ sku: "tea-☕-ü", qty: 2 }], note: null, gift: false, quote: 'say "hi"' };
  const created = createInitialState(options.plan ?? orderPlan, { id, input, idempotencyKey: options.key ?? null, nowMs });
  if (options.wakeAtMs !== undefined) created.state.wakeAtMs = options.wakeAtMs;
  if (options.status !== undefined) created.state.status = options.status;
  return created;
}

/** Creates an instance and returns its state. */
export async function create(store: SagaStore, id: string, options: NewSagaOptions = {}): Promise<SagaState> {
  const result = await store.createInstance(newSaga(id, options));
  expect(result.created).toBe(true);
  return result.record.state;
}

/** Claims exactly the instances named, in that order, and returns them. */
export async function claim(store: SagaStore, workerId: string, nowMs: number, expectedIds: string[], limit = 10): Promise<ClaimedInstance[]> {
  const claimed = await store.claimDue({ workerId, nowMs, leaseMs: LEASE_MS, limit, definitions: [ORDER, REFUND] });
  expect(claimed.map((c) => c.record.state.id)).toEqual(expectedIds);
  return claimed;
}

/** The first step's action succeeded: the state and history a worker would commit. */
export function stepSucceeded(state: SagaState, atMs: number): { state: SagaState; history: HistoryEntry[] } {
  const next = structuredClone(state);
  const first = next.steps[0];
  if (first === undefined) throw new Error("the fixture plan has steps");
  first.action = { status: "succeeded", attempt: 1, failures: 0, startedAtMs: atMs, settledAtMs: atMs };
  first.output = { paymentId: `pay-${state.id}` };
  next.settledOrder = [0];
  next.updatedAtMs = atMs;
  next.wakeAtMs = atMs;
  return {
    state: next,
    history: [
      { type: "attempt_started", atMs, step: first.name, phase: "action", attempt: 1 },
      { type: "attempt_succeeded", atMs, step: first.name, phase: "action", attempt: 1, output: { paymentId: `pay-${state.id}` } },
    ],
  };
}

/** The saga finished: terminal state and its closing history entry. */
export function sagaCompleted(state: SagaState, atMs: number): { state: SagaState; history: HistoryEntry[] } {
  const next = structuredClone(state);
  next.status = "completed";
  next.wakeAtMs = null;
  next.updatedAtMs = atMs;
  next.endedAtMs = atMs;
  return { state: next, history: [{ type: "saga_ended", atMs, status: "completed" }] };
}

/** A commit for a claimed instance; by default keeps the lease and applies the inbox it was given. */
export function commitOf(
  claimed: ClaimedInstance,
  change: { state: SagaState; history: HistoryEntry[] },
  options: { workerId?: string; nowMs?: number; inboxSeq?: number; lease?: TransitionCommit["lease"] } = {},
): TransitionCommit {
  const nowMs = options.nowMs ?? T0;
  return {
    sagaId: claimed.record.state.id,
    epoch: claimed.record.epoch,
    workerId: options.workerId ?? claimed.record.leaseOwner ?? "nobody",
    nowMs,
    state: change.state,
    history: change.history,
    inboxSeq: options.inboxSeq ?? claimed.inbox.at(-1)?.seq ?? claimed.record.inboxSeq,
    lease: options.lease ?? { expiresAtMs: nowMs + LEASE_MS },
  };
}

export const cancel = (reason = "customer asked") => ({ type: "cancel_requested" as const, reason, by: "test" });

/** Awaits a promise that must reject with `InvalidArgumentError` naming `field`. */
export async function expectInvalidArgument(promise: Promise<unknown>, field: string): Promise<void> {
  const error: unknown = await promise.then(
    () => new Error(`expected InvalidArgumentError for ${field}, but the call succeeded`),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect(error).toMatchObject({ field, code: "INVALID_ARGUMENT" });
}
