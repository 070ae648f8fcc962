// Versions of a code saga. Run it with:
//   node --import tsx examples/versioning/move-to-v2.ts
// An order saga at version 1 waits for approval. Version 2 adds a fraud check after the approval.
// A worker that runs only version 2 leaves the version-1 saga alone (and says so at start-up);
// an operator moves the saga onto version 2, whose steps line up with what it did; it finishes
// with version 2's steps.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineSaga, Orchestrator, type Logger } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

const v1 = defineSaga<null>({ name: "order", version: 1 })
  .step("pay", { action: () => ({ paid: true }), compensate: () => undefined })
  .waitStep("approve")
  .step("ship", { action: () => ({ shipped: "by version 1" }) })
  .build();
const v2 = defineSaga<null>({ name: "order", version: 2 })
  .step("pay", { action: () => ({ paid: true }), compensate: () => undefined })
  .waitStep("approve")
  .step("fraud-check", { action: () => ({ ok: true }) })
  .step("ship", { action: () => ({ shipped: "by version 2" }) })
  .build();

const warnings: string[] = [];
const logger: Logger = { debug: () => {}, info: () => {}, warn: (_fields, msg) => void warnings.push(msg ?? ""), error: () => {} };

const dir = mkdtempSync(join(tmpdir(), "sagaflow-versions-example-"));
const path = join(dir, "sagas.db");
try {
  const old = await Orchestrator.create({ store: await openSqliteStore({ path }), definitions: [v1], pollIntervalMs: 20 });
  const { id } = await old.start(v1, null, { id: "order-1" });
  while ((await old.get(id)).steps[1]?.action.status !== "running") await new Promise((resolve) => setTimeout(resolve, 10));
  await old.close();
  console.log(`${id}: version 1, waiting for approval`);

  const next = await Orchestrator.create({ store: await openSqliteStore({ path }), definitions: [v2], pollIntervalMs: 20, logger });
  console.log(`worker of version 2 says: ${warnings.join("; ")}`);
  const moved = await next.migrate(id, 2, { reason: "fraud check required from today", by: "ops" });
  console.log(`${id}: moved to version ${moved.definitionVersion}, steps ${moved.steps.map((s) => `${s.name} (${s.action.status})`).join(", ")}`);
  await next.completeStep(id, "approve", { approvedBy: "eva" });
  const final = await next.waitFor(id);
  console.log(`${id}: ${final.status}, ${JSON.stringify(final.steps[3]?.output)}`);
  await next.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
