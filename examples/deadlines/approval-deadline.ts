// A saga with a deadline: a seat is held, then the saga waits for a manager's approval. The
// approval never comes, so when the deadline passes the saga rolls back on its own. Run it with:
//   node --import tsx examples/deadlines/approval-deadline.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineSaga, Orchestrator } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

const booking = defineSaga<{ seat: string }>({ name: "booking", version: 1, deadlineMs: 60 * 60 * 1000 }) // an hour, by default
  .step("hold-seat", {
    action: ({ input }) => ({ held: input.seat }),
    compensate: ({ output }) => console.log(`  released seat ${output?.held ?? "?"}`),
  })
  .waitStep("approval", { event: "manager-approved" })
  .step("charge", { action: () => ({ charged: true }), pivot: true })
  .build();

const dir = mkdtempSync(join(tmpdir(), "sagaflow-deadline-example-"));
const orchestrator = await Orchestrator.create({ store: await openSqliteStore({ path: join(dir, "sagas.db") }), definitions: [booking], pollIntervalMs: 50 });
try {
  // This one gets 500 ms instead of the definition's hour.
  const { id } = await orchestrator.start(booking, { seat: "14C" }, { deadlineMs: 500 });
  console.log(`${id}: seat held, waiting for approval until ${new Date((await orchestrator.get(id)).deadlineAtMs ?? 0).toISOString()}`);
  const final = await orchestrator.waitFor(id, 10_000);
  const passed = (await orchestrator.history(id)).find((entry) => entry.type === "deadline_passed");
  console.log(`${id}: ${final.status}; deadline passed ${passed === undefined ? "?" : passed.atMs - final.createdAtMs} ms after the start; cancelled by ${final.cancel?.by ?? "?"}`);
} finally {
  await orchestrator.close();
  rmSync(dir, { recursive: true, force: true });
}
