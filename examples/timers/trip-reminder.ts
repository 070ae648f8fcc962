// Durable timers: a trip is booked, the saga sleeps through a cool-off period, then until shortly
// before departure, then sends a reminder. Run it with:
//   node --import tsx examples/timers/trip-reminder.ts
// The sleeps are short here (1 s, then until 2 s after the start) so the example ends quickly;
// the orchestrator is closed during the first sleep and a new one, on the same SQLite file, wakes
// the saga on time: a sleep survives restarts and holds no worker.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineSaga, Orchestrator } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

const trip = defineSaga<{ traveller: string; remindAtMs: number }>({ name: "trip-reminder", version: 1 })
  .step("book", { action: ({ input }) => ({ booking: `T-${input.traveller}` }), compensate: () => undefined })
  .sleepStep("cool-off", { durationMs: 1_000 })
  .sleepStep("until-reminder", { until: ({ input }) => input.remindAtMs })
  .step("remind", { action: ({ input, outputs }) => ({ told: input.traveller, booking: outputs.book.booking, at: new Date().toISOString() }) })
  .build();

const dir = mkdtempSync(join(tmpdir(), "sagaflow-timers-example-"));
const path = join(dir, "sagas.db");
const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
try {
  const first = await Orchestrator.create({ store: await openSqliteStore({ path }), definitions: [trip] });
  const { id } = await first.start(trip, { traveller: "ana", remindAtMs: started + 2_000 });
  while ((await first.get(id)).steps[1]?.action.status !== "running") await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(`${elapsed()}: booked; sleeping through the cool-off; closing this orchestrator`);
  await first.close();

  const second = await Orchestrator.create({ store: await openSqliteStore({ path }), definitions: [trip] });
  const done = await second.waitFor(id);
  console.log(`${elapsed()}: ${done.status}; reminder ${JSON.stringify(done.steps[3]?.output)}`);
  const sleeps = (await second.history(id)).filter((entry) => entry.type === "sleep_started").length;
  console.log(`slept ${sleeps} times, recovered ${done.recoveries} times`);
  await second.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
