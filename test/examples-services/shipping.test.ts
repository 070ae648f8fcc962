import { describe, expect, it } from "vitest";
import { expectProblem, post, readLedger, useServiceApps } from "./service-fixtures.js";

const shipment = { orderId: "order-123", paymentId: "pay_1", stockReservationId: "stk_1", address: { city: "Berlin", country: "DE" } };

describe("shipping service", () => {
  const apps = useServiceApps();

  it("books a shipment: 201 with its id, booked once in the ledger", async () => {
    const app = await apps.open("shipping");
    const res = await post(app, "/shipments", shipment, "saga-1:ShipOrder");
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ shipmentId: expect.stringMatching(/^shp_/) as string });
    expect((await readLedger(app)).orders).toEqual([{ orderId: "order-123", status: "created", bookings: 1, replays: 0 }]);
  });

  it("books once for a repeated Idempotency-Key and answers the same", async () => {
    const app = await apps.open("shipping");
    const first = await post(app, "/shipments", shipment, "saga-1:ShipOrder");
    const second = await post(app, "/shipments", shipment, "saga-1:ShipOrder");
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect((await readLedger(app)).orders).toEqual([{ orderId: "order-123", status: "created", bookings: 1, replays: 1 }]);
  });

  it("refuses an address it does not serve with 422 problem+json, a permanent failure", async () => {
    const app = await apps.open("shipping");
    const res = await post(app, "/shipments", { ...shipment, address: { city: "McMurdo Station", country: "AQ" } }, "saga-1:ShipOrder");
    expect(expectProblem(res, 422, "ADDRESS_UNDELIVERABLE").detail).toContain("address undeliverable");
    expect((await readLedger(app)).orders).toEqual([{ orderId: "order-123", status: "none", bookings: 0, replays: 0 }]);
  });

  it("refuses a call without Idempotency-Key (400 naming the header) and books nothing", async () => {
    const app = await apps.open("shipping");
    expectProblem(await post(app, "/shipments", shipment, undefined), 400, "IDEMPOTENCY_KEY_REQUIRED", "headers.idempotency-key");
    expectProblem(await post(app, "/shipments/cancel", { orderId: "order-123" }, undefined), 400, "IDEMPOTENCY_KEY_REQUIRED", "headers.idempotency-key");
    expect((await readLedger(app)).orders).toEqual([]);
  });

  it.each([
    ["no country", { ...shipment, address: { city: "Berlin" } }, "body.address.country"],
    ["a country that is not ISO alpha-2", { ...shipment, address: { city: "Berlin", country: "Germany" } }, "body.address.country"],
    ["no stock reservation id", { orderId: "order-123", paymentId: "pay_1", address: shipment.address }, "body.stockReservationId"],
    ["a numeric payment id", { ...shipment, paymentId: 7 }, "body.paymentId"],
  ])("refuses a body with %s: 400 naming the field", async (_, body, field) => {
    const app = await apps.open("shipping");
    expectProblem(await post(app, "/shipments", body, "saga-1:ShipOrder"), 400, "VALIDATION_FAILED", field);
  });

  it("cancels idempotently: a repeat replays, a new key finds nothing left to cancel", async () => {
    const app = await apps.open("shipping");
    await post(app, "/shipments", shipment, "saga-1:ShipOrder");
    const key = "saga-1:ShipOrder:compensate";
    const first = await post(app, "/shipments/cancel", { orderId: "order-123" }, key);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ cancelled: true });
    expect((await post(app, "/shipments/cancel", { orderId: "order-123" }, key)).json()).toEqual({ cancelled: true });
    expect((await post(app, "/shipments/cancel", { orderId: "order-123" }, "saga-9:ShipOrder:compensate")).json()).toEqual({ cancelled: false });
    expect((await readLedger(app)).orders).toEqual([{ orderId: "order-123", status: "cancelled", bookings: 1, replays: 1 }]);
  });

  it("answers a cancel for a shipment never booked with 200 cancelled:false, not 404", async () => {
    const app = await apps.open("shipping");
    const res = await post(app, "/shipments/cancel", { orderId: "order-404" }, "saga-1:ShipOrder:compensate");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ cancelled: false });
  });
});
