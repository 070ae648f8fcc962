import { createServer } from "node:net";
import { describe, expect, it, vi } from "vitest";
import { RetryableError, StepTimeoutError, TerminalError } from "../../src/errors.js";
import { httpAction, httpCompensation, HttpErrorCode, MAX_RESPONSE_BYTES, MAX_RETRY_AFTER_MS } from "../../src/http-participants/index.js";
import { parseRetryAfter } from "../../src/http-participants/response-body.js";
import { actionContext, compensationContext, httpCause, rejectionOf } from "./support.js";
import { hang, json, TestServer } from "./test-server.js";

const server = TestServer.forFile((_, response) => json(response, 200, { ok: true }));

const post = (path = "/payments") => httpAction({ method: "POST", url: server.url(path), body: { amountCents: "{{ input.amountCents }}" } });

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe("what each attempt sends", () => {
  it("sends the step's idempotency key, Accept and a JSON content type", async () => {
    await post()(actionContext());
    expect(server.requests[0]?.headers).toMatchObject({
      "idempotency-key": "saga-1:ReservePayment",
      accept: "application/json",
      "content-type": "application/json",
    });
  });

  it("sends no Content-Type without a body", async () => {
    await httpAction({ method: "GET", url: server.url("/") })(actionContext());
    expect(server.requests[0]?.headers["content-type"]).toBeUndefined();
    expect(server.requests[0]?.headers["idempotency-key"]).toBe("saga-1:ReservePayment");
  });

  it("sends the same key on every attempt, and the compensation's own key from a compensation", async () => {
    const action = post();
    for (const attempt of [1, 2, 3]) await action(actionContext({ attempt }));
    await httpCompensation({ method: "DELETE", url: server.url("/payments/{{ output.id }}") })(compensationContext({ id: "p-1" }));
    expect(server.requests.map((request) => request.headers["idempotency-key"])).toEqual([
      "saga-1:ReservePayment",
      "saga-1:ReservePayment",
      "saga-1:ReservePayment",
      "saga-1:ReservePayment:compensate",
    ]);
  });

  it("merges the headers hook (trace propagation) over the spec's headers, but never over Idempotency-Key", async () => {
    const action = httpAction(
      { method: "POST", url: server.url("/"), headers: { "X-Tenant": "t-1", traceparent: "from-spec" }, body: {} },
      { headers: (ctx) => ({ traceparent: `00-${ctx.sagaId}-01`, "Idempotency-Key": "hijacked" }) },
    );
    await action(actionContext());
    expect(server.requests[0]?.headers).toMatchObject({ "x-tenant": "t-1", traceparent: "00-saga-1-01", "idempotency-key": "saga-1:ReservePayment" });
  });

  it("fails for good, before sending, when the headers hook returns a header fetch refuses", async () => {
    const error = await rejectionOf(httpAction({ method: "GET", url: server.url("/") }, { headers: () => ({ "bad name": "x" }) })(actionContext()));
    expect(error).toBeInstanceOf(TerminalError);
    expect(httpCause(error).code).toBe(HttpErrorCode.InvalidHeader);
    expect(server.requests).toHaveLength(0);
  });
});

describe("success", () => {
  it("returns a 2xx response's JSON body as the output", async () => {
    server.handler = (_, response) => json(response, 201, { paymentId: "p-7", amounts: [1, 2] });
    await expect(post()(actionContext())).resolves.toEqual({ paymentId: "p-7", amounts: [1, 2] });
  });

  it("returns null for 204 and for an empty 200", async () => {
    server.handler = (_, response) => void response.writeHead(204).end();
    await expect(post()(actionContext())).resolves.toBeNull();
    server.handler = (_, response) => void response.writeHead(200, { "content-length": "0" }).end();
    await expect(post()(actionContext())).resolves.toBeNull();
  });

  it("counts okStatuses as success: a DELETE compensation that finds nothing to undo", async () => {
    server.handler = (_, response) => void response.writeHead(404, { "content-type": "text/plain" }).end("no such payment");
    const compensate = httpCompensation({ method: "DELETE", url: server.url("/payments/{{ output.id }}"), okStatuses: [404] });
    await expect(compensate(compensationContext({ id: "p-1" }))).resolves.toBeNull();
    server.handler = (_, response) => json(response, 409, { paymentId: "p-1", state: "exists" });
    await expect(httpAction({ method: "POST", url: server.url("/"), okStatuses: [409] })(actionContext())).resolves.toEqual({ paymentId: "p-1", state: "exists" });
  });

  it("refuses a 2xx body that is not JSON: HTTP_BAD_RESPONSE, terminal", async () => {
    server.handler = (_, response) => void response.writeHead(200, { "content-type": "text/html" }).end("<html>maintenance</html>");
    const error = await rejectionOf(post()(actionContext()));
    expect(error).toBeInstanceOf(TerminalError);
    expect(httpCause(error).code).toBe(HttpErrorCode.BadResponse);
    expect(error.message).toContain("text/html");
    expect(error.message).toContain("<html>maintenance</html>");
  });

  it("accepts a body of exactly 1 MiB", async () => {
    const text = JSON.stringify("x".repeat(MAX_RESPONSE_BYTES - 2));
    server.handler = (_, response) => void response.writeHead(200, { "content-type": "application/json" }).end(text);
    const output = await post()(actionContext());
    expect(typeof output === "string" && output.length).toBe(MAX_RESPONSE_BYTES - 2);
  });

  it("refuses a body over 1 MiB, declared by Content-Length or streamed without one: HTTP_RESPONSE_TOO_LARGE", async () => {
    const text = JSON.stringify("x".repeat(MAX_RESPONSE_BYTES));
    server.handler = (_, response) => void response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
    const declared = await rejectionOf(post()(actionContext()));
    expect(declared).toBeInstanceOf(TerminalError);
    expect(httpCause(declared).code).toBe(HttpErrorCode.ResponseTooLarge);
    expect(declared.message).toContain(`declares ${Buffer.byteLength(text)} bytes`);

    server.handler = (_, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      for (let sent = 0; sent < text.length; sent += 64 * 1024) response.write(text.slice(sent, sent + 64 * 1024));
      response.end();
    };
    const streamed = await rejectionOf(post()(actionContext()));
    expect(httpCause(streamed).code).toBe(HttpErrorCode.ResponseTooLarge);
    expect(streamed.message).toContain("kept streaming past the limit");
  });
});

describe("refusals (4xx, 3xx) fail for good", () => {
  it("makes a 409 problem+json a TerminalError naming method, path, status and the detail", async () => {
    server.handler = (_, response) =>
      json(response, 409, { type: "about:blank", title: "Conflict", status: 409, detail: "order A-1 already has a payment" }, { "content-type": "application/problem+json" });
    const error = await rejectionOf(httpAction({ method: "POST", url: server.url("/payments?token=s3cr3t"), headers: { Authorization: "Bearer hunter2" } })(actionContext()));
    expect(error).toBeInstanceOf(TerminalError);
    expect(httpCause(error)).toMatchObject({ code: "HTTP_409", status: 409, retryable: false });
    expect(error.message).toContain(`POST ${server.url("/payments")} answered 409 Conflict: order A-1 already has a payment`);
    expect(error.message).toContain("okStatuses");
    expect(error.message).not.toContain("s3cr3t");
    expect(error.message).not.toContain("hunter2");
  });

  it.each([
    { shape: "message", body: { message: "amount must be positive" } },
    { shape: "error", body: { error: "amount must be positive" } },
    { shape: "error.message", body: { error: { message: "amount must be positive" } } },
  ])("takes the explanation from a JSON body's $shape", async ({ body }) => {
    server.handler = (_, response) => json(response, 422, body);
    const error = await rejectionOf(post()(actionContext()));
    expect(httpCause(error).code).toBe("HTTP_422");
    expect(error.message).toContain("answered 422 Unprocessable Entity: amount must be positive");
  });

  it("quotes a text body, whitespace collapsed and cut to 500 characters", async () => {
    server.handler = (_, response) => void response.writeHead(400, { "content-type": "text/plain" }).end(`bad\n\n  request ${"y".repeat(2_000)}`);
    const error = await rejectionOf(post()(actionContext()));
    const detail = error.message.slice(error.message.indexOf("bad request"));
    expect(detail.indexOf("…")).toBe(499);
  });

  it("does not follow a redirect: a terminal HTTP_302 that says where to point the url", async () => {
    server.handler = (_, response) => void response.writeHead(302, { location: "/v2/payments?x=1" }).end();
    const error = await rejectionOf(post()(actionContext()));
    expect(error).toBeInstanceOf(TerminalError);
    expect(httpCause(error).code).toBe("HTTP_302");
    expect(error.message).toContain(`point the url at ${server.url("/v2/payments")}`);
    expect(server.requests).toHaveLength(1);
  });
});

describe("transient failures are retried", () => {
  it.each([500, 502, 503, 504, 408, 429])("makes %i a RetryableError with code HTTP_<status>", async (status) => {
    server.handler = (_, response) => json(response, status, { error: "busy" });
    const error = await rejectionOf(post()(actionContext()));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).retryAfterMs).toBeUndefined();
    expect(httpCause(error)).toMatchObject({ code: `HTTP_${status}`, status, retryable: true });
    expect(error.message).toContain("retried while the step's retry policy allows");
  });

  it("honours a 429's Retry-After in seconds", async () => {
    server.handler = (_, response) => json(response, 429, {}, { "retry-after": "7" });
    const error = await rejectionOf(post()(actionContext()));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).retryAfterMs).toBe(7_000);
  });

  it("honours a 503's Retry-After as an HTTP-date", async () => {
    server.handler = (_, response) => json(response, 503, {}, { "retry-after": new Date(Date.now() + 30_000).toUTCString() });
    const error = (await rejectionOf(post()(actionContext()))) as RetryableError;
    expect(error).toBeInstanceOf(RetryableError);
    // The date has whole seconds, and a moment passes before it is read.
    expect(error.retryAfterMs).toBeGreaterThan(27_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it("ignores Retry-After on other statuses", async () => {
    server.handler = (_, response) => json(response, 500, {}, { "retry-after": "7" });
    expect(((await rejectionOf(post()(actionContext()))) as RetryableError).retryAfterMs).toBeUndefined();
  });

  it("reads Retry-After values: seconds, dates, the one-hour cap, the past and garbage", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("86400", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("Sat, 01 Jan 2028 00:00:00 GMT", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter("1.5", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("makes a connection failure a RetryableError HTTP_NETWORK that keeps fetch's error as the cause", async () => {
    const port = await closedPort();
    const error = await rejectionOf(httpAction({ method: "POST", url: `http://127.0.0.1:${port}/payments` })(actionContext()));
    expect(error).toBeInstanceOf(RetryableError);
    const cause = httpCause(error);
    expect(cause.code).toBe(HttpErrorCode.Network);
    expect(cause.cause).toBeInstanceOf(TypeError);
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("makes a connection the participant drops a RetryableError HTTP_NETWORK", async () => {
    server.handler = (_, response) => void response.socket?.destroy();
    const error = await rejectionOf(post()(actionContext()));
    expect(error).toBeInstanceOf(RetryableError);
    expect(httpCause(error).code).toBe(HttpErrorCode.Network);
  });

  it("gives up an attempt after the spec's timeoutMs: RetryableError HTTP_TIMEOUT", async () => {
    server.handler = hang;
    const started = performance.now();
    const error = await rejectionOf(httpAction({ method: "POST", url: server.url("/slow"), timeoutMs: 150 })(actionContext()));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(error).toBeInstanceOf(RetryableError);
    expect(httpCause(error).code).toBe(HttpErrorCode.Timeout);
    expect(error.message).toContain("within the spec's timeoutMs of 150 ms");
  });

  it("times out a response whose body stalls, not only one that never starts", async () => {
    server.handler = (_, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"partial":');
    };
    const error = await rejectionOf(httpAction({ method: "GET", url: server.url("/"), timeoutMs: 150 })(actionContext()));
    expect(httpCause(error).code).toBe(HttpErrorCode.Timeout);
  });
});

describe("which failures may have taken effect", () => {
  it.each([
    ["a timeout", hang, true],
    ["a 502 from a gateway", (_: unknown, response: Parameters<typeof json>[0]) => json(response, 502, {}), true],
    ["a 504 from a gateway", (_: unknown, response: Parameters<typeof json>[0]) => json(response, 504, {}), true],
    ["a 500 from the participant itself", (_: unknown, response: Parameters<typeof json>[0]) => json(response, 500, {}), false],
    ["a 429", (_: unknown, response: Parameters<typeof json>[0]) => json(response, 429, {}), false],
  ] as const)("marks %s outcomeUnknown=%s", async (_, handler, unknown) => {
    server.handler = handler;
    const error = await rejectionOf(httpAction({ method: "POST", url: server.url("/x"), timeoutMs: 100 })(actionContext()));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).outcomeUnknown).toBe(unknown);
  });

  it("marks a lost connection outcomeUnknown: the request may have been applied before it dropped", async () => {
    server.handler = (_, response) => void response.socket?.destroy();
    const error = await rejectionOf(post()(actionContext()));
    expect(httpCause(error).code).toBe(HttpErrorCode.Network);
    expect((error as RetryableError).outcomeUnknown).toBe(true);
  });
});

describe("the engine's abort (step timeout, shutdown)", () => {
  it("rethrows the step signal's reason, so the engine sees its own timeout", async () => {
    server.handler = hang;
    const controller = new AbortController();
    const reason = new StepTimeoutError("ReservePayment", 1, 100);
    setTimeout(() => controller.abort(reason), 50);
    const error = await rejectionOf(httpAction({ method: "POST", url: server.url("/") })(actionContext({ signal: controller.signal })));
    expect(error).toBe(reason);
    expect(server.requests).toHaveLength(1);
  });

  it("does not send at all when the signal is already aborted", async () => {
    const reason = new Error("worker shutting down");
    const error = await rejectionOf(post()(actionContext({ signal: AbortSignal.abort(reason) })));
    expect(error).toBe(reason);
    expect(server.requests).toHaveLength(0);
  });

  it("leaves no listener on the step's signal once an attempt ends", async () => {
    const signal = new AbortController().signal;
    const add = vi.spyOn(signal, "addEventListener");
    const remove = vi.spyOn(signal, "removeEventListener");
    await post()(actionContext({ signal }));
    server.handler = (_, response) => json(response, 500, {});
    await rejectionOf(post()(actionContext({ signal })));
    expect(add).toHaveBeenCalledTimes(2);
    expect(remove.mock.calls.map((call) => call[1])).toEqual(add.mock.calls.map((call) => call[1]));
  });
});
