import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { LedgerEntry } from "../../src/examples/order/ledger.js";
import type { ListItemView, ShowView } from "../../src/cli/views.js";
import { runCli, runCliJson } from "../support/cli-process.js";

// The seed's "Output Example", line for line.
const SEED_SUCCESS = [
  "=== Orchestrator Saga Example ===",
  "[Orchestrator] executing step: ReservePayment",
  "[Payment] reserving payment for order order-123",
  "[Orchestrator] executing step: ReserveInventory",
  "[Inventory] reserving inventory for order order-123",
  "[Orchestrator] executing step: ShipOrder",
  "[Shipping] creating shipment for order order-123",
  "[Orchestrator] saga completed successfully for order order-123",
  "Saga successful for order-123",
];
const SEED_FAILURE = [
  "[Orchestrator] executing step: ReservePayment",
  "[Payment] reserving payment for order fail-inventory",
  "[Orchestrator] executing step: ReserveInventory",
  "[Inventory] reserving inventory for order fail-inventory",
  "[Orchestrator] step ReserveInventory failed: inventory unavailable",
  "[Orchestrator] running compensating transactions...",
  "[Payment] compensating payment for order fail-inventory",
  "Saga ended with error (expected): saga failed at step ReserveInventory: inventory unavailable",
];

const cleanup: string[] = [];
afterAll(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sagaflow-cli-test-"));
  cleanup.push(dir);
  return dir;
}

/** Asserts that `expected` appear in `lines` in this order, each as a whole line. */
function expectInOrder(lines: readonly string[], expected: readonly string[]): void {
  let from = 0;
  for (const line of expected) {
    const at = lines.indexOf(line, from);
    expect(at, `missing (in order): ${line}\n--- output ---\n${lines.join("\n")}`).toBeGreaterThanOrEqual(0);
    from = at + 1;
  }
}

describe("sagaflow demo", () => {
  it("prints the seed's flow for both scenarios, and does so again on a second run", async () => {
    const paths: string[] = [];
    for (let run = 0; run < 2; run++) {
      const result = await runCli(["demo"]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const lines = result.stdout.split("\n");
      expectInOrder(lines, [...SEED_SUCCESS, "", ...SEED_FAILURE]);
      // The success flow is exactly the seed's, with nothing in between.
      expect(lines.slice(0, SEED_SUCCESS.length)).toEqual(SEED_SUCCESS);
      const path = /^Demo database: (.+)$/m.exec(result.stdout)?.[1];
      expect(path).toBeDefined();
      paths.push(path ?? "");
      cleanup.push(dirname(path ?? ""));
    }
    expect(paths[0]).not.toBe(paths[1]);
  });

  describe("on a given --db", () => {
    const db = join(tempDir(), "demo.db");
    let items: ListItemView[] = [];

    it("runs the scenarios and lists one completed and one compensated saga", async () => {
      const result = await runCli(["demo", "--db", db]);
      expect(result.code).toBe(0);
      items = await runCliJson<ListItemView[]>(["list", "--db", db, "--json"]);
      expect(items).toHaveLength(2);
      const byKey = new Map(items.map((item) => [item.idempotencyKey, item]));
      expect(byKey.get("order-123")).toMatchObject({ definition: "order", version: 1, status: "completed", currentStep: null, stop: null });
      expect(byKey.get("fail-inventory")).toMatchObject({
        status: "compensated",
        stop: { reason: "step_failed", step: "ReserveInventory", message: "inventory unavailable" },
      });
      for (const item of items) {
        expect(new Date(item.startedAt).toISOString()).toBe(item.startedAt);
        expect(item.endedAt).not.toBeNull();
      }
    });

    it("shows the failed step and the compensation that followed it", async () => {
      const failed = items.find((item) => item.idempotencyKey === "fail-inventory");
      expect(failed).toBeDefined();
      const view = await runCliJson<ShowView>(["show", failed?.id ?? "", "--db", db, "--json"]);
      expect(view).toMatchObject({ id: failed?.id, status: "compensated", idempotencyKey: "fail-inventory", outstanding: [] });
      expect(view.input).toMatchObject({ orderId: "fail-inventory", sku: "SKU-DISCONTINUED" });

      const types = view.history.map((entry) => [entry.type, entry.step, entry.phase].map((part) => (typeof part === "string" ? part : "")).join(":"));
      const gaveUp = types.indexOf("phase_gave_up:ReserveInventory:action");
      const compensated = types.indexOf("attempt_succeeded:ReservePayment:compensation");
      expect(gaveUp).toBeGreaterThan(0);
      expect(compensated).toBeGreaterThan(gaveUp);
      expect(view.history.at(-1)).toMatchObject({ type: "saga_ended", status: "compensated" });
      expect(view.history.map((entry) => entry.seq)).toEqual(view.history.map((_, index) => index + 1));

      const [payment, inventory, shipping] = view.steps;
      expect(payment?.action.attempts).toMatchObject([{ attempt: 1, outcome: "succeeded" }]);
      expect(payment?.output).toMatchObject({ amountCents: 1250 });
      expect(payment?.compensation).toMatchObject({ status: "succeeded", attempts: [{ attempt: 1, outcome: "succeeded" }] });
      expect(inventory?.action).toMatchObject({
        status: "failed",
        attempts: [{ attempt: 1, outcome: "failed", error: { name: "TerminalError", message: "inventory unavailable" } }],
      });
      expect(inventory?.compensation.status).toBe("not_needed");
      expect(shipping?.action).toMatchObject({ status: "pending", attempts: [] });
    });

    it("shows a saga in words, without colour when stdout is not a terminal", async () => {
      const completed = items.find((item) => item.idempotencyKey === "order-123");
      const result = await runCli(["show", completed?.id ?? "", "--db", db]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`saga ${completed?.id}  order@1  completed`);
      expect(result.stdout).toContain("ShipOrder action attempt 1 succeeded");
      expect(result.stdout.includes("\u001b[")).toBe(false);
    });

    it("lists as an aligned table", async () => {
      const result = await runCli(["list", "--db", db, "--status", "compensated"]);
      expect(result.code).toBe(0);
      const [header, row, ...rest] = result.stdout.trimEnd().split("\n");
      expect(rest).toEqual([]);
      expect(header).toMatch(/^ID\s+DEFINITION\s+STATUS\s+KEY\s+STEP\s+STARTED\s+ENDED$/);
      expect(row?.indexOf("compensated")).toBe(header?.indexOf("STATUS"));
      expect(row).toContain("fail-inventory");
    });

    it("books order-123 in full and releases fail-inventory's payment, per the participants' own tables", async () => {
      const entries = await runCliJson<LedgerEntry[]>(["demo", "ledger", "--db", db, "--json"]);
      expect(entries).toEqual([
        { orderId: "fail-inventory", payment: "released", stock: "none", shipment: "none", replays: 0, bookings: { payments: 1, stock: 0, shipments: 0 } },
        { orderId: "order-123", payment: "reserved", stock: "reserved", shipment: "created", replays: 0, bookings: { payments: 1, stock: 1, shipments: 1 } },
      ]);
      const table = await runCli(["demo", "ledger", "--db", db]);
      expect(table.stdout.split("\n")[0]).toMatch(/^ORDER\s+PAYMENT\s+STOCK\s+SHIPMENT\s+REPLAYS$/);
    });

    it("does not run an order twice when the demo runs again on the same database", async () => {
      const result = await runCli(["demo", "--db", db]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("Saga successful for order-123 (it had already run in this database)");
      expect(result.stdout).not.toContain("[Payment]");
      expect(await runCliJson<ListItemView[]>(["list", "--db", db, "--json"])).toHaveLength(2);
    });
  });

  it("runs many random orders, reports a summary and resumes instead of duplicating on a rerun", async () => {
    const db = join(tempDir(), "orders.db");
    const args = ["demo", "--db", db, "--orders", "40", "--failure-rate", "0.5", "--seed", "3", "--concurrency", "8", "--quiet"];
    const first = await runCli(args);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^orders\s+40 \(seed 3, failure rate 0.5\)$/m);
    const completed = Number(/^completed\s+(\d+)$/m.exec(first.stdout)?.[1]);
    const compensated = Number(/^compensated\s+(\d+)$/m.exec(first.stdout)?.[1]);
    expect(completed + compensated).toBe(40);
    expect(compensated).toBeGreaterThan(0);
    expect(first.stdout).toMatch(/^throughput\s+[\d.]+ sagas\/s$/m);

    const second = await runCli(args);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("40 from an earlier run");
    const entries = await runCliJson<LedgerEntry[]>(["demo", "ledger", "--db", db, "--json"]);
    expect(entries).toHaveLength(40);
    expect(await runCliJson<ListItemView[]>(["list", "--db", db, "--json", "--limit", "1000"])).toHaveLength(40);
  });
});
