// A saga that waits for a named event: an expense is booked, then waits for "manager-approved"
// (at most a day), then is paid. Run it with:
//   node --import tsx examples/events/expense-approval.ts
// It starts two sagas on a SQLite file: one approved while it waits, one approved before it even
// reached the approval step (the event is kept until the step asks for it), and sends a
// duplicate that changes nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineSaga, Orchestrator } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

interface Expense {
  employee: string;
  amountCents: number;
}

const expense = defineSaga<Expense>({ name: "expense", version: 1 })
  .step("book", {
    action: async ({ input }) => {
      await new Promise((resolve) => setTimeout(resolve, 200)); // a slow bookkeeping system
      return { entry: `E-${input.employee}-${input.amountCents}` };
    },
    compensate: ({ output }) => console.log(`  reversed booking ${output?.entry ?? "?"}`),
  })
  .waitStep<"approval", { approver: string }>("approval", { event: "manager-approved", timeoutMs: 24 * 60 * 60 * 1000 })
  .step("pay", { action: ({ input, outputs }) => ({ paid: input.amountCents, approvedBy: outputs.approval.approver }) })
  .build();

const dir = mkdtempSync(join(tmpdir(), "sagaflow-events-example-"));
const orchestrator = await Orchestrator.create({ store: await openSqliteStore({ path: join(dir, "sagas.db") }), definitions: [expense] });
try {
  // 1. The event arrives while the saga waits for it.
  const first = await orchestrator.start(expense, { employee: "ana", amountCents: 12_000 });
  while ((await orchestrator.get(first.id)).steps[1]?.action.status !== "running") await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(`${first.id}: waiting for manager-approved`);
  await orchestrator.signal(first.id, "manager-approved", { approver: "bo" }, { by: "bo@example.com" });
  const firstDone = await orchestrator.waitFor(first.id);
  console.log(`${first.id}: ${firstDone.status}, paid ${JSON.stringify(firstDone.steps[2]?.output)}`);

  // 2. The event arrives before the saga waits for it: kept, and taken when the step starts.
  const second = await orchestrator.start(expense, { employee: "cy", amountCents: 4_500 });
  await orchestrator.signal(second.id, "manager-approved", { approver: "di" }, { by: "di@example.com" });
  console.log(`${second.id}: approved while still booking`);
  const secondDone = await orchestrator.waitFor(second.id);
  console.log(`${second.id}: ${secondDone.status}, paid ${JSON.stringify(secondDone.steps[2]?.output)}`);

  // 3. The same delivery again is a duplicate: nothing changes.
  console.log(`duplicate delivery: ${JSON.stringify(await orchestrator.signal(second.id, "manager-approved", { approver: "di" }))}`);
} finally {
  await orchestrator.close();
  rmSync(dir, { recursive: true, force: true });
}
