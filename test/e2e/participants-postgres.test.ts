/**
 * The example participants under real concurrency on PostgreSQL: two handles with separate pools
 * stand in for two worker processes (every call runs on its own server connection), firing the
 * same calls at the same moment.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TerminalError } from "../../src/errors.js";
import { INITIAL_STOCK, ledger, openOrderServices, type OrderServicesHandle, type ParticipantTarget } from "../../src/examples/order/index.js";
import { createTestSchema, withClient, type TestSchema } from "../support/postgres.js";

const ROUNDS = 40;
const CALLS_PER_HANDLE = 3;

let schema: TestSchema;
let target: ParticipantTarget;
let a: OrderServicesHandle;
let b: OrderServicesHandle;

beforeAll(async () => {
  schema = await createTestSchema("participants_race");
  target = { kind: "postgres", connectionString: schema.url, schema: schema.schema };
  // Opened at once: table creation must survive two processes starting together too.
  [a, b] = await Promise.all([openOrderServices(target, { poolSize: 8 }), openOrderServices(target, { poolSize: 8 })]);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await schema.drop();
});

async function sql<Row>(text: string, params: unknown[] = []): Promise<Row[]> {
  return withClient(schema.url, async (client) => (await client.query(text.replaceAll("S.", `"${schema.schema}".`), params)).rows as Row[]);
}

describe("the example participants on PostgreSQL, called concurrently", () => {
  it("apply a reservation once per key when the same call arrives from two pools at once; the rest are replays", async () => {
    const [before] = await sql<{ available: number }>("SELECT available FROM S.demo_stock WHERE sku = 'SKU-MUG'");
    const rounds = Array.from({ length: ROUNDS }, async (_, round) => {
      const orderId = `race-${round}`;
      const call = { idempotencyKey: `saga-${round}:ReserveInventory` };
      const fire = (handle: OrderServicesHandle): Promise<unknown> => handle.services.inventory.reserve(orderId, "SKU-MUG", 2, call);
      const answers = await Promise.all(Array.from({ length: CALLS_PER_HANDLE }, () => [fire(a), fire(b)]).flat());
      // Every caller learns the one outcome, whichever pool applied it.
      expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    });
    await Promise.all(rounds);

    const entries = (await ledger(target)).filter((entry) => entry.orderId.startsWith("race-"));
    expect(entries).toHaveLength(ROUNDS);
    for (const entry of entries) {
      expect(entry).toMatchObject({ stock: "reserved", bookings: { stock: 1 }, replays: 2 * CALLS_PER_HANDLE - 1 });
    }
    const [after] = await sql<{ available: number }>("SELECT available FROM S.demo_stock WHERE sku = 'SKU-MUG'");
    expect((before?.available ?? 0) - (after?.available ?? 0)).toBe(2 * ROUNDS);
  });

  it("release reserved stock once when the same compensation arrives from both pools at once", async () => {
    const [before] = await sql<{ available: number }>("SELECT available FROM S.demo_stock WHERE sku = 'SKU-MUG'");
    await Promise.all(
      Array.from({ length: ROUNDS }, async (_, round) => {
        const call = { idempotencyKey: `saga-${round}:ReserveInventory:compensate` };
        const answers = await Promise.all([a, b, a, b].map((handle) => handle.services.inventory.release(`race-${round}`, call)));
        expect(answers).toEqual(Array(4).fill({ released: true }));
      }),
    );
    const [after] = await sql<{ available: number }>("SELECT available FROM S.demo_stock WHERE sku = 'SKU-MUG'");
    expect((after?.available ?? 0) - (before?.available ?? 0)).toBe(2 * ROUNDS);
    const released = await sql<{ n: number }>("SELECT CAST(COUNT(*) AS INTEGER) AS n FROM S.demo_stock_reservations WHERE order_id LIKE 'race-%' AND status = 'released'");
    expect(released[0]?.n).toBe(ROUNDS);
  });

  it("book one payment per key under concurrent duplicates", async () => {
    const calls = Array.from({ length: ROUNDS }, (_, round) => {
      const request = { orderId: `pay-${round}`, customerId: "c", amountCents: 100 + round, method: "card" as const };
      const call = { idempotencyKey: `saga-${round}:ReservePayment` };
      return Promise.all([a, b, a, b].map((handle) => handle.services.payment.reserve(request, call)));
    });
    for (const answers of await Promise.all(calls)) expect(new Set(answers.map((answer) => answer.paymentId)).size).toBe(1);
    const rows = await sql<{ order_id: string; n: number }>(
      "SELECT order_id, CAST(COUNT(*) AS INTEGER) AS n FROM S.demo_payments WHERE order_id LIKE 'pay-%' GROUP BY order_id",
    );
    expect(rows).toHaveLength(ROUNDS);
    expect(rows.every((row) => row.n === 1)).toBe(true);
  });

  it("never oversell: concurrent reservations of scarce stock from both pools take exactly what is there", async () => {
    const units = 15;
    const orders = 60;
    await sql("UPDATE S.demo_stock SET available = $1 WHERE sku = 'SKU-LAMP'", [units]);
    const outcomes = await Promise.all(
      Array.from({ length: orders }, (_, index) =>
        (index % 2 === 0 ? a : b).services.inventory
          .reserve(`scarce-${index}`, "SKU-LAMP", 1, { idempotencyKey: `scarce-${index}:ReserveInventory` })
          .then(
            () => "reserved" as const,
            (error: unknown) => {
              if (error instanceof TerminalError && error.message === "inventory unavailable") return "refused" as const;
              throw error;
            },
          ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === "reserved")).toHaveLength(units);
    expect(outcomes.filter((outcome) => outcome === "refused")).toHaveLength(orders - units);
    const [stock] = await sql<{ available: number }>("SELECT available FROM S.demo_stock WHERE sku = 'SKU-LAMP'");
    expect(stock?.available).toBe(0);
    const held = await sql<{ n: number }>("SELECT CAST(COUNT(*) AS INTEGER) AS n FROM S.demo_stock_reservations WHERE order_id LIKE 'scarce-%'");
    expect(held[0]?.n).toBe(units);
    // The other SKUs were seeded once, not once per handle that opened the tables.
    const [book] = await sql<{ available: number }>("SELECT available FROM S.demo_stock WHERE sku = 'SKU-BOOK'");
    expect(book?.available).toBe(INITIAL_STOCK["SKU-BOOK"]);
  });
});
