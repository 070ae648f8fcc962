import { describe, expect, it } from "vitest";
import { expectProblem, post, readLedger, useServiceApps } from "./service-fixtures.js";

const order = { orderId: "order-123", customerId: "customer-1", amountCents: 4_990, paymentMethod: "card" };

describe("payments service", () => {
  const apps = useServiceApps();

  it("reserves a payment: 201 with the reservation, booked once in the ledger", async () => {
    const app = await apps.open("payments");
    const res = await post(app, "/payments", order, "saga-1:ReservePayment");
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ paymentId: expect.stringMatching(/^pay_/) as string, amountCents: 4_990 });
    expect((await readLedger(app)).orders).toEqual([{ orderId: "order-123", status: "reserved", bookings: 1, replays: 0 }]);
  });

  it("refuses a release on hold with 423 without recording it, so the same call goes through once the hold is lifted", async () => {
    const app = await apps.open("payments");
    await post(app, "/payments", order, "saga-1:ReservePayment");
    expect((await post(app, "/admin/holds", { orderId: "order-123", reason: "fraud check" }, undefined)).statusCode).toBe(201);
    const refused = expectProblem(await post(app, "/payments/release", { orderId: "order-123" }, "saga-1:ReservePayment:compensate"), 423, "RELEASE_ON_HOLD");
    expect(refused.detail).toContain("fraud check");
    expect((await readLedger(app)).orders[0]?.status).toBe("reserved");
    const lifted = await app.inject({ method: "DELETE", url: "/admin/holds/order-123" });
    expect(lifted.json()).toEqual({ orderId: "order-123", lifted: true });
    const released = await post(app, "/payments/release", { orderId: "order-123" }, "saga-1:ReservePayment:compensate");
    expect(released.statusCode).toBe(200);
    expect(released.json()).toEqual({ released: true });
    expect((await readLedger(app)).orders[0]).toMatchObject({ status: "released", replays: 0 });
  });

  it("takes effect once for a repeated Idempotency-Key and answers the same", async () => {
    const app = await apps.open("payments");
    const first = await post(app, "/payments", order, "saga-1:ReservePayment");
    const second = await post(app, "/payments", order, "saga-1:ReservePayment");
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect((await readLedger(app)).orders).toEqual([{ orderId: "order-123", status: "reserved", bookings: 1, replays: 1 }]);
  });

  it("refuses a call without Idempotency-Key (400 naming the header) and books nothing", async () => {
    const app = await apps.open("payments");
    const body = expectProblem(await post(app, "/payments", order, undefined), 400, "IDEMPOTENCY_KEY_REQUIRED", "headers.idempotency-key");
    expect(body.detail).toContain("Idempotency-Key");
    expectProblem(await post(app, "/payments/release", { orderId: "order-123" }, undefined), 400, "IDEMPOTENCY_KEY_REQUIRED", "headers.idempotency-key");
    expectProblem(await post(app, "/payments", order, "k".repeat(256)), 400, "IDEMPOTENCY_KEY_REQUIRED", "headers.idempotency-key");
    expect((await readLedger(app)).orders).toEqual([]);
  });

  it.each([
    ["a string amount", { ...order, amountCents: "4990" }, "body.amountCents"],
    ["a zero amount", { ...order, amountCents: 0 }, "body.amountCents"],
    ["no customer", { orderId: "order-123", amountCents: 1, paymentMethod: "card" }, "body.customerId"],
    ["an unknown method", { ...order, paymentMethod: "cash" }, "body.paymentMethod"],
    ["an unknown property", { ...order, coupon: "FREE" }, "body.coupon"],
  ])("refuses a body with %s: 400 naming the field", async (_, body, field) => {
    const app = await apps.open("payments");
    expectProblem(await post(app, "/payments", body, "saga-1:ReservePayment"), 400, "VALIDATION_FAILED", field);
    expect((await readLedger(app)).orders).toEqual([]);
  });

  it("refuses a second reservation of the same order under another key: 409, permanent", async () => {
    const app = await apps.open("payments");
    expect((await post(app, "/payments", order, "saga-1:ReservePayment")).statusCode).toBe(201);
    expectProblem(await post(app, "/payments", order, "saga-2:ReservePayment"), 409, "PAYMENT_ALREADY_RESERVED");
    expect((await readLedger(app)).orders[0]?.bookings).toBe(1);
  });

  it("refuses a key already used for another call (422) instead of answering with that call's outcome", async () => {
    const app = await apps.open("payments");
    await post(app, "/payments", order, "saga-1:ReservePayment");
    expectProblem(await post(app, "/payments/release", { orderId: "order-123" }, "saga-1:ReservePayment"), 422, "IDEMPOTENCY_KEY_REUSED", "headers.idempotency-key");
    expectProblem(await post(app, "/payments", { ...order, orderId: "order-456" }, "saga-1:ReservePayment"), 422, "IDEMPOTENCY_KEY_REUSED");
    expect((await readLedger(app)).orders).toEqual([{ orderId: "order-123", status: "reserved", bookings: 1, replays: 0 }]);
  });

  it("releases idempotently: a repeat replays, a new key finds nothing left to release", async () => {
    const app = await apps.open("payments");
    const { paymentId } = (await post(app, "/payments", order, "saga-1:ReservePayment")).json<{ paymentId: string }>();
    const release = { orderId: "order-123", paymentId };
    const first = await post(app, "/payments/release", release, "saga-1:ReservePayment:compensate");
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ released: true });
    const again = await post(app, "/payments/release", release, "saga-1:ReservePayment:compensate");
    expect(again.json()).toEqual({ released: true });
    expect((await post(app, "/payments/release", release, "saga-9:ReservePayment:compensate")).json()).toEqual({ released: false });
    expect((await readLedger(app)).orders).toEqual([{ orderId: "order-123", status: "released", bookings: 1, replays: 1 }]);
  });

  it("releases by order when the payment id was never learned (paymentId null)", async () => {
    const app = await apps.open("payments");
    await post(app, "/payments", order, "saga-1:ReservePayment");
    const res = await post(app, "/payments/release", { orderId: "order-123", paymentId: null }, "saga-1:ReservePayment:compensate");
    expect(res.json()).toEqual({ released: true });
    expect((await readLedger(app)).orders[0]?.status).toBe("released");
  });

  it("answers the bank-transfer gateway's transient refusal with 503, and the retry releases", async () => {
    const app = await apps.open("payments");
    await post(app, "/payments", { ...order, paymentMethod: "bank-transfer" }, "saga-1:ReservePayment");
    const key = "saga-1:ReservePayment:compensate";
    expectProblem(await post(app, "/payments/release", { orderId: "order-123" }, key), 503, "RETRYABLE");
    expect((await readLedger(app)).orders[0]?.status).toBe("reserved");
    const retry = await post(app, "/payments/release", { orderId: "order-123" }, key);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({ released: true });
  });
});
