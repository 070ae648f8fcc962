export { defineSaga, SagaBuilder, ParallelGroup } from "./define-saga.js";
export type {
  SagaDefinition,
  SagaOptions,
  StepOptions,
  WaitStepOptions,
  StepContext,
  CompensationContext,
  RetryOptions,
  StepRuntime,
} from "./define-saga.js";
export { DEFAULT_ACTION_RETRY, DEFAULT_COMPENSATION_RETRY, DEFAULT_MAX_RECOVERIES } from "./retry-defaults.js";
