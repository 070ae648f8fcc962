/**
 * Why an HTTP call failed, as a stable string. Besides these, `HTTP_<status>` (e.g. `HTTP_409`)
 * names a response status that is neither success nor listed in `okStatuses`.
 */
export const HttpErrorCode = {
  /** A `{{ … }}` reference resolved to nothing, or to a value its place cannot take. Terminal. */
  Template: "HTTP_TEMPLATE",
  /** The request failed before a response arrived (refused, reset, DNS). Retryable. */
  Network: "HTTP_NETWORK",
  /** No complete response within the spec's `timeoutMs`. Retryable. */
  Timeout: "HTTP_TIMEOUT",
  /** A success status with a body that is not JSON. Terminal. */
  BadResponse: "HTTP_BAD_RESPONSE",
  /** A success body over the 1 MiB limit. Terminal. */
  ResponseTooLarge: "HTTP_RESPONSE_TOO_LARGE",
  /** The `headers` hook returned a header fetch refuses. Terminal. */
  InvalidHeader: "HTTP_INVALID_HEADER",
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode] | `HTTP_${number}`;

export interface HttpCallErrorOptions {
  code: HttpErrorCode;
  retryable: boolean;
  status?: number;
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * What went wrong with one HTTP call, carried as the `cause` of the TerminalError or
 * RetryableError the step throws. It is not a SagaflowError: its codes belong to the participant,
 * and the history keeps them as the cause's `code` (see `httpErrorCodeOf`).
 */
export class HttpCallError extends Error {
  readonly code: HttpErrorCode;
  readonly retryable: boolean;
  /** The response status, when there was a response. */
  readonly status: number | undefined;
  /** From a 429 or 503 `Retry-After`, capped at an hour. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: HttpCallErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HttpCallError";
    this.code = options.code;
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

const MAX_CAUSE_DEPTH = 8;

/**
 * The HTTP error code in a thrown error's cause chain, or in a stored `ErrorInfo` (whose shape is
 * the same: `code` and `cause`); undefined when the failure did not come from an HTTP call.
 *
 * @example
 * const code = httpErrorCodeOf(state.steps[1]?.action.lastError); // "HTTP_409"
 */
export function httpErrorCodeOf(error: unknown): HttpErrorCode | undefined {
  let current = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && typeof current === "object" && current !== null; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === "string" && code.startsWith("HTTP_")) return code as HttpErrorCode;
    current = cause;
  }
  return undefined;
}
