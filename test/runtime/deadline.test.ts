import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, InvalidArgumentError, Orchestrator } from "../../src/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

const undone: string[] = [];
const approval = defineSaga<{ trip: string }>({ name: "approval", version: 1, deadlineMs: 60_000 })
  .step("hold", { action: ({ input }) => ({ hold: input.trip }), compensate: ({ input }) => void undone.push(`release:${input.trip}`) })
  .waitStep("approve")
  .step("book", { action: () => null })
  .build();

const opened: Orchestrator[] = [];
afterEach(async () => {
  undone.length = 0;
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

describe("a saga's deadline through the orchestrator", () => {
  it("rolls back a saga still waiting when its deadline passes, with no one asking", async () => {
    const o = await Orchestrator.create({ store: createMemoryStore(), definitions: [approval], pollIntervalMs: 20 });
    opened.push(o);
    const { id } = await o.start(approval, { trip: "rome" }, { deadlineMs: 300 });
    expect((await o.get(id)).deadlineAtMs).toBeGreaterThan(Date.now());
    const final = await o.waitFor(id, 5_000);
    expect(final.status).toBe("compensated");
    expect(final.cancel).toMatchObject({ by: "deadline" });
    expect(final.endedAtMs ?? 0).toBeGreaterThanOrEqual(final.createdAtMs + 300);
    expect(undone).toEqual(["release:rome"]);
    expect((await o.history(id)).map((h) => h.type)).toContain("deadline_passed");
  });

  it("refuses a deadline that is not a positive whole number of milliseconds", async () => {
    const o = await Orchestrator.create({ store: createMemoryStore(), definitions: [approval] });
    opened.push(o);
    await expect(o.start(approval, { trip: "x" }, { deadlineMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(o.start(approval, { trip: "x" }, { deadlineMs: 1.5 })).rejects.toMatchObject({ field: "deadlineMs" });
  });
});
