import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RetryableError, TerminalError } from "../../src/errors.js";
import { generateOrders, ledger, openOrderServices, type OrderServicesHandle, type ParticipantTarget } from "../../src/examples/order/index.js";
import { createTestSchema } from "../support/postgres.js";

/** A fresh database for one test, and how to get rid of it. */
type Fresh = () => Promise<{ target: ParticipantTarget; cleanup: () => Promise<void> }>;

const sqlite: Fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), "sagaflow-participants-"));
  return Promise.resolve({ target: { kind: "sqlite", path: join(dir, "participants.db") }, cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) });
};
const postgres: Fresh = async () => {
  const schema = await createTestSchema("participants");
  return { target: { kind: "postgres", connectionString: schema.url, schema: schema.schema }, cleanup: () => schema.drop() };
};

let db: ParticipantTarget;
let cleanup: () => Promise<void>;
let handle: OrderServicesHandle;

const request = { orderId: "o-1", customerId: "c-1", amountCents: 500, method: "card" as const };

// The same behaviour, to the row, on both databases the participants support.
describe.each([
  ["SQLite", sqlite],
  ["PostgreSQL", postgres],
] as const)("the example participants on %s", (_name, fresh) => {
  beforeEach(async () => {
    ({ target: db, cleanup } = await fresh());
    handle = await openOrderServices(db);
  });

  afterEach(async () => {
    await handle.close();
    await cleanup();
  });

  it("apply a reservation once per idempotency key and count the replay", async () => {
    const { payment } = handle.services;
    const first = await payment.reserve(request, { idempotencyKey: "saga-1:ReservePayment" });
    const again = await payment.reserve(request, { idempotencyKey: "saga-1:ReservePayment" });
    expect(again).toEqual(first);
    expect(await ledger(db)).toEqual([
      { orderId: "o-1", payment: "reserved", stock: "none", shipment: "none", replays: 1, bookings: { payments: 1, stock: 0, shipments: 0 } },
    ]);
  });

  it("refuse a second reservation for the same order under another key", async () => {
    const { payment } = handle.services;
    await payment.reserve(request, { idempotencyKey: "saga-1:ReservePayment" });
    await expect(payment.reserve(request, { idempotencyKey: "saga-2:ReservePayment" })).rejects.toThrow(TerminalError);
    expect((await ledger(db))[0]?.bookings.payments).toBe(1);
  });

  it("fail for good on stock they do not have and on an address they do not serve, and replay those answers", async () => {
    const { inventory, shipping } = handle.services;
    const key = { idempotencyKey: "saga-1:ReserveInventory" };
    await expect(inventory.reserve("o-1", "SKU-DISCONTINUED", 1, key)).rejects.toThrow(new TerminalError("inventory unavailable"));
    await expect(inventory.reserve("o-1", "SKU-DISCONTINUED", 1, key)).rejects.toThrow(TerminalError);
    const shipment = { orderId: "o-2", paymentId: "p", stockReservationId: "s", address: { city: "McMurdo Station", country: "AQ" } };
    await expect(shipping.create(shipment, { idempotencyKey: "saga-2:ShipOrder" })).rejects.toThrow(new TerminalError("address undeliverable"));
    expect((await ledger(db)).map((entry) => [entry.orderId, entry.stock, entry.shipment, entry.replays])).toEqual([
      ["o-1", "none", "none", 1],
      ["o-2", "none", "none", 0],
    ]);
  });

  it("refuse a bank transfer's first release transiently, remembering it across a restart", async () => {
    const reservation = await handle.services.payment.reserve({ ...request, method: "bank-transfer" }, { idempotencyKey: "saga-1:ReservePayment" });
    const release = { idempotencyKey: "saga-1:ReservePayment:compensate" };
    await expect(handle.services.payment.release("o-1", reservation.paymentId, release)).rejects.toThrow(RetryableError);
    await handle.close();
    handle = await openOrderServices(db);
    await expect(handle.services.payment.release("o-1", reservation.paymentId, release)).resolves.toEqual({ released: true });
    await expect(handle.services.payment.release("o-1", reservation.paymentId, release)).resolves.toEqual({ released: true });
    expect((await ledger(db))[0]).toMatchObject({ payment: "released", replays: 1 });
  });

  it("put released stock back on the shelf once", async () => {
    const { inventory } = handle.services;
    await inventory.reserve("o-1", "SKU-MUG", 2, { idempotencyKey: "k:ReserveInventory" });
    const release = { idempotencyKey: "k:ReserveInventory:compensate" };
    await inventory.release("o-1", release);
    await inventory.release("o-1", release);
    expect((await ledger(db))[0]).toMatchObject({ stock: "released", replays: 1 });
  });

  it("do nothing when the call is aborted before it takes effect", async () => {
    const slow = await openOrderServices(db, { stepDelayMs: 5_000 });
    try {
      const controller = new AbortController();
      const call = slow.services.shipping.create(
        { orderId: "o-9", paymentId: "p", stockReservationId: "s", address: { city: "Berlin", country: "DE" } },
        { idempotencyKey: "k:ShipOrder", signal: controller.signal },
      );
      controller.abort(new Error("attempt timed out"));
      await expect(call).rejects.toThrow();
      expect(await ledger(db)).toEqual([]);
    } finally {
      await slow.close();
    }
  });
});

describe("generateOrders", () => {
  it("gives the same orders for the same seed and fails about the requested share", () => {
    const a = generateOrders({ count: 1_000, failureRate: 0.3, seed: 11 });
    expect(generateOrders({ count: 1_000, failureRate: 0.3, seed: 11 })).toEqual(a);
    expect(generateOrders({ count: 1_000, failureRate: 0.3, seed: 12 })).not.toEqual(a);
    expect(new Set(a.map(({ order }) => order.orderId)).size).toBe(1_000);
    const failing = a.filter(({ planned }) => planned !== "complete").length;
    expect(failing).toBeGreaterThan(240);
    expect(failing).toBeLessThan(360);
    expect(a.some(({ planned }) => planned === "inventory_failure")).toBe(true);
    expect(a.some(({ planned }) => planned === "shipping_failure")).toBe(true);
    expect(generateOrders({ count: 50, failureRate: 0, seed: 1 }).every(({ planned }) => planned === "complete")).toBe(true);
  });
});
