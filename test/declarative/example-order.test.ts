import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDeclarativeSaga, loadDefinitionsDirectory, parseDefinitionDocument } from "../../src/declarative/index.js";
import { SEED_ORDERS } from "../../src/examples/order/order-generator.js";
import { parseOrderInput } from "../../src/examples/order/order-input.js";
import { createOrderSaga, type OrderServices } from "../../src/examples/order/order-saga.js";
import { startParticipantService, type RunningParticipantService, type ServiceLedger } from "../../src/examples/services/index.js";
import { InvalidArgumentError, Orchestrator } from "../../src/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

const EXAMPLE_DIR = new URL("../../examples/order/", import.meta.url).pathname;
const EXAMPLE = join(EXAMPLE_DIR, "order-saga.yaml");
const document = parseDefinitionDocument(readFileSync(EXAMPLE, "utf8"), { source: "examples/order/order-saga.yaml" });
const placeholders = { PAYMENTS_URL: "http://payments.example", INVENTORY_URL: "http://inventory.example", SHIPPING_URL: "http://shipping.example" };

describe("examples/order/order-saga.yaml", () => {
  it("loads and builds into the seed's order saga: the same steps, policies and timeouts as createOrderSaga", () => {
    const saga = buildDeclarativeSaga(document, { variables: placeholders });
    // Only the plan is compared: the services are never called.
    const seed = createOrderSaga({} as OrderServices);
    expect(saga.plan).toEqual(seed.plan);
    expect(document.steps.map((step) => step.compensation?.http.url)).toEqual(["${PAYMENTS_URL}/payments/release", "${INVENTORY_URL}/reservations/release", "${SHIPPING_URL}/shipments/cancel"]);
  });

  it("is the only definition in its folder, which `sagaflow server --definitions examples/order` loads", async () => {
    const loaded = await loadDefinitionsDirectory(EXAMPLE_DIR, { variables: placeholders });
    expect(loaded.map((entry) => `${entry.definition.name}@${entry.definition.version}`)).toEqual(["order@1"]);
  });

  const inputs: { name: string; input: unknown }[] = [
    ...SEED_ORDERS.map((order) => ({ name: order.orderId, input: order })),
    { name: "bank transfer", input: { ...SEED_ORDERS[0], paymentMethod: "bank-transfer" } },
    { name: "no customer", input: { ...SEED_ORDERS[0], customerId: undefined } },
    { name: "empty sku", input: { ...SEED_ORDERS[0], sku: "" } },
    { name: "zero amount", input: { ...SEED_ORDERS[0], amountCents: 0 } },
    { name: "amount as text", input: { ...SEED_ORDERS[0], amountCents: "4990" } },
    { name: "unknown payment method", input: { ...SEED_ORDERS[0], paymentMethod: "cash" } },
    { name: "fractional quantity", input: { ...SEED_ORDERS[0], quantity: 1.5 } },
    { name: "no city", input: { ...SEED_ORDERS[0], address: { country: "DE" } } },
    { name: "address as text", input: { ...SEED_ORDERS[0], address: "Berlin" } },
    { name: "not an object", input: [] },
  ];

  it.each(inputs)("its input schema agrees with parseOrderInput: $name", ({ input }) => {
    const saga = buildDeclarativeSaga(document, { variables: placeholders });
    const outcome = (parse: (value: unknown) => unknown): string => {
      try {
        parse(JSON.parse(JSON.stringify(input)) as unknown);
        return "accepted";
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidArgumentError);
        return (error as InvalidArgumentError).field;
      }
    };
    expect(outcome((value) => saga.parseInput?.(value))).toBe(outcome(parseOrderInput));
  });
});

describe("examples/order/order-saga.yaml against the three example participant services", () => {
  let dir: string;
  let services: RunningParticipantService[];
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sagaflow-declarative-order-"));
    services = [];
    for (const service of ["payments", "inventory", "shipping"] as const) services.push(await startParticipantService({ service, dbPath: join(dir, `${service}.db`) }));
    const [payments, inventory, shipping] = services as [RunningParticipantService, RunningParticipantService, RunningParticipantService];
    const saga = buildDeclarativeSaga(document, { variables: { PAYMENTS_URL: payments.url, INVENTORY_URL: inventory.url, SHIPPING_URL: shipping.url } });
    orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [saga], pollIntervalMs: 20 });
  });

  afterAll(async () => {
    await orchestrator.close(2_000);
    await Promise.all(services.map((service) => service.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const ledger = async (service: RunningParticipantService, orderId: string): Promise<string | undefined> => {
    const body = (await (await fetch(`${service.url}/ledger`)).json()) as ServiceLedger;
    return body.orders.find((entry) => entry.orderId === orderId)?.status;
  };

  it("runs the seed's orders: order-123 completes, fail-inventory is refused by the warehouse and its payment released", async () => {
    const [payments, inventory, shipping] = services as [RunningParticipantService, RunningParticipantService, RunningParticipantService];
    const [happy, refused] = SEED_ORDERS as [(typeof SEED_ORDERS)[number], (typeof SEED_ORDERS)[number]];

    const completed = await orchestrator.waitFor((await orchestrator.start("order", happy, { idempotencyKey: happy.orderId })).id, 15_000);
    expect(completed.status).toBe("completed");
    expect(completed.steps.map((step) => Object.keys((step.output ?? {}) as object).sort())).toEqual([["amountCents", "paymentId"], ["quantity", "reservationId", "sku"], ["shipmentId"]]);
    expect([await ledger(payments, happy.orderId), await ledger(inventory, happy.orderId), await ledger(shipping, happy.orderId)]).toEqual(["reserved", "reserved", "created"]);

    const compensated = await orchestrator.waitFor((await orchestrator.start("order", refused, { idempotencyKey: refused.orderId })).id, 15_000);
    expect(compensated.status).toBe("compensated");
    expect(compensated.steps.map((step) => [step.name, step.action.status, step.compensation.status])).toEqual([
      ["ReservePayment", "succeeded", "succeeded"],
      ["ReserveInventory", "failed", "not_needed"],
      ["ShipOrder", "pending", "not_needed"],
    ]);
    expect(compensated.steps[1]?.action.lastError).toMatchObject({ cause: { code: "HTTP_409" } });
    expect(await ledger(payments, refused.orderId)).toBe("released");
    expect(await ledger(shipping, refused.orderId)).toBeUndefined();
  });
});
