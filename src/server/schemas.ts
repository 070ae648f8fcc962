// JSON Schemas of the HTTP API: they validate requests, and @fastify/swagger turns them into the
// OpenAPI document. Response schemas describe; they do not filter (see `createServer`), so a test
// checks real responses against them.
import { PhaseStatus, SAGA_STATUSES } from "../domain/status.js";

/** Any JSON value: saga inputs, step outputs. */
const jsonValue = { description: "any JSON value" } as const;

const errorInfo = {
  type: "object",
  description: "an error as recorded: its name, message, optional code and stack, and its cause, the same shape again",
  required: ["name", "message"],
  properties: {
    name: { type: "string" },
    message: { type: "string" },
    code: { type: "string" },
    stack: { type: "string" },
    cause: { type: "object", additionalProperties: true },
  },
  additionalProperties: true,
} as const;

const phaseState = {
  type: "object",
  required: ["status", "attempt", "failures"],
  properties: {
    status: { type: "string", enum: Object.values(PhaseStatus) },
    attempt: { type: "integer", description: "the last attempt started (0: never)" },
    failures: { type: "integer" },
    nextAttemptAtMs: { type: "integer" },
    startedAtMs: { type: "integer" },
    settledAtMs: { type: "integer" },
    lastError: errorInfo,
    lastTimedOut: { type: "boolean" },
  },
  additionalProperties: true,
} as const;

export const sagaSchema = {
  $id: "Saga",
  type: "object",
  description: "one saga instance: its definition, input, status, and each step's action and compensation",
  required: ["id", "definitionName", "definitionVersion", "status", "steps", "createdAtMs", "updatedAtMs"],
  properties: {
    id: { type: "string" },
    definitionName: { type: "string" },
    definitionVersion: { type: "integer" },
    input: jsonValue,
    idempotencyKey: { type: ["string", "null"] },
    status: { type: "string", enum: [...SAGA_STATUSES] },
    steps: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "action", "compensation"],
        properties: { name: { type: "string" }, action: phaseState, compensation: phaseState, output: jsonValue },
        additionalProperties: true,
      },
    },
    settledOrder: { type: "array", items: { type: "integer" } },
    compensationOrder: { type: "array", items: { type: "integer" } },
    pivotPassed: { type: "boolean" },
    cancel: { type: "object", properties: { reason: { type: "string" }, by: { type: "string" }, atMs: { type: "integer" } }, additionalProperties: true },
    stop: { type: "object", properties: { reason: { type: "string" }, step: { type: "string" }, error: errorInfo, atMs: { type: "integer" } }, additionalProperties: true },
    outstanding: { type: "array", items: { type: "object", properties: { step: { type: "string" }, phase: { type: "string" } }, additionalProperties: true } },
    deadlineAtMs: { type: "integer", description: "when the saga must be done going forward (absent: no deadline)" },
    abort: {
      type: "object",
      description: "set when an operator aborted the saga (stopped it without compensating)",
      properties: { reason: { type: "string" }, by: { type: "string" }, atMs: { type: "integer" } },
      additionalProperties: true,
    },
    resolution: {
      type: "object",
      description: "set when an operator marked the failed saga resolved",
      properties: { reason: { type: "string" }, by: { type: "string" }, atMs: { type: "integer" } },
      additionalProperties: true,
    },
    signals: {
      type: "array",
      description: "named events the saga received, oldest first; consumedBy names the step that took one",
      items: {
        type: "object",
        required: ["id", "name", "payload", "by", "atMs"],
        properties: { id: { type: "string" }, name: { type: "string" }, payload: jsonValue, by: { type: "string" }, atMs: { type: "integer" }, consumedBy: { type: "string" } },
        additionalProperties: true,
      },
    },
    recoveries: { type: "integer" },
    wakeAtMs: { type: ["integer", "null"] },
    createdAtMs: { type: "integer" },
    updatedAtMs: { type: "integer" },
    endedAtMs: { type: "integer" },
  },
  additionalProperties: true,
} as const;

export const problemSchema = {
  $id: "Problem",
  type: "object",
  description: "an error (RFC 9457, application/problem+json)",
  required: ["type", "title", "status", "detail", "code"],
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", description: "Sagaflow's error code, or VALIDATION_FAILED" },
    field: { type: "string", description: "the part of the request that was wrong, such as body.input or query.limit" },
    instance: { type: "string" },
    issues: {
      type: "array",
      description: "every problem of an invalid saga definition document",
      items: {
        type: "object",
        required: ["field", "message"],
        properties: { field: { type: "string" }, line: { type: "integer" }, column: { type: "integer" }, message: { type: "string" } },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;

const historyEntry = {
  type: "object",
  description: "one transition, numbered per saga (seq), with the worker and fencing epoch that wrote it",
  required: ["seq", "type", "atMs"],
  properties: {
    seq: { type: "integer" },
    type: { type: "string" },
    atMs: { type: "integer" },
    workerId: { type: "string" },
    epoch: { type: "integer" },
  },
  additionalProperties: true,
} as const;

const retryPolicy = {
  type: "object",
  properties: {
    maxAttempts: { type: "integer" },
    initialDelayMs: { type: "integer" },
    multiplier: { type: "number" },
    maxDelayMs: { type: "integer" },
    jitter: { type: "string", enum: ["full", "none"] },
    terminalErrors: { type: "array", items: { type: "string" } },
  },
  additionalProperties: false,
} as const;

export const definitionSchema = {
  $id: "Definition",
  type: "object",
  description: "a saga definition this server runs: its steps in order with their retry and timeout policies",
  required: ["name", "version", "steps"],
  properties: {
    name: { type: "string" },
    version: { type: "integer" },
    maxRecoveries: { type: "integer" },
    steps: {
      type: "array",
      items: {
        type: "object",
        required: ["name", "pivot", "hasCompensation"],
        properties: {
          name: { type: "string" },
          pivot: { type: "boolean" },
          hasCompensation: { type: "boolean" },
          compensateOnFailure: { type: "boolean" },
          wait: { type: "boolean", description: "the step waits for an outside answer (complete/fail) instead of running an action" },
          event: { type: "string", description: "a waiting step answered by this named event (POST …/signals/{name})" },
          group: {
            type: "object",
            description: "the parallel group this step runs in, with its siblings (consecutive steps of the same group); onFailure says whether siblings in flight are waited for or cancelled when one fails for good",
            required: ["name", "onFailure"],
            properties: { name: { type: "string" }, onFailure: { type: "string", enum: ["wait", "cancel"] } },
            additionalProperties: false,
          },
          sleep: {
            type: "object",
            description: "a durable timer: it sleeps for durationMs from its start, or (kind until) until a time its definition computes",
            required: ["kind"],
            properties: { kind: { type: "string", enum: ["duration", "until"] }, durationMs: { type: "integer", minimum: 0 } },
            additionalProperties: false,
          },
          retry: retryPolicy,
          timeoutMs: { type: "integer", description: "per attempt; 0: none" },
          compensationRetry: retryPolicy,
          compensationTimeoutMs: { type: "integer" },
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;

/** Every shared schema, registered once with `addSchema` and referenced as `Name#`. */
export const SHARED_SCHEMAS = [sagaSchema, problemSchema, definitionSchema] as const;

const ref = (id: string): { $ref: string } => ({ $ref: `${id}#` });

/** Error responses a route can give, by status. */
export function problems(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: describeStatus(status), content: { "application/problem+json": { schema: ref("Problem") } } }]),
  );
}

function describeStatus(status: number): string {
  switch (status) {
    case 400:
      return "the request is malformed; `field` names what is wrong";
    case 401:
      return "a bearer token is required (the server was started with --token)";
    case 404:
      return "no such saga (or step)";
    case 409:
      return "the saga's state does not allow this";
    case 413:
      return "the body is larger than the server's limit";
    case 503:
      return "the store is unreachable or the server is shutting down";
    default:
      return "error";
  }
}

export const SAGA_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$";

export const sagaIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", pattern: SAGA_ID_PATTERN, description: "the saga's id" } },
  additionalProperties: false,
} as const;

export const startBody = {
  type: "object",
  required: ["definition"],
  properties: {
    definition: { type: "string", minLength: 1, maxLength: 200, description: "the definition's name" },
    version: { type: "integer", minimum: 1, description: "default: the newest version this server runs" },
    input: { ...jsonValue, description: "the saga's input; checked by the definition when it has a parser. Default null" },
    idempotencyKey: { type: "string", minLength: 1, maxLength: 512, description: "starting again with the same key returns the first saga (200, not 201)" },
    id: { type: "string", pattern: SAGA_ID_PATTERN, description: "default: a UUIDv7 (sorts by creation time)" },
    deadlineMs: { type: "integer", minimum: 1, maximum: 9007199254740991, description: "how long the saga may take going forward, in ms from now; once it passes, a saga before its pivot rolls back as if cancelled. Default: the definition's" },
  },
  additionalProperties: false,
} as const;

export const cancelBody = {
  type: ["object", "null"],
  properties: {
    reason: { type: "string", minLength: 1, maxLength: 1000, description: "recorded in the history. Default \"cancelled\"" },
    by: { type: "string", minLength: 1, maxLength: 200, description: "who asked, recorded in the history. Default \"http-api\"" },
  },
  additionalProperties: false,
} as const;

export const listQuery = {
  type: "object",
  properties: {
    status: {
      type: "array",
      items: { type: "string", enum: [...SAGA_STATUSES] },
      maxItems: SAGA_STATUSES.length,
      description: "repeat, or separate with commas, for several",
    },
    definition: { type: "string", minLength: 1, maxLength: 200 },
    createdFrom: { type: "string", format: "date-time", description: "inclusive (RFC 3339)" },
    createdTo: { type: "string", format: "date-time", description: "exclusive (RFC 3339)" },
    limit: { type: "integer", minimum: 1, maximum: 1000, default: 50 },
    cursor: { type: "string", minLength: 1, maxLength: 1000, description: "nextCursor of the previous page" },
    idempotencyKey: { type: "string", minLength: 1, maxLength: 512, description: "only the saga this key started (at most one), if it passes the other filters" },
  },
  additionalProperties: false,
} as const;

export const sagaPage = {
  type: "object",
  required: ["items", "nextCursor"],
  properties: { items: { type: "array", items: ref("Saga") }, nextCursor: { type: ["string", "null"] } },
  additionalProperties: false,
} as const;

export const historyPage = {
  type: "object",
  required: ["items"],
  properties: { items: { type: "array", items: historyEntry } },
  additionalProperties: false,
} as const;

export const definitionList = {
  type: "object",
  required: ["items"],
  properties: { items: { type: "array", items: ref("Definition") } },
  additionalProperties: false,
} as const;

export { ref };

export const stepParams = {
  type: "object",
  required: ["id", "step"],
  properties: {
    id: { type: "string", pattern: SAGA_ID_PATTERN, description: "the saga's id" },
    step: { type: "string", minLength: 1, maxLength: 200, description: "the name of the waiting step" },
  },
  additionalProperties: false,
} as const;

export const completeBody = {
  type: ["object", "null"],
  properties: {
    output: { ...jsonValue, description: "the step's output, seen by later steps and its compensation. Default null" },
    by: { type: "string", minLength: 1, maxLength: 200, description: "who answered, recorded in the history. Default \"http-api\"" },
  },
  additionalProperties: false,
} as const;

export const repairBody = {
  type: "object",
  required: ["reason"],
  properties: {
    reason: { type: "string", minLength: 1, maxLength: 1000, description: "why, recorded in the history (e.g. \"refunded by hand, ticket OPS-42\")" },
    by: { type: "string", minLength: 1, maxLength: 200, description: "who, recorded in the history. Default \"http-api\"" },
  },
  additionalProperties: false,
} as const;

export const migrateBody = {
  type: "object",
  required: ["toVersion", "reason"],
  properties: {
    toVersion: { type: "integer", minimum: 1, maximum: 2147483647, description: "the version to move the saga onto; this server must run it" },
    reason: { type: "string", minLength: 1, maxLength: 1000, description: "why, recorded in the history" },
    by: { type: "string", minLength: 1, maxLength: 200, description: "who, recorded in the history. Default \"http-api\"" },
  },
  additionalProperties: false,
} as const;

export const signalParams = {
  type: "object",
  required: ["id", "name"],
  properties: {
    id: { type: "string", pattern: SAGA_ID_PATTERN, description: "the saga's id" },
    name: { type: "string", pattern: "^[A-Za-z][A-Za-z0-9_.-]{0,127}$", description: "the event's name, e.g. manager-approved" },
  },
  additionalProperties: false,
} as const;

export const signalBody = {
  type: ["object", "null"],
  properties: {
    data: { ...jsonValue, description: "the event's payload: the output of the step that waits for it. Default null" },
    id: { type: "string", minLength: 1, maxLength: 256, description: "names this delivery; the same id again is a duplicate, recorded once. Default the event's name" },
    by: { type: "string", minLength: 1, maxLength: 200, description: "who sent it, recorded in the history. Default \"http-api\"" },
  },
  additionalProperties: false,
} as const;

export const failBody = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["message"],
      properties: {
        message: { type: "string", minLength: 1, maxLength: 4000 },
        name: { type: "string", minLength: 1, maxLength: 200, description: "Default StepFailedError" },
        code: { type: "string", minLength: 1, maxLength: 200 },
      },
      additionalProperties: false,
    },
    retryable: { type: "boolean", description: "let the step's retry policy wait for another answer. Default false: the step fails for good and the saga compensates" },
    by: { type: "string", minLength: 1, maxLength: 200 },
  },
  additionalProperties: false,
} as const;

export const savedDefinition = {
  type: "object",
  required: ["name", "version", "hash", "createdAtMs"],
  properties: {
    name: { type: "string" },
    version: { type: "integer" },
    hash: { type: "string", description: "sha256 of the canonical document: the same document always has the same hash" },
    createdAtMs: { type: "integer", description: "when this name@version was first saved" },
  },
  additionalProperties: false,
} as const;
