import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ErrorCode, SagaflowError } from "../errors.js";

/** The media type of every error body (RFC 9457). */
export const PROBLEM_MEDIA_TYPE = "application/problem+json";

/**
 * An error body as RFC 9457 describes it. `code` is Sagaflow's `ErrorCode` (or an HTTP-level code
 * such as `VALIDATION_FAILED`), and `field` names the part of the request that was wrong, as a
 * path such as `body.input` or `query.limit`.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  field?: string;
  instance?: string;
  /** Every problem of an invalid saga definition document, with its line and column. */
  issues?: readonly { field: string; line?: number; column?: number; message: string }[];
}

/** What the server answers with for each library error, and why. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.NotSerializable]: 400,
  // The definition is named in the body, so this is a bad request rather than a missing resource.
  [ErrorCode.UnknownDefinition]: 400,
  [ErrorCode.SagaNotFound]: 404,
  [ErrorCode.CancelNotAllowed]: 409,
  [ErrorCode.StepNotFound]: 404,
  [ErrorCode.StepNotWaiting]: 409,
  [ErrorCode.DefinitionConflict]: 409,
  [ErrorCode.RetryNotAllowed]: 409,
  [ErrorCode.SagaEnded]: 409,
  [ErrorCode.RepairNotAllowed]: 409,
  [ErrorCode.InvalidDefinition]: 400,
  [ErrorCode.IdempotencyKeyConflict]: 409,
  [ErrorCode.StoreUnavailable]: 503,
  [ErrorCode.OrchestratorClosed]: 503,
};

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function problem(status: number, code: string, detail: string, field?: string): Problem {
  return {
    type: `https://sagaflow.dev/problems/${code.toLowerCase().replaceAll("_", "-")}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    code,
    ...(field === undefined ? {} : { field }),
  };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type(PROBLEM_MEDIA_TYPE).send({ ...body, instance: reply.request.url });
}

/**
 * Turns whatever a route threw into a problem: schema violations name the field, library errors
 * keep their code and message (they are written for the caller), Fastify's own 4xx (body too
 * large, bad JSON, prototype-poisoned JSON, wrong media type) keep their status, and anything
 * else is a 500 whose details stay in the log, never in the response.
 */
export function toProblem(error: FastifyError, request: FastifyRequest): Problem {
  if (error.validation !== undefined) {
    const [first] = error.validation;
    const location = error.validationContext === "querystring" ? "query" : (error.validationContext ?? "body");
    const path = first === undefined ? "" : fieldPath(first.instancePath, first.params);
    const field = path === "" ? location : `${location}.${path}`;
    const reason = first?.message ?? "is invalid";
    return problem(400, "VALIDATION_FAILED", `${field} ${reason}`, field);
  }
  if (error instanceof SagaflowError) {
    const status = STATUS_BY_CODE[error.code] ?? 500;
    if (status === 500) return internal(request);
    const field = "field" in error && typeof error.field === "string" ? error.field : error.code === ErrorCode.UnknownDefinition ? "definition" : undefined;
    const body = problem(status, error.code, error.message, field === undefined ? undefined : bodyField(field));
    if ("issues" in error && Array.isArray(error.issues)) {
      body.issues = (error.issues as { field: string; line?: number; column?: number; message: string }[]).map(({ field: path, line, column, message }) => ({
        field: path,
        message,
        ...(line === undefined ? {} : { line }),
        ...(column === undefined ? {} : { column }),
      }));
    }
    return body;
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return problem(status, error.code || "BAD_REQUEST", error.message);
  return internal(request);
}

function internal(request: FastifyRequest): Problem {
  return problem(500, "INTERNAL", `the server failed to handle this request; its log has the details under request id ${request.id}`);
}

/** `/input/items/0` (+ a missing property's name) → `input.items[0].name`. */
function fieldPath(instancePath: string, params: Record<string, unknown>): string {
  const parts = instancePath
    .split("/")
    .filter((part) => part !== "")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"));
  const missing = params.missingProperty ?? params.additionalProperty;
  if (typeof missing === "string") parts.push(missing);
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path === "" ? part : `${path}.${part}`), "");
}

/** Library errors name fields of the call (`idempotencyKey`); over HTTP those came in the body. */
function bodyField(field: string): string {
  return field.startsWith("body.") || field.startsWith("query.") || field.startsWith("params.") ? field : `body.${field}`;
}
