import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, InvalidDefinitionError, Orchestrator } from "../../src/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

const v1 = defineSaga<null>({ name: "late", version: 1 }).step("one", { action: () => ({ v: 1 }) }).build();
const v2 = defineSaga<null>({ name: "late", version: 2 }).step("one", { action: () => ({ v: 2 }) }).build();
const other = defineSaga<null>({ name: "other", version: 1 }).step("x", { action: () => null }).build();

const opened: Orchestrator[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

describe("Orchestrator.register", () => {
  it("adds a definition while running: its waiting instances get claimed, and starts by name use the newest version", async () => {
    const store = createMemoryStore();
    const enqueuer = await Orchestrator.create({ store, definitions: [v1], worker: false });
    opened.push(enqueuer);
    await enqueuer.start(v1, null, { id: "queued" });

    const worker = await Orchestrator.create({ store, definitions: [other], pollIntervalMs: 20 });
    opened.push(worker);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((await worker.get("queued")).status).toBe("running");

    worker.register(v1);
    expect((await worker.waitFor("queued", 5_000)).steps[0]?.output).toEqual({ v: 1 });

    worker.register(v2);
    const started = await worker.start("late", null);
    expect(started.state.definitionVersion).toBe(2);
    expect((await worker.waitFor(started.id)).steps[0]?.output).toEqual({ v: 2 });
  });

  it("refuses a name@version already registered, keeping the first", async () => {
    const o = await Orchestrator.create({ store: createMemoryStore(), definitions: [v1] });
    opened.push(o);
    expect(() => o.register(defineSaga<null>({ name: "late", version: 1 }).step("two", { action: () => null }).build())).toThrow(InvalidDefinitionError);
    expect(o.definitions.get("late@1")?.plan.steps[0]?.name).toBe("one");
  });
});
