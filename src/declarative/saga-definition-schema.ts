import { HTTP_METHODS, MAX_HTTP_TIMEOUT_MS } from "../http-participants/index.js";

/** Steps a document may hold; more is a sign of a generated document gone wrong. */
export const MAX_STEPS = 200;

/** setTimeout's limit: a longer per-attempt timeout would fire at once. */
const MAX_ATTEMPT_TIMEOUT_MS = 2_147_483_647;

/** Ten years: a wait longer than that is a mistake in units. */
const MAX_WAIT_TIMEOUT_MS = 315_360_000_000;

/**
 * The JSON Schema (draft 2020-12) of a declarative saga definition, published at its `$id` and
 * embedded in docs/declarative-sagas.md (a test keeps the two identical). Rules a schema cannot
 * say well (unique step names, exactly one of `action` and `wait`, templates, variables) are
 * checked besides it by parseDefinitionDocument; the `oneOf`, `dependentSchemas` and `if` here
 * state the same rules for editors.
 */
export const SAGA_DEFINITION_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://sagaflow.dev/schemas/saga-definition.json",
  title: "Sagaflow saga definition",
  description: "A saga whose steps are HTTP calls or waiting steps; see docs/declarative-sagas.md.",
  type: "object",
  required: ["name", "version", "steps"],
  additionalProperties: false,
  properties: {
    $schema: { type: "string", description: "This schema's URI, for editors; not part of the definition's hash." },
    name: { $ref: "#/$defs/name" },
    version: {
      type: "integer",
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: "A new version applies to new instances only; the same name and version must always mean the same document.",
    },
    description: { type: "string", maxLength: 10_000 },
    maxRecoveries: { type: "integer", minimum: 0, maximum: 1_000_000, description: "Default 10." },
    input: {
      type: "object",
      description: "A JSON Schema (draft 2020-12) every input must match when a saga is started.",
    },
    steps: { type: "array", minItems: 1, maxItems: MAX_STEPS, items: { $ref: "#/$defs/step" } },
  },
  $defs: {
    name: {
      type: "string",
      pattern: "^[A-Za-z][A-Za-z0-9_.-]{0,127}$",
      description: "Letters, digits, '_', '.' or '-', starting with a letter, at most 128 characters.",
    },
    step: {
      type: "object",
      required: ["name"],
      additionalProperties: false,
      properties: {
        name: { $ref: "#/$defs/name" },
        action: { $ref: "#/$defs/call", description: "What the step does. Exactly one of action, wait and sleep." },
        wait: { $ref: "#/$defs/wait" },
        sleep: { $ref: "#/$defs/sleep" },
        compensation: { $ref: "#/$defs/call", description: "Undoes the action (or what a wait's answer stood for)." },
        retry: { $ref: "#/$defs/retry", description: "Default: 3 attempts (a waiting step: 1)." },
        timeoutMs: { $ref: "#/$defs/attemptTimeoutMs", description: "Per-attempt limit the engine enforces; 0 (default) means none." },
        compensationRetry: { $ref: "#/$defs/retry", description: "Default: 10 attempts." },
        compensationTimeoutMs: { $ref: "#/$defs/attemptTimeoutMs" },
        pivot: { type: "boolean", description: "After a pivot step succeeds the saga only rolls forward." },
        compensateOnFailure: { type: "boolean", description: "Compensate the step even when its action failed for good." },
      },
      oneOf: [{ required: ["action"] }, { required: ["wait"] }, { required: ["sleep"] }],
      dependentSchemas: {
        wait: { not: { required: ["timeoutMs"] } },
        sleep: { not: { anyOf: [{ required: ["compensation"] }, { required: ["retry"] }, { required: ["timeoutMs"] }, { required: ["compensationRetry"] }, { required: ["compensationTimeoutMs"] }, { required: ["compensateOnFailure"] }] } },
      },
      if: { required: ["compensateOnFailure"], properties: { compensateOnFailure: { const: true } } },
      then: { required: ["compensation"] },
    },
    call: {
      type: "object",
      required: ["http"],
      additionalProperties: false,
      properties: { http: { $ref: "#/$defs/http" } },
    },
    http: {
      type: "object",
      required: ["method", "url"],
      additionalProperties: false,
      properties: {
        method: { enum: [...HTTP_METHODS] },
        url: {
          type: "string",
          minLength: 1,
          description: "http:// or https:// and a host, written out or from a ${NAME} variable; {{ … }} placeholders are percent-encoded.",
        },
        headers: { type: "object", additionalProperties: { type: "string" }, description: "Values may hold ${NAME} variables and {{ … }} placeholders." },
        body: { description: "Any JSON, sent as application/json; strings may hold {{ … }} placeholders." },
        timeoutMs: { type: "integer", minimum: 1, maximum: MAX_HTTP_TIMEOUT_MS, description: "Per attempt, covering the whole response. Default 10000." },
        okStatuses: { type: "array", items: { type: "integer", minimum: 100, maximum: 599 } },
      },
    },
    wait: {
      type: "object",
      additionalProperties: false,
      properties: {
        timeoutMs: { type: "integer", minimum: 0, maximum: MAX_WAIT_TIMEOUT_MS, description: "How long each attempt waits for an answer; 0 (default) waits forever." },
        event: {
          type: "string",
          pattern: "^[A-Za-z][A-Za-z0-9_.-]{0,127}$",
          description: "Answered by this named event (POST /api/v1/sagas/{id}/signals/{name}, sagaflow signal) rather than by complete/fail; its data is the step's output.",
        },
      },
    },
    sleep: {
      type: "object",
      required: ["durationMs"],
      additionalProperties: false,
      description: "A durable timer (sleepStep): the saga sleeps this long from when the step starts, holding no worker. A sleep takes no compensation, retry or timeout.",
      properties: {
        durationMs: { type: "integer", minimum: 0, maximum: MAX_WAIT_TIMEOUT_MS, description: "How long to sleep." },
      },
    },
    retry: {
      type: "object",
      additionalProperties: false,
      properties: {
        maxAttempts: { type: "integer", minimum: 1, maximum: 1_000_000 },
        initialDelayMs: { type: "number", minimum: 0 },
        multiplier: { type: "number", minimum: 1 },
        maxDelayMs: { type: "number", minimum: 0 },
        jitter: { enum: ["full", "none"] },
        terminalErrors: { type: "array", items: { type: "string", minLength: 1 } },
      },
    },
    attemptTimeoutMs: { type: "integer", minimum: 0, maximum: MAX_ATTEMPT_TIMEOUT_MS },
  },
} as const;
