import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator } from "../../src/index.js";
import { httpAction, httpCompensation, httpErrorCodeOf } from "../../src/http-participants/index.js";
import { createMemoryStore } from "../../src/testing/index.js";
import { json, TestServer, type RecordedRequest } from "./test-server.js";

const server = TestServer.forFile();
const open: Orchestrator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((orchestrator) => orchestrator.close(1_000)));
});

const fast = { initialDelayMs: 1, maxDelayMs: 5 };

/** Payment then inventory, both remote; the payment is released over HTTP when inventory refuses. */
function orderSaga() {
  return defineSaga<{ orderId: string; amountCents: number; sku: string }>({ name: "http-order", version: 1 })
    .step("ReservePayment", {
      action: httpAction<{ paymentId: string }>({
        method: "POST",
        url: server.url("/payments"),
        body: { orderId: "{{ input.orderId }}", amountCents: "{{ input.amountCents }}" },
      }),
      compensate: httpCompensation({ method: "DELETE", url: server.url("/payments/{{ output.paymentId }}"), okStatuses: [404] }),
      retry: { ...fast, maxAttempts: 3 },
      compensationRetry: { ...fast, maxAttempts: 3 },
    })
    .step("ReserveInventory", {
      action: httpAction({
        method: "POST",
        url: server.url("/inventory/{{ input.sku }}/reservations"),
        headers: { "X-Attempt": "{{ attempt }}" },
        body: { paymentId: "{{ steps.ReservePayment.output.paymentId }}" },
      }),
      retry: { ...fast, maxAttempts: 3 },
    })
    .build();
}

async function run(inventory: (request: RecordedRequest, attempt: number) => { status: number; body: unknown }) {
  let inventoryCalls = 0;
  server.handler = (request, response) => {
    if (request.method === "POST" && request.url === "/payments") return json(response, 201, { paymentId: "pay-1" });
    if (request.method === "DELETE" && request.url === "/payments/pay-1") return void response.writeHead(204).end();
    if (request.method === "POST" && request.url === "/inventory/BOOK-1/reservations") {
      const { status, body } = inventory(request, ++inventoryCalls);
      return json(response, status, body);
    }
    return json(response, 404, { detail: `no route ${request.method} ${request.url}` });
  };
  const saga = orderSaga();
  const orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [saga], pollIntervalMs: 20, leaseMs: 2_000 });
  open.push(orchestrator);
  const { id } = await orchestrator.start(saga, { orderId: "order-1", amountCents: 4200, sku: "BOOK-1" });
  return { id, state: await orchestrator.waitFor(id, 10_000) };
}

const calls = () => server.requests.map((request) => `${request.method} ${request.url} key=${String(request.headers["idempotency-key"])}`);

describe("a saga of HTTP steps, run by the Orchestrator", () => {
  it("completes, each step's output coming from its response and feeding the next step", async () => {
    const { id, state } = await run(() => ({ status: 201, body: { reservationId: "res-1" } }));
    expect(state.status).toBe("completed");
    expect(state.steps.map((step) => step.output)).toEqual([{ paymentId: "pay-1" }, { reservationId: "res-1" }]);
    expect(calls()).toEqual([`POST /payments key=${id}:ReservePayment`, `POST /inventory/BOOK-1/reservations key=${id}:ReserveInventory`]);
    expect(JSON.parse(server.requests[1]?.body ?? "null")).toEqual({ paymentId: "pay-1" });
  });

  it("compensates step 1 over HTTP, with its compensation key, when step 2 is refused with a 409", async () => {
    const { id, state } = await run(() => ({ status: 409, body: { detail: "BOOK-1 is out of stock" } }));
    expect(state.status).toBe("compensated");
    // A 4xx is not retried: one inventory call, then the release.
    expect(calls()).toEqual([
      `POST /payments key=${id}:ReservePayment`,
      `POST /inventory/BOOK-1/reservations key=${id}:ReserveInventory`,
      `DELETE /payments/pay-1 key=${id}:ReservePayment:compensate`,
    ]);
    const failure = state.steps[1]?.action;
    expect(failure).toMatchObject({ status: "failed", failures: 1 });
    expect(failure?.lastError).toMatchObject({ name: "TerminalError", code: "TERMINAL", cause: { name: "HttpCallError", code: "HTTP_409" } });
    expect(httpErrorCodeOf(failure?.lastError)).toBe("HTTP_409");
    expect(failure?.lastError?.message).toContain("BOOK-1 is out of stock");
    expect(state.steps[0]?.compensation.status).toBe("succeeded");
  });

  it("retries a 503 and completes on the 200 that follows, with the same key on both attempts", async () => {
    const { id, state } = await run((_, attempt) => (attempt === 1 ? { status: 503, body: { error: "warming up" } } : { status: 200, body: { reservationId: "res-2" } }));
    expect(state.status).toBe("completed");
    expect(state.steps[1]?.output).toEqual({ reservationId: "res-2" });
    const inventory = server.requests.filter((request) => request.url.startsWith("/inventory/"));
    expect(inventory.map((request) => request.headers["idempotency-key"])).toEqual([`${id}:ReserveInventory`, `${id}:ReserveInventory`]);
    expect(inventory.map((request) => request.headers["x-attempt"])).toEqual(["1", "2"]);
    expect(state.steps[1]?.action).toMatchObject({ status: "succeeded", failures: 1, attempt: 2 });
    expect(httpErrorCodeOf(state.steps[1]?.action.lastError)).toBe("HTTP_503");
  });
});
