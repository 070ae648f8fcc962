export type { JsonValue } from "./json.js";
export { SagaStatus, PhaseStatus, Phase, SAGA_STATUSES, TERMINAL_STATUSES, isTerminal, isSagaStatus } from "./status.js";
export type { ErrorInfo } from "./error-info.js";
export type { RetryPolicy } from "./retry-policy.js";
export type { SagaPlan, StepPlan } from "./plan.js";
export { StopReason } from "./state.js";
export type { SagaState, StepState, PhaseState, Outstanding, ReceivedSignal } from "./state.js";
export type {
  SagaEvent,
  ClaimedEvent,
  TimerFiredEvent,
  PhaseSucceededEvent,
  PhaseFailedEvent,
  CancelRequestedEvent,
  StepCompletedEvent,
  StepFailedEvent,
  RetryRequestedEvent,
  SignalReceivedEvent,
  SkipRequestedEvent,
  ResolveRequestedEvent,
  AbortRequestedEvent,
} from "./events.js";
export type { SagaCommand, RunPhaseCommand } from "./commands.js";
export { idempotencyKeyFor } from "./commands.js";
export type { HistoryEntry, HistoryEntryType, StoredHistoryEntry, RejectedEntry } from "./history.js";
