import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import type { ListItemView } from "../../src/cli/views.js";
import { generateOrders } from "../../src/examples/order/order-generator.js";
import type { LedgerEntry } from "../../src/examples/order/ledger.js";
import { INITIAL_STOCK } from "../../src/examples/order/participant-db.js";
import { collect, runCli, runCliJson, spawnCli } from "../support/cli-process.js";

const ORDERS = 300;
const SEED = 7;
const MIN_KILLS = 3;

const dir = mkdtempSync(join(tmpdir(), "sagaflow-crash-"));
const db = join(dir, "crash.db");
const demoArgs = ["demo", "--db", db, "--orders", String(ORDERS), "--failure-rate", "0.3", "--step-delay-ms", "3", "--concurrency", "16", "--seed", String(SEED), "--lease-ms", "1000", "--quiet"];

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Participant calls so far (applied or replayed), read from the participants' own table; 0 before it exists. */
function participantCalls(): number {
  if (!existsSync(db)) return 0;
  const conn = new Database(db, { readonly: true });
  try {
    const row = conn.prepare<[], { calls: number }>("SELECT COUNT(*) + COALESCE(SUM(replays), 0) AS calls FROM demo_idempotency").get();
    return row?.calls ?? 0;
  } catch {
    return 0; // the tables are not created yet
  } finally {
    conn.close();
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await sleep(10);
  }
  return condition();
}

describe("crash recovery through the CLI", () => {
  it("finishes every order exactly once after repeated SIGKILLs, a restart and a worker", { timeout: 90_000 }, async () => {
    const kills: string[] = [];
    // Kill at a random moment once the run is doing work (its participants are being called):
    // a moment measured from spawn alone would often land in tsx's start-up or after the end.
    for (let round = 0; kills.length < MIN_KILLS + 1 && round < 12; round++) {
      const child = spawnCli(demoArgs);
      const exited = collect(child);
      const before = participantCalls();
      const working = await until(() => participantCalls() > before || child.exitCode !== null, 20_000);
      if (!working || child.exitCode !== null) {
        const result = await exited;
        expect(result.code, result.stderr).toBe(0);
        break; // it finished all orders before we got to kill it
      }
      const delayMs = Math.floor(Math.random() * 300);
      await sleep(delayMs);
      if (child.exitCode !== null) break;
      child.kill("SIGKILL");
      const result = await exited;
      if (result.signal !== "SIGKILL") {
        // It finished all its orders and exited in the moment between the check above and the kill.
        expect(result.code, result.stderr).toBe(0);
        break;
      }
      kills.push(`round ${round}: killed ${delayMs} ms after work began`);
    }
    expect(kills.length, kills.join("\n")).toBeGreaterThanOrEqual(MIN_KILLS);

    // The same command once more: its orders already exist, so it resumes them instead of adding any.
    const rerun = await runCli(demoArgs);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(new RegExp(`^orders\\s+${ORDERS} `, "m"));
    const worker = await runCli(["worker", "--db", db, "--until-idle", "--lease-ms", "1000"]);
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stdout).toMatch(/0 unfinished/);

    const ledger = await runCliJson<LedgerEntry[]>(["demo", "ledger", "--db", db, "--json"]);
    const sagas = await runCliJson<ListItemView[]>(["list", "--db", db, "--json", "--limit", "1000"]);
    expect(ledger).toHaveLength(ORDERS);
    expect(sagas).toHaveLength(ORDERS);

    const sagaByOrder = new Map(sagas.map((saga) => [saga.idempotencyKey, saga]));
    const planned = new Map(generateOrders({ count: ORDERS, failureRate: 0.3, seed: SEED }).map(({ order, planned: p }) => [order.orderId, p]));
    for (const entry of ledger) {
      const saga = sagaByOrder.get(entry.orderId);
      const where = `${entry.orderId}: ${JSON.stringify(entry)} / saga ${JSON.stringify(saga)}`;
      expect(entry.bookings.payments, where).toBeLessThanOrEqual(1);
      expect(entry.bookings.stock, where).toBeLessThanOrEqual(1);
      expect(entry.bookings.shipments, where).toBeLessThanOrEqual(1);
      if (planned.get(entry.orderId) === "complete") {
        expect(saga?.status, where).toBe("completed");
        expect([entry.payment, entry.stock, entry.shipment], where).toEqual(["reserved", "reserved", "created"]);
      } else {
        expect(saga?.status, where).toBe("compensated");
        expect(["released", "none"], where).toContain(entry.payment);
        expect(["released", "none"], where).toContain(entry.stock);
        expect(["cancelled", "none"], where).toContain(entry.shipment);
      }
    }
    expect(sagas.filter((saga) => saga.status !== "completed" && saga.status !== "compensated")).toEqual([]);

    // Stock moved exactly once per booking: a reservation or release applied twice would show here.
    const conn = new Database(db, { readonly: true });
    try {
      const stock = conn.prepare<[], { sku: string; available: number }>("SELECT sku, available FROM demo_stock").all();
      const held = conn
        .prepare<[], { sku: string; quantity: number }>("SELECT sku, SUM(quantity) AS quantity FROM demo_stock_reservations WHERE status = 'reserved' GROUP BY sku")
        .all();
      for (const { sku, available } of stock) {
        expect(available, sku).toBe((INITIAL_STOCK[sku] ?? 0) - (held.find((row) => row.sku === sku)?.quantity ?? 0));
      }
    } finally {
      conn.close();
    }

    // Recovery really happened: attempts were in flight when a kill came, and were run again.
    const recoveries = sagas.reduce((sum, saga) => sum + saga.recoveries, 0);
    expect(recoveries, kills.join("\n")).toBeGreaterThan(0);
  });
});
