import { context, propagation, type TextMapSetter } from "@opentelemetry/api";
import type { JsonValue } from "../domain/json.js";
import type { CompensationContext, StepContext } from "../dsl/define-saga.js";
import { InvalidArgumentError, RetryableError, TerminalError } from "../errors.js";
import { HttpCallError, HttpErrorCode } from "./http-call-error.js";
import { compileHttpCall, type CompiledHttpCall, type HttpCallSpec } from "./http-call-spec.js";
import {
  describeErrorBody,
  discardBody,
  ERROR_BODY_READ_BYTES,
  MAX_RESPONSE_BYTES,
  parseRetryAfter,
  readBody,
  truncate,
} from "./response-body.js";
import { renderBody, renderText, type HttpPhase, type TemplateScope } from "./template.js";

const HEADERS_SETTER: TextMapSetter<Headers> = { set: (carrier, key, value) => carrier.set(key, value) };

/**
 * Failures after which the participant may have acted although we got no answer: no complete
 * response in time, a connection lost mid-call, or a gateway that lost the upstream's answer. If
 * the retries run out, such a step is compensated (its compensation gets output null).
 */
const OUTCOME_UNKNOWN: ReadonlySet<string> = new Set([HttpErrorCode.Timeout, HttpErrorCode.Network, "HTTP_502", "HTTP_504"]);

type AnyStepContext = StepContext<unknown, Readonly<Record<string, unknown>>>;
type AnyCompensationContext = CompensationContext<unknown, Readonly<Record<string, unknown>>, unknown>;

export interface HttpStepOptions {
  /**
   * Extra headers for each attempt, e.g. `traceparent`. They override the spec's headers;
   * `Idempotency-Key` is always the step's own key, whatever this returns.
   */
  headers?: (ctx: AnyStepContext) => Record<string, string>;
}

/**
 * A step action that makes one HTTP call per attempt: the response's JSON body is the step's
 * output (null for an empty body). The spec is checked and its templates parsed here, once.
 *
 * Each attempt sends `Idempotency-Key: <sagaId>:<step>`, the same on every attempt, so the
 * participant can answer a repeat from its record. A 5xx, 408, 429, a network failure or the
 * spec's timeout is retried under the step's `retry`; any other 4xx fails the step for good.
 * A timeout, a lost connection, a 502 or a 504 may have taken effect: if the retries run out
 * after one of those, the step is compensated (with output null) like one that timed out. Give
 * the step `compensateOnFailure: true` to compensate it after any failure.
 *
 * `Output` is not checked at run time; it only types what later steps see.
 *
 * @example
 * defineSaga<{ orderId: string; amountCents: number }>({ name: "order", version: 1 })
 *   .step("ReservePayment", {
 *     action: httpAction<{ paymentId: string }>({ method: "POST", url: "https://payments/reservations", body: { orderId: "{{ input.orderId }}", amountCents: "{{ input.amountCents }}" } }),
 *     compensate: httpCompensation({ method: "DELETE", url: "https://payments/reservations/{{ output.paymentId }}", okStatuses: [404] }),
 *     compensateOnFailure: true,
 *   })
 */
export function httpAction<Output = JsonValue>(spec: HttpCallSpec, options?: HttpStepOptions): (ctx: AnyStepContext) => Promise<Output> {
  const call = compileHttpCall(spec, "spec", "action");
  const headers = checkOptions(options);
  return async (ctx) => (await callOnce(call, "action", ctx, scopeOf(ctx, false), headers)) as Output;
}

/**
 * A compensation that makes one HTTP call per attempt, with `Idempotency-Key:
 * <sagaId>:<step>:compensate`. Its templates may read `output`, the action's output, which is
 * null when the action failed or timed out: a compensation that must also undo such an action
 * should address the effect by something known beforehand (input, `saga.id`).
 * Retried under the step's `compensationRetry`; a terminal failure leaves the saga `failed`.
 */
export function httpCompensation(spec: HttpCallSpec, options?: HttpStepOptions): (ctx: AnyCompensationContext) => Promise<JsonValue> {
  const call = compileHttpCall(spec, "spec", "compensation");
  const headers = checkOptions(options);
  return (ctx) => callOnce(call, "compensation", ctx, scopeOf(ctx, true), headers);
}

function checkOptions(options: HttpStepOptions | undefined): HttpStepOptions["headers"] {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("options", "must be an object such as { headers: (ctx) => ({ traceparent }) }");
  for (const key of Object.keys(options)) {
    if (key !== "headers") throw new InvalidArgumentError(`options.${key}`, "is not an HTTP step option (known: headers)");
  }
  if (options.headers !== undefined && typeof options.headers !== "function") {
    throw new InvalidArgumentError("options.headers", "must be a function from the step's context to a record of headers");
  }
  return options.headers;
}

function scopeOf(ctx: AnyStepContext | AnyCompensationContext, compensation: boolean): TemplateScope {
  const scope = { sagaId: ctx.sagaId, step: ctx.step, attempt: ctx.attempt, idempotencyKey: ctx.idempotencyKey, input: ctx.input, outputs: ctx.outputs };
  return compensation ? { ...scope, output: (ctx as AnyCompensationContext).output } : scope;
}

/** One attempt; an HttpCallError becomes the TerminalError or RetryableError the engine classifies. */
async function callOnce(
  call: CompiledHttpCall,
  phase: HttpPhase,
  ctx: AnyStepContext,
  scope: TemplateScope,
  extraHeaders: HttpStepOptions["headers"],
): Promise<JsonValue> {
  ctx.signal.throwIfAborted();
  try {
    return await send(call, ctx, scope, extraHeaders);
  } catch (thrown) {
    if (!(thrown instanceof HttpCallError)) throw thrown;
    const where = `${phase} of step ${ctx.step} (saga ${ctx.sagaId}, attempt ${ctx.attempt})`;
    if (thrown.retryable) {
      const policy = phase === "action" ? "retry" : "compensationRetry";
      const retryAfterMs = thrown.retryAfterMs;
      throw new RetryableError(`${where}: ${thrown.message}; retried while the step's ${policy} policy allows${retryAfterMs === undefined ? "" : `, not before ${retryAfterMs} ms`}`, {
        cause: thrown,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        outcomeUnknown: OUTCOME_UNKNOWN.has(thrown.code),
      });
    }
    throw new TerminalError(`${where}: ${thrown.message}`, { cause: thrown });
  }
}

interface RenderedRequest {
  url: URL;
  /** Scheme, host and path: what messages show, without credentials or a query that may hold secrets. */
  shown: string;
  init: RequestInit;
}

function render(call: CompiledHttpCall, ctx: AnyStepContext, scope: TemplateScope, extraHeaders: HttpStepOptions["headers"]): RenderedRequest {
  const text = renderText(call.url, scope, "url");
  // The spec was checked to start with an http(s) scheme and host, so only a substituted value can break it.
  if (!URL.canParse(text)) {
    throw new HttpCallError(`url: renders to ${JSON.stringify(truncate(text, 200))}, which is not a valid URL; check the values substituted into the host and port`, {
      code: HttpErrorCode.Template,
      retryable: false,
    });
  }
  const url = new URL(text);
  const headers = new Headers({ accept: "application/json" });
  let body: string | undefined;
  if (call.body !== undefined) {
    body = JSON.stringify(renderBody(call.body, scope));
    headers.set("content-type", "application/json");
  }
  for (const [name, template] of call.headers) headers.set(name, renderText(template, scope, "header"));
  // The attempt's trace context (traceparent, …) from whatever propagator the host registered; a
  // no-op without an OpenTelemetry SDK. Spec headers of the same name give way to it.
  propagation.inject(context.active(), headers, HEADERS_SETTER);
  if (extraHeaders !== undefined) {
    for (const [name, value] of Object.entries(extraHeaders(ctx))) {
      try {
        headers.set(name, value);
      } catch (error) {
        throw new HttpCallError(`the headers hook returned header ${JSON.stringify(name)}, which fetch refuses (${error instanceof Error ? error.message : String(error)}); fix the hook`, {
          code: HttpErrorCode.InvalidHeader,
          retryable: false,
          cause: error,
        });
      }
    }
  }
  // Last, so nothing overrides the key that makes repeated attempts safe (G3).
  headers.set("idempotency-key", ctx.idempotencyKey);
  const init: RequestInit = { method: call.method, headers, redirect: "manual" };
  if (body !== undefined) init.body = body;
  return { url, shown: `${call.method} ${url.protocol}//${url.host}${url.pathname}`, init };
}

async function send(call: CompiledHttpCall, ctx: AnyStepContext, scope: TemplateScope, extraHeaders: HttpStepOptions["headers"]): Promise<JsonValue> {
  const request = render(call, ctx, scope, extraHeaders);
  // One controller for the attempt, aborted by the spec's timeout or the step's signal; both are
  // unhooked when the attempt ends, so a long-lived step signal gathers no listeners.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no complete response within ${call.timeoutMs} ms`));
  }, call.timeoutMs);
  const onStepAbort = (): void => controller.abort(ctx.signal.reason);
  ctx.signal.addEventListener("abort", onStepAbort, { once: true });
  try {
    try {
      const response = await fetch(request.url, { ...request.init, signal: controller.signal });
      return await interpret(call, request, response);
    } catch (thrown) {
      if (thrown instanceof HttpCallError) throw thrown;
      // The engine's timeout or a shutdown: its own reason (StepTimeoutError, …) is what it expects back.
      ctx.signal.throwIfAborted();
      if (timedOut) {
        throw new HttpCallError(`${request.shown} did not answer completely within the spec's timeoutMs of ${call.timeoutMs} ms`, {
          code: HttpErrorCode.Timeout,
          retryable: true,
          cause: thrown,
        });
      }
      throw new HttpCallError(`${request.shown} failed without a complete response: ${networkReason(thrown)}`, {
        code: HttpErrorCode.Network,
        retryable: true,
        cause: thrown,
      });
    }
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", onStepAbort);
  }
}

/** fetch's "fetch failed" says nothing; the reason is in its cause (ECONNREFUSED, ENOTFOUND, …). */
function networkReason(thrown: unknown): string {
  if (!(thrown instanceof Error)) return String(thrown);
  const cause = thrown.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return `${thrown.message} (${typeof code === "string" ? `${code}: ` : ""}${cause.message})`;
  }
  return thrown.message;
}

async function interpret(call: CompiledHttpCall, request: RenderedRequest, response: Response): Promise<JsonValue> {
  const { status } = response;
  const answered = `${request.shown} answered ${status}${response.statusText === "" ? "" : ` ${response.statusText}`}`;
  const success = (status >= 200 && status < 300) || call.okStatuses.has(status);
  if (success) return readOutput(request, response, answered, status >= 200 && status < 300);

  const { bytes, complete } = await readBody(response.body, ERROR_BODY_READ_BYTES);
  const detail = describeErrorBody(bytes, complete);
  const explained = detail === "" ? answered : `${answered}: ${detail}`;
  const code = `HTTP_${status}` as const;
  if (status >= 500 || status === 408 || status === 429) {
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get("retry-after"), Date.now()) : undefined;
    throw new HttpCallError(explained, { code, retryable: true, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
  }
  const advice =
    status >= 300 && status < 400
      ? `redirects are not followed, since following one can change the method or drop the body; point the url at ${locationOf(request.url, response.headers.get("location"))}`
      : `the participant refused the request, so it is not retried; fix the request or the participant, or list ${status} in okStatuses if it means success`;
  throw new HttpCallError(`${explained} (${advice})`, { code, retryable: false, status });
}

/** Where a redirect points, without its query; "the final location" when it does not say. */
function locationOf(base: URL, location: string | null): string {
  if (location === null || !URL.canParse(location, base.href)) return "the final location";
  const target = new URL(location, base);
  return `${target.protocol}//${target.host}${target.pathname}`;
}

async function readOutput(request: RenderedRequest, response: Response, answered: string, strict: boolean): Promise<JsonValue> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > MAX_RESPONSE_BYTES) {
    await discardBody(response.body);
    throw tooLarge(answered, `it declares ${declared} bytes`, response.status);
  }
  const { bytes, complete } = await readBody(response.body, MAX_RESPONSE_BYTES);
  if (!complete) throw tooLarge(answered, "it kept streaming past the limit", response.status);
  if (bytes.byteLength === 0) return null;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as JsonValue;
  } catch (error) {
    // A listed non-2xx status already says what happened; its body is often an error page, not data.
    if (!strict) return null;
    const type = response.headers.get("content-type") ?? "no content-type";
    throw new HttpCallError(
      `${answered} with a body that is not JSON (${type}): ${describeErrorBody(bytes.subarray(0, 200), bytes.byteLength <= 200)} (the step's output must be JSON or empty; fix the participant's response)`,
      { code: HttpErrorCode.BadResponse, retryable: false, status: response.status, cause: error },
    );
  }
}

function tooLarge(answered: string, how: string, status: number): HttpCallError {
  return new HttpCallError(
    `${answered} with a body over the ${MAX_RESPONSE_BYTES}-byte limit for a step output (${how}); outputs are stored with the saga, so have the participant return an id to fetch the data by`,
    { code: HttpErrorCode.ResponseTooLarge, retryable: false, status },
  );
}
