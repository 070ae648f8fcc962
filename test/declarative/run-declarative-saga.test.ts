import { afterEach, describe, expect, it } from "vitest";
import { buildDeclarativeSaga, definitionHash, parseDefinitionDocument, type DeclarativeDocument } from "../../src/declarative/index.js";
import { httpErrorCodeOf } from "../../src/http-participants/index.js";
import { InvalidArgumentError, Orchestrator, type SagaDefinition } from "../../src/index.js";
import { createMemoryStore } from "../../src/testing/index.js";
import { json, TestServer } from "../http-participants/test-server.js";
import { lines } from "./support.js";

const SHOP_YAML = lines(
  "name: shop",
  "version: 1",
  "input:",
  "  type: object",
  "  required: [orderId, amountCents]",
  "  properties: { orderId: { type: string, minLength: 1 }, amountCents: { type: integer, minimum: 1 } }",
  "steps:",
  "  - name: ReservePayment",
  "    action:",
  "      http:",
  "        method: POST",
  "        url: ${BASE_URL}/payments",
  '        headers: { Authorization: "Bearer ${API_TOKEN}" }',
  '        body: { orderId: "{{ input.orderId }}", amountCents: "{{ input.amountCents }}" }',
  "    compensation:",
  '      http: { method: POST, url: "${BASE_URL}/payments/release", body: { orderId: "{{ input.orderId }}", paymentId: "{{ output.paymentId }}" } }',
  "    retry: &fast { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 }",
  "    compensationRetry: *fast",
  "  - name: ReserveInventory",
  "    action:",
  "      http:",
  "        method: POST",
  '        url: "${BASE_URL}/orders/{{ input.orderId }}/reservations"',
  '        body: { paymentId: "{{ steps.ReservePayment.output.paymentId }}" }',
  "    retry: *fast",
);

const APPROVAL_YAML = lines(
  "name: approval",
  "version: 1",
  "steps:",
  "  - name: Hold",
  '    action: { http: { method: POST, url: "${BASE_URL}/holds", body: { trip: "{{ input.trip }}" } } }',
  '    compensation: { http: { method: POST, url: "${BASE_URL}/holds/release", body: { trip: "{{ input.trip }}" } } }',
  "  - name: ManagerApproval",
  "    wait: { timeoutMs: 60000 }",
  "  - name: Book",
  '    action: { http: { method: POST, url: "${BASE_URL}/bookings", body: { holdId: "{{ steps.Hold.output.holdId }}", approvedBy: "{{ steps.ManagerApproval.output.approvedBy }}" } } }',
);

const server = TestServer.forFile();
const opened: Orchestrator[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((orchestrator) => orchestrator.close(1_000)));
});

const variables = (): Record<string, string> => ({ BASE_URL: server.url(), API_TOKEN: "t0ken" });

async function orchestratorFor(definition: SagaDefinition<unknown>): Promise<Orchestrator> {
  const orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [definition], pollIntervalMs: 20, leaseMs: 2_000 });
  opened.push(orchestrator);
  return orchestrator;
}

/** Answers the shop's calls; the warehouse answers with `inventoryStatus`. */
function serveShop(inventoryStatus: number): void {
  server.handler = (request, response) => {
    if (request.url === "/payments") return json(response, 201, { paymentId: "pay-1" });
    if (request.url === "/payments/release") return json(response, 200, { released: true });
    if (request.url === "/orders/o-1/reservations") {
      return inventoryStatus < 300 ? json(response, inventoryStatus, { reservationId: "res-1" }) : json(response, inventoryStatus, { detail: "SKU-1 is out of stock" });
    }
    return json(response, 404, { detail: `no route ${request.method} ${request.url}` });
  };
}

const calls = (): string[] => server.requests.map((request) => `${request.method} ${request.url} ${String(request.headers["idempotency-key"])}`);

describe.each([
  ["YAML", (): DeclarativeDocument => parseDefinitionDocument(SHOP_YAML, { source: "shop.yaml" })],
  // The JSON a server stores and reads back: the YAML document's data, written out as JSON.
  ["JSON", (): DeclarativeDocument => parseDefinitionDocument(JSON.stringify(parseDefinitionDocument(SHOP_YAML), null, 2), { source: "shop.json" })],
] as const)("a %s document, built and run by the Orchestrator against a real HTTP server", (_format, load) => {
  it("completes: each call goes to the variable's URL with its header, and outputs feed later steps", async () => {
    serveShop(201);
    const saga = buildDeclarativeSaga(load(), { variables: variables() });
    const orchestrator = await orchestratorFor(saga);
    const { id } = await orchestrator.start(saga, { orderId: "o-1", amountCents: 4200 });
    const state = await orchestrator.waitFor(id, 10_000);
    expect(state.status).toBe("completed");
    expect(state.steps.map((step) => step.output)).toEqual([{ paymentId: "pay-1" }, { reservationId: "res-1" }]);
    expect(calls()).toEqual([`POST /payments ${id}:ReservePayment`, `POST /orders/o-1/reservations ${id}:ReserveInventory`]);
    expect(server.requests[0]?.headers.authorization).toBe("Bearer t0ken");
    expect(JSON.parse(server.requests[0]?.body ?? "null")).toEqual({ orderId: "o-1", amountCents: 4200 });
    expect(JSON.parse(server.requests[1]?.body ?? "null")).toEqual({ paymentId: "pay-1" });
  });

  it("compensates the payment over HTTP when the warehouse refuses with a 409", async () => {
    serveShop(409);
    const saga = buildDeclarativeSaga(load(), { variables: variables() });
    const orchestrator = await orchestratorFor(saga);
    const { id } = await orchestrator.start(saga, { orderId: "o-1", amountCents: 4200 });
    const state = await orchestrator.waitFor(id, 10_000);
    expect(state.status).toBe("compensated");
    // A 409 is not retried: one warehouse call, then the release with the compensation's key.
    expect(calls()).toEqual([`POST /payments ${id}:ReservePayment`, `POST /orders/o-1/reservations ${id}:ReserveInventory`, `POST /payments/release ${id}:ReservePayment:compensate`]);
    expect(JSON.parse(server.requests[2]?.body ?? "null")).toEqual({ orderId: "o-1", paymentId: "pay-1" });
    expect(httpErrorCodeOf(state.steps[1]?.action.lastError)).toBe("HTTP_409");
    expect(state.steps[0]?.compensation.status).toBe("succeeded");
  });

  it("checks the input against the document's schema before starting anything", async () => {
    const saga = buildDeclarativeSaga(load(), { variables: variables() });
    const orchestrator = await orchestratorFor(saga);
    const refused = await orchestrator.start(saga, { orderId: "o-1", amountCents: "4200" }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect(refused).toMatchObject({ field: "input.amountCents", message: 'input.amountCents must be an integer, got "4200"' });
    expect(server.requests).toEqual([]);
  });
});

describe("the input schema as parseInput", () => {
  const saga = (): SagaDefinition<unknown> => buildDeclarativeSaga(parseDefinitionDocument(SHOP_YAML), { variables: { BASE_URL: "http://shop.example", API_TOKEN: "x" } });
  const refusal = (input: unknown): InvalidArgumentError => {
    try {
      saga().parseInput?.(input);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      return error as InvalidArgumentError;
    }
    throw new Error("expected the input to be refused");
  };

  it.each([
    { input: { amountCents: 1 }, field: "input.orderId", message: "input.orderId is required" },
    { input: { orderId: "", amountCents: 1 }, field: "input.orderId", message: "input.orderId must be at least 1 character long" },
    { input: { orderId: "o-1", amountCents: 0 }, field: "input.amountCents", message: "input.amountCents must be ≥ 1, got 0" },
    { input: { orderId: "o-1", amountCents: 1.5 }, field: "input.amountCents", message: "input.amountCents must be an integer, got 1.5" },
    { input: "o-1", field: "input", message: 'input must be an object, got "o-1"' },
  ])("refuses $input naming $field", ({ input, field, message }) => {
    const error = refusal(input);
    expect(error.field).toBe(field);
    expect(error.message).toBe(message);
  });

  it("accepts a matching input and returns it unchanged (no coercion, no defaults)", () => {
    const input = { orderId: "o-1", amountCents: 4200, note: "extra fields are the schema's business" };
    expect(saga().parseInput?.(input)).toBe(input);
    expect(input).toEqual({ orderId: "o-1", amountCents: 4200, note: "extra fields are the schema's business" });
  });

  it("is absent when the document has no input schema", () => {
    const document = parseDefinitionDocument(APPROVAL_YAML);
    expect(buildDeclarativeSaga(document, { variables: { BASE_URL: "http://x.example" } }).parseInput).toBeUndefined();
  });
});

describe("a waiting step", () => {
  it("waits, holding no worker, until completeStep answers; the next call carries the answer", async () => {
    server.handler = (request, response) => {
      if (request.url === "/holds") return json(response, 201, { holdId: "h-1" });
      if (request.url === "/bookings") return json(response, 201, { bookingId: "b-1" });
      return json(response, 404, {});
    };
    const saga = buildDeclarativeSaga(parseDefinitionDocument(APPROVAL_YAML, { source: "approval.yaml" }), { variables: { BASE_URL: server.url() } });
    expect(saga.plan.steps.map((step) => [step.name, step.wait === true, step.timeoutMs, step.retry.maxAttempts])).toEqual([
      ["Hold", false, 0, 3],
      ["ManagerApproval", true, 60_000, 1],
      ["Book", false, 0, 3],
    ]);
    const orchestrator = await orchestratorFor(saga);
    const { id } = await orchestrator.start(saga, { trip: "rome" });
    await expect.poll(async () => (await orchestrator.get(id)).steps[1]?.action.status).toBe("running");
    expect(server.requests.map((request) => request.url)).toEqual(["/holds"]);
    await orchestrator.completeStep(id, "ManagerApproval", { approvedBy: "ana" }, { by: "ops:ana" });
    const state = await orchestrator.waitFor(id, 10_000);
    expect(state.status).toBe("completed");
    expect(server.requests.map((request) => request.url)).toEqual(["/holds", "/bookings"]);
    expect(JSON.parse(server.requests[1]?.body ?? "null")).toEqual({ holdId: "h-1", approvedBy: "ana" });
  });
});

describe("building", () => {
  it("gives the same plan from YAML and from its JSON, and the same hash", () => {
    const yaml = parseDefinitionDocument(SHOP_YAML);
    const json = parseDefinitionDocument(JSON.stringify(yaml));
    const vars = { BASE_URL: "http://shop.example", API_TOKEN: "x" };
    expect(buildDeclarativeSaga(json, { variables: vars }).plan).toEqual(buildDeclarativeSaga(yaml, { variables: vars }).plan);
    expect(definitionHash(json)).toBe(definitionHash(yaml));
  });

  it("keeps ${NAME} unresolved in the document, whatever the variables", () => {
    const document = parseDefinitionDocument(SHOP_YAML);
    buildDeclarativeSaga(document, { variables: { BASE_URL: "http://shop.example", API_TOKEN: "x" } });
    expect(document.steps[0]?.action?.http.url).toBe("${BASE_URL}/payments");
    expect(document.steps[0]?.action?.http.headers).toEqual({ Authorization: "Bearer ${API_TOKEN}" });
    expect(Object.isFrozen(document.steps[0]?.action?.http)).toBe(true);
  });

  it("passes every step option through to the plan", () => {
    const document = parseDefinitionDocument(
      lines(
        "name: options",
        "version: 3",
        "maxRecoveries: 4",
        "steps:",
        "  - name: A",
        "    action: { http: { method: PUT, url: https://a.example/x } }",
        "    compensation: { http: { method: DELETE, url: https://a.example/x, okStatuses: [404] } }",
        "    retry: { maxAttempts: 5, initialDelayMs: 7, multiplier: 3, maxDelayMs: 70, jitter: none, terminalErrors: [Nope] }",
        "    timeoutMs: 1500",
        "    compensationRetry: { maxAttempts: 9 }",
        "    compensationTimeoutMs: 2500",
        "    pivot: true",
        "    compensateOnFailure: true",
      ),
    );
    const saga = buildDeclarativeSaga(document);
    expect(saga.plan).toMatchObject({ name: "options", version: 3, maxRecoveries: 4 });
    expect(saga.plan.steps[0]).toEqual({
      name: "A",
      pivot: true,
      hasCompensation: true,
      compensateOnFailure: true,
      retry: { maxAttempts: 5, initialDelayMs: 7, multiplier: 3, maxDelayMs: 70, jitter: "none", terminalErrors: ["Nope"] },
      timeoutMs: 1500,
      compensationRetry: { maxAttempts: 9, initialDelayMs: 200, multiplier: 2, maxDelayMs: 30_000, jitter: "full", terminalErrors: [] },
      compensationTimeoutMs: 2500,
    });
  });
});

describe("declarative sleep steps", () => {
  const NAP_YAML = lines(
    "name: nap",
    "version: 1",
    "steps:",
    "  - name: cool-off",
    "    sleep: { durationMs: 150 }",
    "  - name: approval",
    "    wait: { event: approved }",
  );

  it("sleep as sleepStep does, holding no worker, and go on with the next step", async () => {
    const saga = buildDeclarativeSaga(parseDefinitionDocument(NAP_YAML), { variables: {} });
    expect(saga.plan.steps[0]?.sleep).toEqual({ kind: "duration", durationMs: 150 });
    const o = await Orchestrator.create({ store: createMemoryStore(), definitions: [saga], pollIntervalMs: 20 });
    try {
      const { id } = await o.start(saga, null);
      await o.signal(id, "approved", { by: "ops" });
      const final = await o.waitFor(id);
      expect(final.status).toBe("completed");
      expect((final.steps[0]?.output as { sleptUntilMs: number }).sleptUntilMs - final.createdAtMs).toBeGreaterThanOrEqual(150);
      expect(final.steps[1]?.output).toEqual({ by: "ops" });
    } finally {
      await o.close();
    }
  });

  it("refuses what a sleep step cannot take, naming the field and its line", () => {
    const text = lines("name: nap", "version: 1", "steps:", "  - name: cool-off", "    sleep: { durationMs: 150 }", "    retry: { maxAttempts: 2 }");
    const error = ((): unknown => {
      try {
        parseDefinitionDocument(text, { source: "nap.yaml" });
        return undefined;
      } catch (thrown) {
        return thrown;
      }
    })() as { issues: Array<{ field: string; line?: number; message: string }> } | undefined;
    expect(error?.issues).toHaveLength(1);
    expect(error?.issues[0]).toMatchObject({ field: "steps[0].retry", line: 6 });
    expect(error?.issues[0]?.message).toContain("does not apply to a sleep step");
  });
});
