import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, RetryableError, type SagaStore } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

const SLEEP_MS = 300;

const nap = defineSaga<{ name: string }>({ name: "nap", version: 1 })
  .step("start", { action: ({ input }) => ({ started: input.name }) })
  .sleepStep("nap", { durationMs: SLEEP_MS })
  .sleepStep("until", { until: ({ outputs }) => new Date(outputs.nap.sleptUntilMs + SLEEP_MS) })
  .step("finish", { action: () => ({ done: Date.now() }) })
  .build();

let flakyCalls = 0;
const backoff = defineSaga<null>({ name: "backoff", version: 1 })
  .step("flaky", {
    action: () => {
      flakyCalls++;
      throw new RetryableError("the provider is down for maintenance");
    },
    retry: { maxAttempts: 3, initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, jitter: "none" },
  })
  .build();

const opened: Orchestrator[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function orchestrator(store: SagaStore = createMemoryStore(), concurrency = 8): Promise<Orchestrator> {
  const o = await Orchestrator.create({ store, definitions: [nap, backoff], concurrency, pollIntervalMs: 20 });
  opened.push(o);
  return o;
}

describe("sleep steps through the orchestrator", () => {
  it("sleep for the duration, then until the computed time, holding no worker slot meanwhile", async () => {
    // One slot: if a sleeping saga held it, the second could not run until the first woke.
    const o = await orchestrator(createMemoryStore(), 1);
    const t0 = Date.now();
    const a = await o.start(nap, { name: "a" });
    await expect.poll(async () => (await o.get(a.id)).steps[1]?.action.status).toBe("running");
    const b = await o.start(nap, { name: "b" });
    // Had the sleeping saga kept the slot, b could not start until a ended (two sleeps later).
    await expect.poll(async () => (await o.get(b.id)).steps[1]?.action.status, { timeout: SLEEP_MS }).toBe("running");

    const [doneA, doneB] = await Promise.all([o.waitFor(a.id), o.waitFor(b.id)]);
    for (const done of [doneA, doneB]) {
      expect(done.status).toBe("completed");
      const napped = (done.steps[1]?.output as { sleptUntilMs: number }).sleptUntilMs;
      const until = (done.steps[2]?.output as { sleptUntilMs: number }).sleptUntilMs;
      expect(until - napped).toBe(SLEEP_MS);
      expect((done.steps[3]?.output as { done: number }).done).toBeGreaterThanOrEqual(until);
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * SLEEP_MS);
    expect((await o.history(a.id)).filter((entry) => entry.type === "sleep_started")).toHaveLength(2);
  });

  it("keep sleeping across a restart and wake on time, on SQLite", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sagaflow-sleep-"));
    dirs.push(dir);
    const path = join(dir, "sagas.db");
    const first = await orchestrator(await openSqliteStore({ path }));
    const { id } = await first.start(nap, { name: "c" });
    await expect.poll(async () => (await first.get(id)).steps[1]?.action.status).toBe("running");
    await first.close();

    const second = await orchestrator(await openSqliteStore({ path }));
    const done = await second.waitFor(id);
    expect(done.status).toBe("completed");
    expect(done.recoveries).toBe(0);
    expect((await second.history(id)).some((entry) => entry.type === "attempt_in_doubt")).toBe(false);
  });

  it("a retry backoff of an hour holds no worker either: the saga waits in the store, due in an hour", async () => {
    flakyCalls = 0;
    const o = await orchestrator(createMemoryStore(), 1);
    const { id } = await o.start(backoff, null);
    await expect.poll(async () => (await o.get(id)).steps[0]?.action.status).toBe("retrying");
    const waiting = await o.get(id);
    expect(waiting.wakeAtMs).toBeGreaterThan(Date.now() + 3_500_000);
    // The only slot is free: another saga runs to the end meanwhile.
    const other = await o.start(nap, { name: "d" });
    expect((await o.waitFor(other.id)).status).toBe("completed");
    expect(flakyCalls).toBe(1);
  });
});
