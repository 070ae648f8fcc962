import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, InvalidArgumentError, Orchestrator, SagaEndedError, SagaNotFoundError, type SagaStore } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

/** Opened by a test; the first step waits for it, so an event can arrive before the saga waits for one. */
let releaseBooking: () => void = () => {};
let bookingGate = Promise.resolve();

const trip = defineSaga<{ trip: string; holdBooking?: boolean }>({ name: "trip", version: 1 })
  .step("book", {
    action: async ({ input }) => {
      if (input.holdBooking === true) await bookingGate;
      return { ref: `B-${input.trip}` };
    },
    compensate: () => undefined,
  })
  .waitStep<"approval", { approver: string }>("approval", { event: "manager-approved" })
  .step("pay", { action: ({ outputs }) => ({ paidAfter: outputs.approval.approver }) })
  .build();

const opened: Orchestrator[] = [];
const dirs: string[] = [];
afterEach(async () => {
  releaseBooking();
  await Promise.all(opened.splice(0).map((o) => o.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function orchestrator(store: SagaStore = createMemoryStore()): Promise<Orchestrator> {
  const o = await Orchestrator.create({ store, definitions: [trip], pollIntervalMs: 20 });
  opened.push(o);
  return o;
}

function sqliteFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "sagaflow-events-"));
  dirs.push(dir);
  return join(dir, "sagas.db");
}

describe("named events through the orchestrator", () => {
  it("answers the step that waits for the event with its payload; later steps see it", async () => {
    const o = await orchestrator();
    const { id } = await o.start("trip", { trip: "rome" });
    await expect.poll(async () => (await o.get(id)).steps[1]?.action.status).toBe("running");
    expect(await o.signal(id, "manager-approved", { approver: "ana" }, { by: "ops:ana" })).toEqual({ duplicate: false });
    const final = await o.waitFor(id);
    expect(final.status).toBe("completed");
    expect(final.steps[2]?.output).toEqual({ paidAfter: "ana" });
    expect(await o.history(id)).toContainEqual(expect.objectContaining({ type: "signal_received", name: "manager-approved", by: "ops:ana" }));
  });

  it("keeps an event that arrives before the saga waits for it, and records a duplicate once", async () => {
    bookingGate = new Promise((resolve) => (releaseBooking = resolve));
    const o = await orchestrator();
    const { id } = await o.start("trip", { trip: "oslo", holdBooking: true });
    await expect.poll(async () => (await o.get(id)).steps[0]?.action.status).toBe("running");

    expect(await o.signal(id, "manager-approved", { approver: "bo" })).toEqual({ duplicate: false });
    // Its inbox is read when the running step settles, so this second delivery is not known to be a
    // duplicate yet: it is delivered, and the saga records it once.
    await o.signal(id, "manager-approved", { approver: "bo" });
    releaseBooking();

    const final = await o.waitFor(id);
    expect(final.status).toBe("completed");
    expect(final.steps[1]?.output).toEqual({ approver: "bo" });
    expect((await o.history(id)).filter((entry) => entry.type === "signal_received")).toHaveLength(1);
    expect(await o.signal(id, "manager-approved", { approver: "bo" })).toEqual({ duplicate: true });
  });

  it("refuses an event for a saga that ended or does not exist, and names a bad argument", async () => {
    const o = await orchestrator();
    const { id } = await o.start("trip", { trip: "rome" });
    await expect.poll(async () => (await o.get(id)).steps[1]?.action.status).toBe("running");
    await o.signal(id, "manager-approved", { approver: "ana" });
    await o.waitFor(id);
    await expect(o.signal(id, "late-news", null)).rejects.toBeInstanceOf(SagaEndedError);
    // A duplicate of an event it did receive is still just a duplicate.
    expect(await o.signal(id, "manager-approved", { approver: "ana" })).toEqual({ duplicate: true });
    await expect(o.signal("nobody", "manager-approved")).rejects.toBeInstanceOf(SagaNotFoundError);
    await expect(o.signal(id, "has space")).rejects.toMatchObject({ name: "InvalidArgumentError", field: "name" });
    await expect(o.signal(id, "ok", null, { id: "" })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(o.signal(id, "ok", () => 1)).rejects.toThrow(/payload of event ok/);
  });

  it("waits for the event across a restart without holding a worker, on SQLite", async () => {
    const path = sqliteFile();
    const first = await orchestrator(await openSqliteStore({ path }));
    const { id } = await first.start("trip", { trip: "lima" });
    await expect.poll(async () => (await first.get(id)).steps[1]?.action.status).toBe("running");
    await first.close();

    const second = await orchestrator(await openSqliteStore({ path }));
    expect((await second.get(id)).status).toBe("running");
    await second.signal(id, "manager-approved", { approver: "cy" }, { id: "approval-7" });
    const final = await second.waitFor(id);
    expect(final.status).toBe("completed");
    expect(final.signals).toEqual([expect.objectContaining({ id: "approval-7", consumedBy: "approval", payload: { approver: "cy" } })]);
  });
});
