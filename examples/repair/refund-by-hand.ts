// Operator repair of failed sagas. Run it with:
//   node --import tsx examples/repair/refund-by-hand.ts
// Three orders fail to ship, and the refund API refuses to give their payments back, so each
// saga ends `failed` with the refund outstanding. An operator then
//   1. retries the first once the refund API works again (compensated),
//   2. skips the second's refund, having refunded it by hand (compensated, the skip on record),
//   3. marks the third resolved, settled with the customer (stays failed, no longer needs attention).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineSaga, Orchestrator, TerminalError } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

const refundApi = { up: false };

const order = defineSaga<{ orderId: string }>({ name: "order", version: 1 })
  .step("charge", {
    action: ({ input }) => ({ payment: `P-${input.orderId}` }),
    compensate: ({ output }) => {
      if (!refundApi.up) throw new TerminalError(`refund API refused to refund ${output?.payment ?? "?"}`);
    },
    compensationRetry: { maxAttempts: 1 },
  })
  .step("ship", {
    action: () => {
      throw new TerminalError("no courier available");
    },
  })
  .build();

const dir = mkdtempSync(join(tmpdir(), "sagaflow-repair-example-"));
const orchestrator = await Orchestrator.create({ store: await openSqliteStore({ path: join(dir, "sagas.db") }), definitions: [order] });
const settle = async (id: string, until: (s: Awaited<ReturnType<typeof orchestrator.get>>) => boolean): Promise<void> => {
  while (!until(await orchestrator.get(id))) await new Promise((resolve) => setTimeout(resolve, 20));
};
try {
  const ids: string[] = [];
  for (const orderId of ["o-1", "o-2", "o-3"]) {
    const { id } = await orchestrator.start(order, { orderId }, { id: orderId });
    const failed = await orchestrator.waitFor(id);
    console.log(`${id}: ${failed.status}, outstanding ${JSON.stringify(failed.outstanding)}`);
    ids.push(id);
  }

  refundApi.up = true;
  await orchestrator.retry("o-1", { reason: "refund API is back", by: "ops:ana" });
  await settle("o-1", (s) => s.status !== "failed");
  console.log(`o-1: retried → ${(await orchestrator.get("o-1")).status}`);

  await orchestrator.skipCompensation("o-2", "charge", { reason: "refunded by hand, ticket OPS-42", by: "ops:ana" });
  await settle("o-2", (s) => s.status !== "failed");
  const o2 = await orchestrator.get("o-2");
  console.log(`o-2: refund skipped → ${o2.status} (charge compensation ${o2.steps[0]?.compensation.status})`);

  await orchestrator.resolve("o-3", { reason: "settled with the customer by phone", by: "ops:bo" });
  await settle("o-3", (s) => s.resolution !== undefined);
  const o3 = await orchestrator.get("o-3");
  console.log(`o-3: resolved → ${o3.status}, resolved by ${o3.resolution?.by ?? "?"}: ${o3.resolution?.reason ?? "?"}`);
} finally {
  await orchestrator.close();
  rmSync(dir, { recursive: true, force: true });
}
