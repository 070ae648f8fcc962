import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import { httpAction, httpCompensation, parseHttpCallSpec, type HttpCallSpec } from "../../src/http-participants/index.js";
import { thrownBy } from "./support.js";

const valid = { method: "POST", url: "https://payments.test/orders/{{ input.orderId }}" };

function fieldOf(fn: () => unknown): string {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(InvalidArgumentError);
  return (error as InvalidArgumentError).field;
}

describe("parseHttpCallSpec: refuses malformed specs, naming the exact field", () => {
  const cases: Array<{ name: string; spec: unknown; field: string }> = [
    { name: "a spec that is not an object", spec: "POST /x", field: "steps[0].action" },
    { name: "an array", spec: [valid], field: "steps[0].action" },
    { name: "an unknown field (a typo)", spec: { ...valid, timeout: 5 }, field: "steps[0].action.timeout" },
    { name: "a missing method", spec: { url: valid.url }, field: "steps[0].action.method" },
    { name: "a lower-case method", spec: { ...valid, method: "post" }, field: "steps[0].action.method" },
    { name: "an unsupported method", spec: { ...valid, method: "HEAD" }, field: "steps[0].action.method" },
    { name: "a url that is not a string", spec: { ...valid, url: 7 }, field: "steps[0].action.url" },
    { name: "a url without a scheme", spec: { ...valid, url: "payments.test/x" }, field: "steps[0].action.url" },
    { name: "a url of another scheme", spec: { ...valid, url: "ftp://payments.test/x" }, field: "steps[0].action.url" },
    { name: "a url whose base is a placeholder (it would be percent-encoded)", spec: { ...valid, url: "{{ input.base }}/x" }, field: "steps[0].action.url" },
    { name: "a literal url that does not parse", spec: { ...valid, url: "http://exa mple.test/" }, field: "steps[0].action.url" },
    { name: "an unclosed placeholder", spec: { ...valid, url: "https://p.test/{{ input.id" }, field: "steps[0].action.url" },
    { name: "an empty placeholder", spec: { ...valid, url: "https://p.test/{{ }}" }, field: "steps[0].action.url" },
    { name: "an unknown root", spec: { ...valid, url: "https://p.test/{{ env.SECRET }}" }, field: "steps[0].action.url" },
    { name: "steps without .output", spec: { ...valid, url: "https://p.test/{{ steps.Reserve.id }}" }, field: "steps[0].action.url" },
    { name: "a bad path segment", spec: { ...valid, url: "https://p.test/{{ input.items[x] }}" }, field: "steps[0].action.url" },
    { name: "saga.<something else>", spec: { ...valid, url: "https://p.test/{{ saga.name }}" }, field: "steps[0].action.url" },
    { name: "attempt with a path after it", spec: { ...valid, url: "https://p.test/{{ attempt.x }}" }, field: "steps[0].action.url" },
    { name: "headers that are not an object", spec: { ...valid, headers: ["x"] }, field: "steps[0].action.headers" },
    { name: "a header value that is not a string", spec: { ...valid, headers: { "X-Tenant": 3 } }, field: "steps[0].action.headers.X-Tenant" },
    { name: "an invalid header name", spec: { ...valid, headers: { "X Tenant": "a" } }, field: 'steps[0].action.headers["X Tenant"]' },
    { name: "an Idempotency-Key header, in any case", spec: { ...valid, headers: { "idempotency-KEY": "mine" } }, field: "steps[0].action.headers.idempotency-KEY" },
    { name: "a Content-Length header", spec: { ...valid, headers: { "Content-Length": "3" } }, field: "steps[0].action.headers.Content-Length" },
    { name: "a header given twice in different case", spec: { ...valid, headers: { "X-A": "1", "x-a": "2" } }, field: "steps[0].action.headers.x-a" },
    { name: "a template error inside a header", spec: { ...valid, headers: { "X-Tenant": "{{ tenant }}" } }, field: "steps[0].action.headers.X-Tenant" },
    { name: "a body with GET", spec: { method: "GET", url: "https://p.test/x", body: {} }, field: "steps[0].action.body" },
    { name: "a body holding a function", spec: { ...valid, body: { amount: () => 1 } }, field: "steps[0].action.body.amount" },
    { name: "a body holding a non-finite number", spec: { ...valid, body: { items: [1, Number.NaN] } }, field: "steps[0].action.body.items[1]" },
    { name: "a body holding a Date", spec: { ...valid, body: { at: new Date(0) } }, field: "steps[0].action.body.at" },
    { name: "a template error deep in the body", spec: { ...valid, body: { lines: [{ sku: "{{ input.lines[0].sku" }] } }, field: "steps[0].action.body.lines[0].sku" },
    { name: "timeoutMs 0", spec: { ...valid, timeoutMs: 0 }, field: "steps[0].action.timeoutMs" },
    { name: "a fractional timeoutMs", spec: { ...valid, timeoutMs: 1.5 }, field: "steps[0].action.timeoutMs" },
    { name: "timeoutMs over an hour", spec: { ...valid, timeoutMs: 3_600_001 }, field: "steps[0].action.timeoutMs" },
    { name: "timeoutMs as a string", spec: { ...valid, timeoutMs: "10s" }, field: "steps[0].action.timeoutMs" },
    { name: "okStatuses that are not an array", spec: { ...valid, okStatuses: 404 }, field: "steps[0].action.okStatuses" },
    { name: "an okStatus below 100", spec: { ...valid, okStatuses: [404, 99] }, field: "steps[0].action.okStatuses[1]" },
    { name: "an okStatus above 599", spec: { ...valid, okStatuses: [600] }, field: "steps[0].action.okStatuses[0]" },
    { name: "an okStatus as a string", spec: { ...valid, okStatuses: ["404"] }, field: "steps[0].action.okStatuses[0]" },
  ];

  it.each(cases)("$name → $field", ({ spec, field }) => {
    expect(fieldOf(() => parseHttpCallSpec(spec, "steps[0].action"))).toBe(field);
  });

  it("says what it expected in the message, after the field", () => {
    const error = thrownBy(() => parseHttpCallSpec({ ...valid, okStatuses: [700] }, "steps[2].compensate"));
    expect(error.message).toBe("steps[2].compensate.okStatuses[0] must be an integer HTTP status from 100 to 599, got 700");
  });

  it("refuses {{ output }} in an action, which has no output of its own yet", () => {
    const spec = { method: "DELETE", url: "https://p.test/payments/{{ output.paymentId }}" };
    expect(fieldOf(() => parseHttpCallSpec(spec, "steps[0].action", "action"))).toBe("steps[0].action.url");
    expect(fieldOf(() => httpAction(spec as HttpCallSpec))).toBe("spec.url");
    // The same spec is fine where there is an output to read.
    expect(parseHttpCallSpec(spec, "steps[0].compensate", "compensation").url).toBe(spec.url);
    expect(typeof httpCompensation(spec as HttpCallSpec)).toBe("function");
  });

  it("httpAction and httpCompensation check their spec at once, under the field name spec", () => {
    expect(fieldOf(() => httpAction({ ...valid, method: "FETCH" } as unknown as HttpCallSpec))).toBe("spec.method");
    expect(fieldOf(() => httpCompensation({ ...valid, okStatuses: [1] } as HttpCallSpec))).toBe("spec.okStatuses[0]");
    expect(fieldOf(() => httpAction(valid as HttpCallSpec, { header: () => ({}) } as never))).toBe("options.header");
  });

  it("accepts a spec read from JSON text and returns a frozen copy, detached from the input", () => {
    const text = JSON.stringify({
      method: "PUT",
      url: "https://inventory.test/reservations/{{ steps.ReservePayment.output.id }}?sku={{ input.sku }}",
      headers: { "X-Tenant": "{{ input.tenant }}", Accept: "application/vnd.inventory+json" },
      body: { quantity: "{{ input.quantity }}", note: "for {{ saga.id }}", lines: [{ sku: "{{ input['sku'] }}" }], fixed: [1, true, null] },
      timeoutMs: 2_500,
      okStatuses: [409],
    });
    const data = JSON.parse(text) as Record<string, unknown>;
    const spec = parseHttpCallSpec(data, "steps[1].action", "action");
    expect(spec).toEqual(data);
    expect(Object.isFrozen(spec)).toBe(true);
    expect(Object.isFrozen(spec.body)).toBe(true);
    (data.body as Record<string, unknown>).quantity = 99;
    expect((spec.body as Record<string, unknown>).quantity).toBe("{{ input.quantity }}");
  });

  it("keeps a __proto__ key in a body as data instead of changing the copy's prototype", () => {
    const spec = parseHttpCallSpec(JSON.parse('{"method":"POST","url":"https://p.test/","body":{"__proto__":{"polluted":true}}}'), "spec");
    expect(Object.getPrototypeOf(spec.body)).toBe(Object.prototype);
    expect(Object.keys(spec.body as object)).toEqual(["__proto__"]);
  });
});
