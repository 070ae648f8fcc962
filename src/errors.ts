/**
 * Every error Sagaflow raises on purpose is a SagaflowError with a stable `code`.
 * Codes are documented in docs/errors.md; a test keeps the two in step.
 */
export const ErrorCode = {
  InvalidDefinition: "INVALID_DEFINITION",
  InvalidArgument: "INVALID_ARGUMENT",
  SagaNotFound: "SAGA_NOT_FOUND",
  UnknownDefinition: "UNKNOWN_DEFINITION",
  CancelNotAllowed: "CANCEL_NOT_ALLOWED",
  IdempotencyKeyConflict: "IDEMPOTENCY_KEY_CONFLICT",
  StoreUnavailable: "STORE_UNAVAILABLE",
  SchemaTooNew: "SCHEMA_TOO_NEW",
  LeaseLost: "LEASE_LOST",
  StepTimeout: "STEP_TIMEOUT",
  Terminal: "TERMINAL",
  Retryable: "RETRYABLE",
  NotSerializable: "NOT_SERIALIZABLE",
  OrchestratorClosed: "ORCHESTRATOR_CLOSED",
  StepNotFound: "STEP_NOT_FOUND",
  StepNotWaiting: "STEP_NOT_WAITING",
  DefinitionConflict: "DEFINITION_CONFLICT",
  RetryNotAllowed: "RETRY_NOT_ALLOWED",
  SagaEnded: "SAGA_ENDED",
  RepairNotAllowed: "REPAIR_NOT_ALLOWED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SagaflowError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A saga definition is malformed. `field` is a path such as `steps[1].retry.maxAttempts`. */
export class InvalidDefinitionError extends SagaflowError {
  readonly field: string;
  constructor(definition: string, field: string, expected: string) {
    super(ErrorCode.InvalidDefinition, `saga definition ${JSON.stringify(definition)}: ${field} ${expected}`);
    this.field = field;
  }
}

/** An argument to a library call, CLI flag or store call is wrong. Nothing was changed. */
export class InvalidArgumentError extends SagaflowError {
  readonly field: string;
  constructor(field: string, expected: string) {
    super(ErrorCode.InvalidArgument, `${field} ${expected}`);
    this.field = field;
  }
}

export class SagaNotFoundError extends SagaflowError {
  readonly sagaId: string;
  constructor(sagaId: string) {
    super(ErrorCode.SagaNotFound, `no saga with id ${JSON.stringify(sagaId)}; list existing ones with \`sagaflow list\``);
    this.sagaId = sagaId;
  }
}

export class UnknownDefinitionError extends SagaflowError {
  constructor(name: string, version?: number) {
    const which = version === undefined ? name : `${name}@${version}`;
    super(ErrorCode.UnknownDefinition, `no saga definition ${JSON.stringify(which)} is registered with this orchestrator; pass it in \`definitions\``);
  }
}

export class CancelNotAllowedError extends SagaflowError {
  readonly sagaId: string;
  constructor(sagaId: string, reason: string) {
    super(ErrorCode.CancelNotAllowed, `saga ${sagaId} cannot be cancelled: ${reason}`);
    this.sagaId = sagaId;
  }
}

/** The idempotency key was used before, for a saga of another definition. */
export class IdempotencyKeyConflictError extends SagaflowError {
  constructor(key: string, existingId: string, existingDefinition: string, requested: string) {
    super(
      ErrorCode.IdempotencyKeyConflict,
      `idempotency key ${JSON.stringify(key)} already started saga ${existingId} of definition ${existingDefinition}, not ${requested}; use a different key`,
    );
  }
}

/** The store could not be opened or answered with something it should not hold. */
export class StoreUnavailableError extends SagaflowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.StoreUnavailable, message, options);
  }
}

export class SchemaTooNewError extends SagaflowError {
  constructor(found: number, known: number) {
    super(
      ErrorCode.SchemaTooNew,
      `the database schema is at version ${found} but this Sagaflow knows only up to ${known}; upgrade Sagaflow before using this database`,
    );
  }
}

/** This worker's lease on the saga expired or was taken over; its write was refused (G5). */
export class LeaseLostError extends SagaflowError {
  constructor(sagaId: string, epoch: number) {
    super(ErrorCode.LeaseLost, `lease on saga ${sagaId} at epoch ${epoch} was lost; another worker owns it now`);
  }
}

/** A definition was registered under a `name@version` that already holds a different one. */
export class DefinitionConflictError extends SagaflowError {
  readonly definition: string;
  constructor(name: string, version: number, detail: string) {
    super(ErrorCode.DefinitionConflict, `saga definition ${name}@${version} ${detail}; a changed definition needs a new version`);
    this.definition = `${name}@${version}`;
  }
}

/** A retry was asked of a saga that has nothing to retry: it is not `failed`, or nothing is outstanding. */
export class RetryNotAllowedError extends SagaflowError {
  readonly sagaId: string;
  constructor(sagaId: string, reason: string) {
    super(ErrorCode.RetryNotAllowed, `saga ${sagaId} cannot be retried: ${reason}`);
    this.sagaId = sagaId;
  }
}

/** An operator's repair (skip a compensation, mark resolved) asked of a saga where it makes no sense. */
export class RepairNotAllowedError extends SagaflowError {
  readonly sagaId: string;
  constructor(sagaId: string, what: string, reason: string) {
    super(ErrorCode.RepairNotAllowed, `cannot ${what} saga ${sagaId}: ${reason}`);
    this.sagaId = sagaId;
  }
}

/** Something meant for a saga that is still going (an event) reached one that already ended. */
export class SagaEndedError extends SagaflowError {
  readonly sagaId: string;
  readonly status: string;
  constructor(sagaId: string, status: string, what: string) {
    super(ErrorCode.SagaEnded, `saga ${sagaId} already ended ${status}; ${what} was not delivered`);
    this.sagaId = sagaId;
    this.status = status;
  }
}

/** The saga's definition has no step of that name. */
export class StepNotFoundError extends SagaflowError {
  readonly sagaId: string;
  readonly step: string;
  constructor(sagaId: string, step: string, known: readonly string[]) {
    super(ErrorCode.StepNotFound, `saga ${sagaId} has no step ${JSON.stringify(step)}; its steps are ${known.map((s) => JSON.stringify(s)).join(", ")}`);
    this.sagaId = sagaId;
    this.step = step;
  }
}

/** An answer was sent to a step that is not waiting for one (not a waiting step, or not now). */
export class StepNotWaitingError extends SagaflowError {
  readonly sagaId: string;
  readonly step: string;
  constructor(sagaId: string, step: string, reason: string) {
    super(ErrorCode.StepNotWaiting, `step ${step} of saga ${sagaId} is not waiting for an answer: ${reason}`);
    this.sagaId = sagaId;
    this.step = step;
  }
}

/** An attempt ran past its step's `timeoutMs`. Retried under the step's policy. */
export class StepTimeoutError extends SagaflowError {
  constructor(step: string, attempt: number, timeoutMs: number) {
    super(ErrorCode.StepTimeout, `step ${step} attempt ${attempt} did not finish within ${timeoutMs} ms`);
  }
}

/**
 * Throw from an action to fail the step for good, without retry: the saga compensates now.
 * Throw from a compensation to give up on it: the saga ends `failed` for an operator.
 */
export class TerminalError extends SagaflowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Terminal, message, options);
  }
}

/**
 * Throw to ask for a retry no sooner than `retryAfterMs`; the attempt still counts against the
 * step's `maxAttempts`. Set `outcomeUnknown` when the call may have taken effect although it
 * failed (a timeout, a connection lost after the request went out): if the retries run out, the
 * step is then compensated like one that timed out, rather than assumed to have done nothing.
 */
export class RetryableError extends SagaflowError {
  readonly retryAfterMs: number | undefined;
  readonly outcomeUnknown: boolean;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number; outcomeUnknown?: boolean }) {
    super(ErrorCode.Retryable, message, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}

/** An input or output that cannot be persisted as JSON. */
export class NotSerializableError extends SagaflowError {
  constructor(what: string, detail: string) {
    super(ErrorCode.NotSerializable, `${what} must be JSON-serializable: ${detail}`);
  }
}

export class OrchestratorClosedError extends SagaflowError {
  constructor() {
    super(ErrorCode.OrchestratorClosed, "the orchestrator was closed; create a new one to go on");
  }
}
