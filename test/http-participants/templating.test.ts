import { describe, expect, it } from "vitest";
import { RetryableError, TerminalError } from "../../src/errors.js";
import { httpAction, httpCompensation, HttpErrorCode, httpErrorCodeOf } from "../../src/http-participants/index.js";
import { actionContext, compensationContext, httpCause, rejectionOf } from "./support.js";
import { json, TestServer } from "./test-server.js";

const server = TestServer.forFile((_, response) => json(response, 200, { ok: true }));

function bodyOf(index = 0): unknown {
  const request = server.requests[index];
  if (request === undefined) throw new Error(`the server received no request #${index}`);
  return JSON.parse(request.body);
}

describe("templates in the url, headers and body", () => {
  it("percent-encodes substituted values in the url, leaving the written text alone", async () => {
    await httpAction({ method: "GET", url: server.url("/orders/{{ input.orderId }}/lines?customer={{ input.customer.id }}&tag={{ input.customer.tags[1] }}") })(actionContext());
    expect(server.requests[0]?.url).toBe("/orders/A%2FB%207/lines?customer=c-1&tag=eu");
  });

  it("substitutes headers as text, numbers included", async () => {
    await httpAction({ method: "GET", url: server.url("/"), headers: { "X-Order": "{{ input.orderId }}", "X-Amount": "cents={{ input.amountCents }}", "X-Attempt": "{{ attempt }}" } })(
      actionContext({ attempt: 3 }),
    );
    expect(server.requests[0]?.headers).toMatchObject({ "x-order": "A/B 7", "x-amount": "cents=4200", "x-attempt": "3" });
  });

  it("gives a body string that is exactly one placeholder the referenced value with its JSON type", async () => {
    await httpAction({
      method: "POST",
      url: server.url("/payments"),
      body: { amountCents: "{{ input.amountCents }}", customer: "{{ input.customer }}", tags: "{{input.customer.tags}}", attempt: "{{ attempt }}", fixed: [1, null, true] },
    })(actionContext());
    expect(bodyOf()).toEqual({ amountCents: 4200, customer: { id: "c-1", tags: ["vip", "eu"] }, tags: ["vip", "eu"], attempt: 1, fixed: [1, null, true] });
  });

  it("interpolates a body string with text around its placeholders", async () => {
    await httpAction({ method: "POST", url: server.url("/"), body: { note: "order {{ input.orderId }} for {{ input.amountCents }} cents (saga {{ saga.id }}, step {{ saga.step }})" } })(actionContext());
    expect(bodyOf()).toEqual({ note: "order A/B 7 for 4200 cents (saga saga-1, step ReservePayment)" });
  });

  it("reads the outputs of earlier steps, by name, with dotted or bracketed step names", async () => {
    const outputs = { ReservePayment: { paymentId: "pay-9", lines: [{ sku: "BOOK-1" }] }, "ship.v2": { label: "L-1" } };
    await httpAction({
      method: "POST",
      url: server.url("/reservations/{{ steps.ReservePayment.output.paymentId }}"),
      body: { sku: "{{ steps.ReservePayment.output.lines[0].sku }}", label: "{{ steps['ship.v2'].output.label }}", key: "{{ idempotencyKey }}" },
    })(actionContext({ step: "ReserveInventory", idempotencyKey: "saga-1:ReserveInventory", outputs }));
    expect(server.requests[0]?.url).toBe("/reservations/pay-9");
    expect(bodyOf()).toEqual({ sku: "BOOK-1", label: "L-1", key: "saga-1:ReserveInventory" });
  });

  it("lets a compensation read its own action's output", async () => {
    await httpCompensation({ method: "DELETE", url: server.url("/payments/{{ output.paymentId }}"), body: { reason: "saga {{ saga.id }} rolled back", original: "{{ output }}" } })(
      compensationContext({ paymentId: "pay-9" }),
    );
    expect(server.requests[0]).toMatchObject({ method: "DELETE", url: "/payments/pay-9" });
    expect(bodyOf()).toEqual({ reason: "saga saga-1 rolled back", original: { paymentId: "pay-9" } });
  });
});

describe("a reference that resolves to nothing is a configuration error: TerminalError HTTP_TEMPLATE, and no request", () => {
  const cases: Array<{ name: string; run: () => Promise<unknown>; field: string; says: string }> = [
    {
      name: "a missing input member in the body",
      run: () => httpAction({ method: "POST", url: server.url("/"), body: { amount: "{{ input.amount }}" } })(actionContext()),
      field: "body.amount",
      says: 'input has no member "amount"',
    },
    {
      name: "an index past the end of an array",
      run: () => httpAction({ method: "GET", url: server.url("/{{ input.customer.tags[5] }}") })(actionContext()),
      field: "url",
      says: "input.customer.tags has 2 items, so [5] is past its end",
    },
    {
      name: "a step that has no output (yet)",
      run: () => httpAction({ method: "GET", url: server.url("/{{ steps.ShipOrder.output.id }}") })(actionContext({ outputs: { ReservePayment: {} } })),
      field: "url",
      says: 'no earlier step of that name has succeeded (outputs available: ReservePayment)',
    },
    {
      name: "an object in the url",
      run: () => httpAction({ method: "GET", url: server.url("/{{ input.customer }}") })(actionContext()),
      field: "url",
      says: "is an object, but a URL can only take a string, number or boolean",
    },
    {
      name: "an array in a header",
      run: () => httpAction({ method: "GET", url: server.url("/"), headers: { "X-Tags": "{{ input.customer.tags }}" } })(actionContext()),
      field: "headers.X-Tags",
      says: "is an array, but a header can only take",
    },
    {
      name: "an object interpolated into body text",
      run: () => httpAction({ method: "POST", url: server.url("/"), body: { lines: [{ note: "for {{ input.customer }}" }] } })(actionContext()),
      field: "body.lines[0].note",
      says: "is an object, but text around it can only take",
    },
    {
      name: "a line break in a header value",
      run: () => httpAction({ method: "GET", url: server.url("/"), headers: { "X-Note": "{{ input.note }}" } })(actionContext({ input: { note: "a\r\nX-Admin: 1" } })),
      field: "headers.X-Note",
      says: "line break",
    },
    {
      name: "a compensation reading into the output of an action that left none",
      run: () => httpCompensation({ method: "DELETE", url: server.url("/payments/{{ output.paymentId }}") })(compensationContext(null)),
      field: "url",
      says: "the action's output is null",
    },
  ];

  it.each(cases)("$name", async ({ run, field, says }) => {
    const error = await rejectionOf(run());
    expect(error).toBeInstanceOf(TerminalError);
    expect(error).not.toBeInstanceOf(RetryableError);
    expect(httpCause(error).code).toBe(HttpErrorCode.Template);
    expect(httpErrorCodeOf(error)).toBe("HTTP_TEMPLATE");
    expect(error.message).toContain(`${field}: {{`);
    expect(error.message).toContain(says);
    expect(error.message).toContain("step ReservePayment (saga saga-1, attempt 1)");
    expect(server.requests).toHaveLength(0);
  });

  it("refuses a url whose substituted host makes it unparsable", async () => {
    const error = await rejectionOf(httpAction({ method: "GET", url: "http://{{ input.host }}/x" })(actionContext({ input: { host: "a b" } })));
    expect(error).toBeInstanceOf(TerminalError);
    expect(httpErrorCodeOf(error)).toBe("HTTP_TEMPLATE");
    expect(error.message).toContain("is not a valid URL");
  });
});
