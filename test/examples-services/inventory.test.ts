import { describe, expect, it } from "vitest";
import { SEED_ORDERS } from "../../src/examples/order/index.js";
import { expectProblem, post, readLedger, useServiceApps } from "./service-fixtures.js";

const line = { orderId: "order-123", sku: "SKU-BOOK", quantity: 3 };
const failInventory = SEED_ORDERS.find((order) => order.orderId === "fail-inventory");

describe("inventory service", () => {
  const apps = useServiceApps();

  it("reserves stock: 201 with the reservation, the units taken off the shelf", async () => {
    const app = await apps.open("inventory");
    const before = (await readLedger(app)).stock?.["SKU-BOOK"] ?? 0;
    const res = await post(app, "/reservations", line, "saga-1:ReserveInventory");
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ reservationId: expect.stringMatching(/^stk_/) as string, sku: "SKU-BOOK", quantity: 3 });
    const after = await readLedger(app);
    expect(after.stock?.["SKU-BOOK"]).toBe(before - 3);
    expect(after.orders).toEqual([{ orderId: "order-123", status: "reserved", bookings: 1, replays: 0 }]);
  });

  it("takes stock once for a repeated Idempotency-Key and answers the same", async () => {
    const app = await apps.open("inventory");
    const before = (await readLedger(app)).stock?.["SKU-BOOK"] ?? 0;
    const first = await post(app, "/reservations", line, "saga-1:ReserveInventory");
    const second = await post(app, "/reservations", line, "saga-1:ReserveInventory");
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    const after = await readLedger(app);
    expect(after.stock?.["SKU-BOOK"]).toBe(before - 3);
    expect(after.orders).toEqual([{ orderId: "order-123", status: "reserved", bookings: 1, replays: 1 }]);
  });

  it("refuses the seed's fail-inventory order with 409 problem+json, the same on a repeat, booking nothing", async () => {
    expect(failInventory).toBeDefined();
    const app = await apps.open("inventory");
    const body = { orderId: "fail-inventory", sku: failInventory?.sku, quantity: failInventory?.quantity };
    const refusal = expectProblem(await post(app, "/reservations", body, "saga-2:ReserveInventory"), 409, "INVENTORY_UNAVAILABLE");
    expect(refusal.detail).toContain("inventory unavailable");
    expect(refusal.detail).toContain("fail-inventory");
    expectProblem(await post(app, "/reservations", body, "saga-2:ReserveInventory"), 409, "INVENTORY_UNAVAILABLE");
    expect((await readLedger(app)).orders).toEqual([{ orderId: "fail-inventory", status: "none", bookings: 0, replays: 1 }]);
  });

  it.each([
    ["an unknown SKU", { ...line, sku: "SKU-NOPE" }],
    ["more than is on hand", { ...line, quantity: 2_000_000 }],
  ])("refuses %s with 409", async (_, body) => {
    const app = await apps.open("inventory");
    expectProblem(await post(app, "/reservations", body, "saga-1:ReserveInventory"), 409, "INVENTORY_UNAVAILABLE");
  });

  it("refuses a call without Idempotency-Key (400 naming the header) and takes nothing", async () => {
    const app = await apps.open("inventory");
    const before = await readLedger(app);
    expectProblem(await post(app, "/reservations", line, undefined), 400, "IDEMPOTENCY_KEY_REQUIRED", "headers.idempotency-key");
    expectProblem(await post(app, "/reservations/release", { orderId: "order-123" }, undefined), 400, "IDEMPOTENCY_KEY_REQUIRED", "headers.idempotency-key");
    expect(await readLedger(app)).toEqual(before);
  });

  it.each([
    ["a zero quantity", { ...line, quantity: 0 }, "body.quantity"],
    ["a fractional quantity", { ...line, quantity: 1.5 }, "body.quantity"],
    ["no SKU", { orderId: "order-123", quantity: 1 }, "body.sku"],
    ["an empty order id", { ...line, orderId: "" }, "body.orderId"],
  ])("refuses a body with %s: 400 naming the field", async (_, body, field) => {
    const app = await apps.open("inventory");
    expectProblem(await post(app, "/reservations", body, "saga-1:ReserveInventory"), 400, "VALIDATION_FAILED", field);
  });

  it("refuses a release body without an order id: 400 naming the field", async () => {
    const app = await apps.open("inventory");
    expectProblem(await post(app, "/reservations/release", {}, "saga-1:ReserveInventory:compensate"), 400, "VALIDATION_FAILED", "body.orderId");
  });

  it("releases idempotently: the stock goes back once, a new key finds nothing to release", async () => {
    const app = await apps.open("inventory");
    const before = (await readLedger(app)).stock?.["SKU-BOOK"];
    await post(app, "/reservations", line, "saga-1:ReserveInventory");
    const key = "saga-1:ReserveInventory:compensate";
    const first = await post(app, "/reservations/release", { orderId: "order-123" }, key);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ released: true });
    expect((await post(app, "/reservations/release", { orderId: "order-123" }, key)).json()).toEqual({ released: true });
    expect((await post(app, "/reservations/release", { orderId: "order-123" }, "saga-9:ReserveInventory:compensate")).json()).toEqual({ released: false });
    const after = await readLedger(app);
    expect(after.stock?.["SKU-BOOK"]).toBe(before);
    expect(after.orders).toEqual([{ orderId: "order-123", status: "released", bookings: 1, replays: 1 }]);
  });

  it("answers a release for an order it never reserved with 200 released:false, not 404", async () => {
    const app = await apps.open("inventory");
    const res = await post(app, "/reservations/release", { orderId: "fail-inventory" }, "saga-2:ReserveInventory:compensate");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ released: false });
  });
});
