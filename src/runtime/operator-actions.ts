import type { SagaState } from "../domain/state.js";
import { isTerminal } from "../domain/status.js";
import { CancelNotAllowedError, InvalidArgumentError, RepairNotAllowedError, RetryNotAllowedError, SagaNotFoundError } from "../errors.js";
import type { InboxPayload, SagaStore } from "../store/saga-store.js";

/**
 * What an operator does to a saga, checked against its state and delivered to its inbox, where a
 * worker applies it. Each needs only the store, so the orchestrator, the HTTP API and the CLI
 * (which runs no worker) act the same way; whoever holds or next claims the saga applies it.
 */

export interface OperatorOptions {
  /** Why, for the history. */
  reason?: string;
  /** Who asked, for the history. Default "api". */
  by?: string;
}

/** Asks a running saga to roll back (see `Orchestrator.cancel`). */
export async function requestCancel(store: SagaStore, nowMs: number, sagaId: string, options: OperatorOptions = {}): Promise<void> {
  const state = await current(store, sagaId);
  if (isTerminal(state.status)) throw new CancelNotAllowedError(sagaId, `it already ended ${state.status}`);
  if (state.pivotPassed) throw new CancelNotAllowedError(sagaId, "it passed its pivot step and can only roll forward");
  if (state.status === "compensating" || state.cancel !== undefined) return;
  await deliver(store, nowMs, sagaId, { type: "cancel_requested", reason: options.reason ?? "cancelled", by: options.by ?? "api" }, (status) => {
    throw new CancelNotAllowedError(sagaId, `it already ended ${status}`);
  });
}

/** Stops a saga without compensating (see `Orchestrator.abort`). */
export async function requestAbort(store: SagaStore, nowMs: number, sagaId: string, options: OperatorOptions & { reason: string }): Promise<void> {
  const reason = requireReason(options.reason);
  const state = await current(store, sagaId);
  if (isTerminal(state.status)) throw new RepairNotAllowedError(sagaId, "abort", `it already ended ${state.status}`);
  if (state.abort !== undefined) throw new RepairNotAllowedError(sagaId, "abort", `${state.abort.by} already aborted it: ${state.abort.reason}`);
  await deliver(store, nowMs, sagaId, { type: "abort_requested", reason, by: options.by ?? "api" }, (status) => {
    throw new RepairNotAllowedError(sagaId, "abort", `it already ended ${status}`);
  });
}

/** Reopens a failed saga on what it left outstanding (see `Orchestrator.retry`). */
export async function requestRetry(store: SagaStore, nowMs: number, sagaId: string, options: OperatorOptions = {}): Promise<void> {
  const state = await current(store, sagaId);
  if (state.status !== "failed") throw new RetryNotAllowedError(sagaId, `it is ${state.status}; only a failed saga is retried`);
  if ((state.outstanding ?? []).length === 0) throw new RetryNotAllowedError(sagaId, "nothing is outstanding");
  await deliver(store, nowMs, sagaId, { type: "retry_requested", reason: options.reason ?? "retried", by: options.by ?? "api" }, (status) => {
    throw new RetryNotAllowedError(sagaId, `it is ${status}`);
  });
}

/** Skips an outstanding compensation of a failed saga (see `Orchestrator.skipCompensation`). */
export async function requestSkip(store: SagaStore, nowMs: number, sagaId: string, step: string, options: OperatorOptions & { reason: string }): Promise<void> {
  const reason = requireReason(options.reason);
  const state = await current(store, sagaId);
  const what = `skip the compensation of ${JSON.stringify(step)} in`;
  if (state.status !== "failed") {
    throw new RepairNotAllowedError(sagaId, what, `it is ${state.status}; only a failed saga's outstanding compensations can be skipped`);
  }
  const outstanding = state.outstanding ?? [];
  if (!outstanding.some((o) => o.step === step && o.phase === "compensation")) {
    const listed = outstanding.map((o) => `${o.step} (${o.phase})`).join(", ") || "nothing";
    const action = outstanding.some((o) => o.step === step && o.phase === "action") ? "; an outstanding action is retried, not skipped" : "";
    throw new RepairNotAllowedError(sagaId, what, `that compensation is not outstanding (outstanding: ${listed})${action}`);
  }
  await deliver(store, nowMs, sagaId, { type: "skip_requested", step, reason, by: options.by ?? "api" }, (status) => {
    throw new RepairNotAllowedError(sagaId, what, `it is ${status}`);
  });
}

/** Marks a failed saga resolved (see `Orchestrator.resolve`). */
export async function requestResolve(store: SagaStore, nowMs: number, sagaId: string, options: OperatorOptions & { reason: string }): Promise<void> {
  const reason = requireReason(options.reason);
  const state = await current(store, sagaId);
  if (state.status !== "failed") throw new RepairNotAllowedError(sagaId, "resolve", `it is ${state.status}; only a failed saga is marked resolved`);
  if (state.resolution !== undefined) throw new RepairNotAllowedError(sagaId, "resolve", `${state.resolution.by} already marked it resolved: ${state.resolution.reason}`);
  await deliver(store, nowMs, sagaId, { type: "resolve_requested", reason, by: options.by ?? "api" }, (status) => {
    throw new RepairNotAllowedError(sagaId, "resolve", `it is ${status}`);
  });
}

async function current(store: SagaStore, sagaId: string): Promise<SagaState> {
  const record = await store.getInstance(sagaId);
  if (record === null) throw new SagaNotFoundError(sagaId);
  return record.state;
}

/** A skip, resolve, abort or migration changes what an operator answers for: it needs a reason. */
export function requireReason(reason: unknown): string {
  if (typeof reason !== "string" || reason.trim() === "") throw new InvalidArgumentError("reason", "is required: say why, for the history (e.g. \"refunded by hand, ticket OPS-42\")");
  return reason;
}

async function deliver(store: SagaStore, nowMs: number, sagaId: string, message: InboxPayload, refused: (status: string) => never): Promise<void> {
  const outcome = await store.deliver(sagaId, message, nowMs);
  if (outcome.accepted) return;
  if (outcome.reason === "not_found") throw new SagaNotFoundError(sagaId);
  refused(outcome.status);
}
