// The library's front door. Store adapters live behind their own subpaths
// (`sagaflow/store/sqlite`, `sagaflow/store/memory`) so importing this pulls in no database driver.
export { defineSaga, SagaBuilder, DEFAULT_ACTION_RETRY, DEFAULT_COMPENSATION_RETRY, DEFAULT_MAX_RECOVERIES } from "./dsl/index.js";
export type { SagaDefinition, SagaOptions, StepOptions, WaitStepOptions, StepContext, CompensationContext, RetryOptions } from "./dsl/index.js";
export { Orchestrator, newSagaId, systemClock, silentLogger, toErrorInfo } from "./runtime/index.js";
export type { OrchestratorOptions, StartOptions, StartResult, CancelOptions, AnswerOptions, SignalOptions, InputOf, TransitionNotice, AttemptInfo, AttemptWrapper, Clock, Logger } from "./runtime/index.js";
export { SagaStatus, PhaseStatus, Phase, isTerminal, StopReason } from "./domain/index.js";
export type { SagaState, StepState, PhaseState, Outstanding, HistoryEntry, StoredHistoryEntry, ErrorInfo, JsonValue, RetryPolicy } from "./domain/index.js";
export type { SagaStore, ListQuery, ListPage } from "./store/index.js";
export {
  ErrorCode,
  SagaflowError,
  InvalidDefinitionError,
  InvalidArgumentError,
  SagaNotFoundError,
  UnknownDefinitionError,
  CancelNotAllowedError,
  StepNotFoundError,
  DefinitionConflictError,
  RetryNotAllowedError,
  SagaEndedError,
  RepairNotAllowedError,
  StepNotWaitingError,
  IdempotencyKeyConflictError,
  StoreUnavailableError,
  SchemaTooNewError,
  LeaseLostError,
  StepTimeoutError,
  TerminalError,
  RetryableError,
  NotSerializableError,
  OrchestratorClosedError,
} from "./errors.js";
