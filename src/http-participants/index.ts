// Saga steps whose action and compensation are HTTP calls described by plain JSON data.
export { httpAction, httpCompensation } from "./http-step.js";
export type { HttpStepOptions } from "./http-step.js";
export { parseHttpCallSpec, HTTP_METHODS, DEFAULT_HTTP_TIMEOUT_MS, MAX_HTTP_TIMEOUT_MS } from "./http-call-spec.js";
export type { HttpCallSpec, HttpMethod } from "./http-call-spec.js";
export { HttpCallError, HttpErrorCode, httpErrorCodeOf } from "./http-call-error.js";
export type { HttpCallErrorOptions } from "./http-call-error.js";
export { MAX_RESPONSE_BYTES, MAX_RETRY_AFTER_MS } from "./response-body.js";
export type { HttpPhase } from "./template.js";
