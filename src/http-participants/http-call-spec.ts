import type { JsonValue } from "../domain/json.js";
import { InvalidArgumentError } from "../errors.js";
import { fieldPath, parseBodyTemplate, parseTemplate, type BodyTemplate, type HttpPhase, type Template } from "./template.js";

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * One HTTP call as plain JSON data, so a declarative saga definition can hold it.
 *
 * Strings in `url`, `headers` and `body` may hold `{{ path }}` placeholders whose roots are
 * `input`, `steps.<step>.output`, `output` (compensations only: the action's output),
 * `saga.id`, `saga.step`, `attempt` and `idempotencyKey`.
 *
 * @example
 * const reserve: HttpCallSpec = {
 *   method: "POST",
 *   url: "https://payments.internal/orders/{{ input.orderId }}/reservations",
 *   body: { amountCents: "{{ input.amountCents }}", note: "order {{ input.orderId }}" },
 * };
 */
export interface HttpCallSpec {
  method: HttpMethod;
  /** Must start with `http://` or `https://`; substituted values are percent-encoded. */
  url: string;
  /** Values are templates. `Idempotency-Key` is set by the step and cannot be given here. */
  headers?: Record<string, string>;
  /**
   * Sent as `application/json`. A string that is exactly one placeholder takes the referenced
   * value with its JSON type; text around placeholders interpolates.
   */
  body?: JsonValue;
  /** Per attempt, covering the whole response. Default 10 000 ms, at most one hour. */
  timeoutMs?: number;
  /** Statuses outside 2xx that also mean success, e.g. `[404]` for a DELETE that finds nothing to undo. */
  okStatuses?: number[];
}

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
export const MAX_HTTP_TIMEOUT_MS = 3_600_000;

/** A spec checked and parsed once: what each attempt renders. */
export interface CompiledHttpCall {
  readonly spec: HttpCallSpec;
  readonly method: HttpMethod;
  readonly url: Template;
  readonly headers: readonly (readonly [string, Template])[];
  readonly body: BodyTemplate | undefined;
  readonly timeoutMs: number;
  readonly okStatuses: ReadonlySet<number>;
}

const KNOWN_FIELDS = ["method", "url", "headers", "body", "timeoutMs", "okStatuses"];
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers fetch computes itself; a spec that sets them would send a wrong or refused request. */
const MANAGED_HEADERS = new Set(["content-length", "host", "transfer-encoding", "connection"]);

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Checks plain data (parsed JSON or YAML, or a literal in code) as an HTTP call spec and returns a
 * frozen copy. Throws InvalidArgumentError whose `field` is the exact path under `field`, e.g.
 * `steps[1].action.http.okStatuses[0]`. Give `phase` to also refuse `{{ output }}` in an action.
 */
export function parseHttpCallSpec(value: unknown, field: string, phase?: HttpPhase): HttpCallSpec {
  return compileHttpCall(value, field, phase).spec;
}

/** Checks `value` as in parseHttpCallSpec and parses its templates. */
export function compileHttpCall(value: unknown, field: string, phase: HttpPhase | undefined): CompiledHttpCall {
  if (!isPlainObject(value)) throw new InvalidArgumentError(field, `must be an object with at least method and url, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (!KNOWN_FIELDS.includes(key)) throw new InvalidArgumentError(fieldPath(field, key), `is not an HTTP call field (known: ${KNOWN_FIELDS.join(", ")})`);
  }
  const method = value.method;
  if (typeof method !== "string" || !(HTTP_METHODS as readonly string[]).includes(method)) {
    throw new InvalidArgumentError(`${field}.method`, `must be one of ${HTTP_METHODS.join(", ")} (upper case), got ${describe(method)}`);
  }
  const url = compileUrl(value.url, `${field}.url`, phase);
  const headers = value.headers === undefined ? [] : compileHeaders(value.headers, `${field}.headers`, phase);
  let body: JsonValue | undefined;
  if (value.body !== undefined) {
    if (method === "GET") throw new InvalidArgumentError(`${field}.body`, "must be left out for GET: fetch sends no body with it; use POST or put the values in the url");
    body = copyJson(value.body, `${field}.body`);
  }
  const timeoutMs = value.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_HTTP_TIMEOUT_MS) {
    throw new InvalidArgumentError(`${field}.timeoutMs`, `must be an integer number of milliseconds from 1 to ${MAX_HTTP_TIMEOUT_MS} (one hour), got ${describe(timeoutMs)}`);
  }
  const okStatuses = value.okStatuses === undefined ? [] : checkStatuses(value.okStatuses, `${field}.okStatuses`);

  const spec: HttpCallSpec = { method: method as HttpMethod, url: url.source };
  if (value.headers !== undefined) spec.headers = Object.freeze(Object.fromEntries(headers.map(([name, template]) => [name, template.source])));
  if (body !== undefined) spec.body = deepFreeze(body);
  if (value.timeoutMs !== undefined) spec.timeoutMs = timeoutMs;
  if (value.okStatuses !== undefined) spec.okStatuses = Object.freeze([...okStatuses]) as number[];
  return Object.freeze({
    spec: Object.freeze(spec),
    method: method as HttpMethod,
    url: url.template,
    headers: headers.map(([name, template]) => [name, template.template] as const),
    body: body === undefined ? undefined : parseBodyTemplate(body, `${field}.body`, "body", phase),
    timeoutMs,
    okStatuses: new Set(okStatuses),
  });
}

interface ParsedText {
  source: string;
  template: Template;
}

function compileUrl(value: unknown, field: string, phase: HttpPhase | undefined): ParsedText {
  if (typeof value !== "string") throw new InvalidArgumentError(field, `must be a string such as "https://host/path/{{ input.id }}", got ${describe(value)}`);
  // Substituted values are percent-encoded, so a placeholder can never supply the scheme or host separator.
  if (!/^https?:\/\/[^/?#]/i.test(value)) {
    throw new InvalidArgumentError(field, `must start with http:// or https:// and a host written out (placeholders are percent-encoded, so they cannot supply a base URL), got ${describe(value)}`);
  }
  const template = parseTemplate(value, field, "url", phase);
  if (template.parts.every((part) => typeof part === "string") && !URL.canParse(value)) {
    throw new InvalidArgumentError(field, `must be a valid URL, got ${describe(value)}`);
  }
  return { source: value, template };
}

function compileHeaders(value: unknown, field: string, phase: HttpPhase | undefined): [string, ParsedText][] {
  if (!isPlainObject(value)) throw new InvalidArgumentError(field, `must be an object of header names to string values, got ${describe(value)}`);
  const seen = new Map<string, string>();
  return Object.entries(value).map(([name, headerValue]) => {
    const at = fieldPath(field, name);
    if (!HEADER_NAME.test(name)) throw new InvalidArgumentError(at, "is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)");
    const lower = name.toLowerCase();
    if (lower === "idempotency-key") {
      throw new InvalidArgumentError(at, "cannot be set: the step always sends the saga's own key (stable across attempts and workers, G3); remove it");
    }
    if (MANAGED_HEADERS.has(lower)) throw new InvalidArgumentError(at, "cannot be set: fetch computes it from the request");
    const earlier = seen.get(lower);
    if (earlier !== undefined) throw new InvalidArgumentError(at, `repeats header ${JSON.stringify(earlier)} (header names ignore case)`);
    seen.set(lower, name);
    if (typeof headerValue !== "string") throw new InvalidArgumentError(at, `must be a string, got ${describe(headerValue)}`);
    if (/[\r\n\0]/.test(headerValue)) throw new InvalidArgumentError(at, "must not contain a line break or NUL");
    return [name, { source: headerValue, template: parseTemplate(headerValue, at, fieldPath("headers", name), phase) }];
  });
}

function checkStatuses(value: unknown, field: string): number[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, `must be an array of status codes such as [404], got ${describe(value)}`);
  return value.map((status: unknown, index) => {
    if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
      throw new InvalidArgumentError(`${field}[${index}]`, `must be an integer HTTP status from 100 to 599, got ${describe(status)}`);
    }
    return status;
  });
}

/** A copy of `value` if it is JSON data; else InvalidArgumentError naming the offending path. */
function copyJson(value: unknown, field: string): JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(field, `must be JSON, but ${value} is not a JSON number`);
    return value;
  }
  if (Array.isArray(value)) {
    const copy: JsonValue[] = [];
    for (let index = 0; index < value.length; index++) copy.push(copyJson(value[index], `${field}[${index}]`));
    return copy;
  }
  if (isPlainObject(value)) {
    // fromEntries defines members, so a "__proto__" key stays data.
    return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, copyJson(member, fieldPath(field, key))]));
  }
  throw new InvalidArgumentError(field, `must be JSON (null, boolean, number, string, array or plain object), got ${describe(value)}`);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
