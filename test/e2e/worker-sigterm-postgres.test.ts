/**
 * A long-lived worker on PostgreSQL stopped by SIGTERM while its sagas are mid-step: it exits 0
 * within its grace time, gives back the leases of what it had to abort (the next worker does not
 * wait for them to expire), and a second worker finishes everything with the participants' books
 * consistent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ListItemView } from "../../src/cli/views.js";
import { INITIAL_STOCK } from "../../src/examples/order/participant-db.js";
import type { LedgerEntry } from "../../src/examples/order/ledger.js";
import { collect, runCli, runCliJson, spawnCli } from "../support/cli-process.js";
import { checkLedgerAgainstStatuses, waitFor } from "../support/fleet-checks.js";
import { createTestSchema, withClient, type TestSchema } from "../support/postgres.js";

const ORDERS = 24;
const STEP_DELAY_MS = 1_500;
const GRACE_MS = 2_000;
// Far longer than the test may take: the second worker can only finish in time if the first gave its leases back.
const LEASE_MS = 120_000;

let schema: TestSchema;
beforeAll(async () => {
  schema = await createTestSchema("sigterm");
});
afterAll(async () => {
  await schema.drop();
});

/** Participant calls that took effect or were replayed so far. */
async function participantCalls(): Promise<number> {
  return withClient(schema.url, async (client) => {
    const { rows } = await client.query<{ n: number }>(`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM "${schema.schema}".demo_idempotency`);
    return rows[0]?.n ?? 0;
  });
}

describe("sagaflow worker on PostgreSQL and SIGTERM", () => {
  it("exits 0 within the grace time, releases what it aborted, and a second worker finishes the rest", async () => {
    const db = ["--db", schema.url, "--schema", schema.schema];
    const enqueued = await runCli(["demo", ...db, "--orders", String(ORDERS), "--failure-rate", "0.3", "--seed", "9", "--enqueue-only"]);
    expect(enqueued.code, enqueued.stderr).toBe(0);

    const child = spawnCli([
      "worker", ...db, "--name", "w-term", "--concurrency", "8", "--step-delay-ms", String(STEP_DELAY_MS),
      "--grace-ms", String(GRACE_MS), "--lease-ms", String(LEASE_MS), "--poll-ms", "200",
    ]);
    const exited = collect(child);
    // Strike once the first steps have taken effect, so that sagas are between or inside steps.
    await waitFor(async () => (await participantCalls()) > 0 || child.exitCode !== null, 30_000, "the worker's first participant call");
    expect(child.exitCode).toBeNull();
    const signalledAt = Date.now();
    child.kill("SIGTERM");
    const result = await exited;
    const tookMs = Date.now() - signalledAt;

    expect(result.code, `${String(result.signal)} ${result.stderr}`).toBe(0);
    expect(tookMs, "exit after SIGTERM").toBeLessThan(GRACE_MS + 3_000);
    const unfinished = Number(/^worker w-term stopped: (\d+) unfinished/m.exec(result.stdout)?.[1]);
    expect(unfinished, result.stdout).toBeGreaterThan(0);
    const stopLog = result.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((log) => log.msg === "worker stopped");
    expect(stopLog).toMatchObject({ workerId: "w-term", signal: "SIGTERM" });

    const finisher = await runCli(["worker", ...db, "--name", "w-finish", "--until-idle", "--poll-ms", "200"]);
    expect(finisher.code, finisher.stderr).toBe(0);
    expect(finisher.stdout).toMatch(/^worker w-finish stopped: 0 unfinished/m);

    // Sagas the first worker held mid-run were finished by the second, long before their leases
    // would have expired: the first gave them back when it stopped.
    const handedOver = await withClient(schema.url, async (client) => {
      const events = `"${schema.schema}".saga_history`;
      const { rows } = await client.query<{ n: number }>(
        `SELECT CAST(COUNT(DISTINCT a.saga_id) AS INTEGER) AS n FROM ${events} a JOIN ${events} b ON b.saga_id = a.saga_id
         WHERE a.worker_id = 'w-term' AND b.worker_id = 'w-finish'`,
      );
      return rows[0]?.n ?? 0;
    });
    expect(handedOver).toBeGreaterThan(0);

    const sagas = await runCliJson<ListItemView[]>(["list", ...db, "--json", "--limit", "1000"]);
    const ledger = await runCliJson<LedgerEntry[]>(["demo", "ledger", ...db, "--json"]);
    expect(sagas).toHaveLength(ORDERS);
    expect(ledger).toHaveLength(ORDERS);
    expect(checkLedgerAgainstStatuses(ledger, new Map(sagas.map((saga) => [saga.idempotencyKey ?? "", saga.status])))).toEqual([]);
    for (const entry of ledger) expect(Object.values(entry.bookings).every((n) => n <= 1), entry.orderId).toBe(true);

    // Stock moved exactly once per booking: an aborted attempt re-run by the second worker did not take it twice.
    const stock = await withClient(schema.url, async (client) => {
      const s = `"${schema.schema}"`;
      const { rows } = await client.query<{ sku: string; available: number; held: number }>(
        `SELECT st.sku, st.available, CAST(COALESCE(SUM(r.quantity) FILTER (WHERE r.status = 'reserved'), 0) AS INTEGER) AS held
         FROM ${s}.demo_stock st LEFT JOIN ${s}.demo_stock_reservations r ON r.sku = st.sku GROUP BY st.sku, st.available`,
      );
      return rows;
    });
    for (const { sku, available, held } of stock) expect(available + held, sku).toBe(INITIAL_STOCK[sku]);
  }, 90_000);
});
