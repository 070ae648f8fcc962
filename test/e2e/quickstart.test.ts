import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ServiceLedger } from "../../src/examples/services/service-ledger.js";
import { startQuickstart, type Quickstart } from "../../src/examples/quickstart/launch.js";

const dir = mkdtempSync(join(tmpdir(), "sagaflow-quickstart-test-"));
let running: Quickstart | undefined;
afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function ledger(url: string): Promise<ServiceLedger> {
  const response = await fetch(`${url}/ledger`);
  expect(response.status).toBe(200);
  return (await response.json()) as ServiceLedger;
}

describe("npm start (the order example over HTTP, every part its own process)", () => {
  it("runs the seed's orders through the declarative saga: order-123 completes, fail-inventory is compensated, and every ledger balances", async () => {
    const lines: string[] = [];
    running = await startQuickstart({ dir, port: 0, print: (line) => lines.push(line) });
    const [ok, refused] = running.outcomes;
    expect(ok).toMatchObject({ status: "completed", input: { orderId: "order-123" } });
    expect(ok?.steps.map((s) => s.action.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(refused).toMatchObject({ status: "compensated", input: { orderId: "fail-inventory" }, stop: { step: "ReserveInventory" } });
    expect(refused?.steps.map((s) => [s.name, s.action.status, s.compensation.status])).toEqual([
      ["ReservePayment", "succeeded", "succeeded"],
      ["ReserveInventory", "failed", "not_needed"],
      ["ShipOrder", "pending", "not_needed"],
    ]);

    const payments = await ledger(running.services.payments);
    const inventory = await ledger(running.services.inventory);
    const shipping = await ledger(running.services.shipping);
    expect(payments.orders).toMatchObject([
      { orderId: "fail-inventory", status: "released", bookings: 1 },
      { orderId: "order-123", status: "reserved", bookings: 1 },
    ]);
    expect(inventory.orders.filter((o) => o.status !== "none")).toMatchObject([{ orderId: "order-123", status: "reserved", bookings: 1 }]);
    expect(shipping.orders.filter((o) => o.status !== "none")).toMatchObject([{ orderId: "order-123", status: "created", bookings: 1 }]);
    expect(lines.join("\n")).toMatch(/order-123: completed/);
    expect(lines.join("\n")).toMatch(/fail-inventory: compensated/);
    // The dashboard is served at the server's root, and each saga's line links to its page there.
    expect(running.dashboard).toBe(`${running.api.replace(/\/api\/v1$/, "")}/`);
    expect(lines.join("\n")).toContain(`dashboard    ${running.dashboard}`);
    expect(lines.join("\n")).toContain(`${running.dashboard}#/sagas/${refused?.id ?? ""}`);
    expect((await fetch(running.dashboard)).headers.get("content-type")).toContain("text/html");

    // The same orders again (same idempotency keys): the API answers with the sagas it has, and nothing is booked twice.
    const again = await fetch(`${running.api}/sagas`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ definition: "order", input: ok?.input, idempotencyKey: "order-123" }),
    });
    expect(again.status).toBe(200);
    expect(((await ledger(running.services.payments)).orders.find((o) => o.orderId === "order-123"))?.bookings).toBe(1);
  }, 120_000);
});
