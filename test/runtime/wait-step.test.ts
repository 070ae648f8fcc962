import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, StepNotFoundError, StepNotWaitingError, type SagaDefinition } from "../../src/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

const booked: string[] = [];

function trip(timeoutMs = 0): SagaDefinition<{ trip: string }> {
  return defineSaga<{ trip: string }>({ name: "trip", version: 1 })
    .step("hold", {
      action: ({ input }) => {
        booked.push(`hold:${input.trip}`);
        return { holdId: `h-${input.trip}` };
      },
      compensate: ({ output }) => void booked.push(`release:${output?.holdId ?? "?"}`),
    })
    .waitStep<"approve", { approvedBy: string }>("approve", { timeoutMs })
    .step("book", { action: ({ outputs }) => booked.push(`book:${outputs.approve.approvedBy}`) })
    .build();
}

const opened: Orchestrator[] = [];
afterEach(async () => {
  booked.length = 0;
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

async function orchestrator(definition: SagaDefinition<{ trip: string }>, store = createMemoryStore()): Promise<Orchestrator> {
  const o = await Orchestrator.create({ store, definitions: [definition], pollIntervalMs: 20 });
  opened.push(o);
  return o;
}

async function untilWaiting(o: Orchestrator, id: string): Promise<void> {
  await expect.poll(async () => (await o.get(id)).steps[1]?.action.status).toBe("running");
}

describe("waiting steps through the orchestrator", () => {
  it("waits, holding no worker, until completeStep answers; later steps see the answer", async () => {
    const o = await orchestrator(trip());
    const { id } = await o.start("trip", { trip: "rome" });
    await untilWaiting(o, id);
    expect((await o.get(id)).status).toBe("running");
    await o.completeStep(id, "approve", { approvedBy: "ana" }, { by: "ops:ana" });
    const final = await o.waitFor(id);
    expect(final.status).toBe("completed");
    expect(booked).toEqual(["hold:rome", "book:ana"]);
    expect(await o.history(id)).toContainEqual(expect.objectContaining({ type: "attempt_succeeded", step: "approve", by: "ops:ana" }));
  });

  it("compensates what completed when failStep answers", async () => {
    const o = await orchestrator(trip());
    const { id } = await o.start("trip", { trip: "oslo" });
    await untilWaiting(o, id);
    await o.failStep(id, "approve", { message: "over budget", name: "Rejected", code: "BUDGET" }, { by: "ops:bo" });
    const final = await o.waitFor(id);
    expect(final.status).toBe("compensated");
    expect(final.stop?.error).toMatchObject({ name: "Rejected", message: "over budget", code: "BUDGET" });
    expect(booked).toEqual(["hold:oslo", "release:h-oslo"]);
  });

  it("refuses answers to a step that is not waiting now, changing nothing", async () => {
    const o = await orchestrator(trip());
    const { id } = await o.start("trip", { trip: "nice" });
    await untilWaiting(o, id);
    await expect(o.completeStep(id, "hold", 1)).rejects.toBeInstanceOf(StepNotWaitingError);
    await expect(o.completeStep(id, "fly", 1)).rejects.toBeInstanceOf(StepNotFoundError);
    await o.completeStep(id, "approve", { approvedBy: "ana" });
    await o.waitFor(id);
    await expect(o.completeStep(id, "approve", { approvedBy: "eve" })).rejects.toBeInstanceOf(StepNotWaitingError);
    expect(booked).toEqual(["hold:nice", "book:ana"]);
  });

  it("takes an answer at once when the first step waits (the new saga is not held under a lease)", async () => {
    const first = defineSaga<null>({ name: "first-waits", version: 1 }).waitStep("sign").step("file", { action: () => ({ filed: true }) }).build();
    const o = await Orchestrator.create({ store: createMemoryStore(), definitions: [first], leaseMs: 60_000 });
    opened.push(o);
    const { id } = await o.start(first, null);
    await o.completeStep(id, "sign", { by: "ana" });
    // Held under the start's lease, the answer would wait for that lease's 60 s to run out.
    const final = await o.waitFor(id, 5_000);
    expect(final.status).toBe("completed");
    expect(final.steps[0]?.output).toEqual({ by: "ana" });
  });

  it("times out when nobody answers, and the saga compensates", async () => {
    const o = await orchestrator(trip(150));
    const { id } = await o.start("trip", { trip: "bern" });
    const final = await o.waitFor(id, 10_000);
    expect(final.status).toBe("compensated");
    expect(final.steps[1]?.action.lastError).toMatchObject({ name: "WaitTimeoutError" });
    expect(booked).toEqual(["hold:bern", "release:h-bern"]);
  });

  it("keeps waiting across a restart (not in doubt), and the answer reaches the new worker", async () => {
    const store = createMemoryStore();
    // The first orchestrator's close must not take the (in-memory) store down with it.
    const lasting = new Proxy(store, {
      get(target, property) {
        if (property === "close") return () => Promise.resolve();
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const first = await Orchestrator.create({ store: lasting, definitions: [trip()] });
    const { id } = await first.start("trip", { trip: "graz" });
    await untilWaiting(first, id);
    await first.close();

    const second = await orchestrator(trip(), store);
    await second.completeStep(id, "approve", { approvedBy: "cy" });
    expect((await second.waitFor(id)).status).toBe("completed");
    const history = await second.history(id);
    expect(history.filter((entry) => entry.type === "attempt_in_doubt")).toEqual([]);
    expect(booked).toEqual(["hold:graz", "book:cy"]);
  });
});
