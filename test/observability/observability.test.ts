import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, TerminalError, type Logger } from "../../src/index.js";
import { SagaMetrics, transitionLogger } from "../../src/observability/index.js";
import { createServer } from "../../src/server/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

const shop = defineSaga<{ fail: boolean; secret: string }>({ name: "shop", version: 1 })
  .step("pay", { action: async () => new Promise((resolve) => setTimeout(() => resolve({ paid: true }), 20)), compensate: () => undefined })
  .step("ship", {
    action: ({ input }) => {
      if (input.fail) throw new TerminalError("no courier");
      return { shipped: true };
    },
    retry: { maxAttempts: 1 },
  })
  .build();

const opened: Orchestrator[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

/** The value of one sample of the Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("SagaMetrics", () => {
  it("counts starts, ends by status, attempts and their durations, group commits, and the store's sagas by status", async () => {
    const store = createMemoryStore();
    const metrics = new SagaMetrics({ store });
    const orchestrator = await Orchestrator.create({ store: metrics.instrumentStore(store), definitions: [shop] });
    opened.push(orchestrator);
    orchestrator.onTransition(metrics.observe);
    const a = await orchestrator.start(shop, { fail: false, secret: "s" });
    const b = await orchestrator.start(shop, { fail: true, secret: "s" });
    expect((await orchestrator.waitFor(a.id)).status).toBe("completed");
    expect((await orchestrator.waitFor(b.id)).status).toBe("compensated");

    const text = await metrics.registry.metrics();
    expect(sample(text, "sagaflow_sagas_started_total", { definition: "shop" })).toBe(2);
    expect(sample(text, "sagaflow_sagas_finished_total", { definition: "shop", status: "completed" })).toBe(1);
    expect(sample(text, "sagaflow_sagas_finished_total", { definition: "shop", status: "compensated" })).toBe(1);
    expect(sample(text, "sagaflow_step_attempts_total", { step: "pay", phase: "action", outcome: "succeeded" })).toBe(2);
    expect(sample(text, "sagaflow_step_attempts_total", { step: "ship", phase: "action", outcome: "failed" })).toBe(1);
    expect(sample(text, "sagaflow_step_attempts_total", { step: "pay", phase: "compensation", outcome: "succeeded" })).toBe(1);
    // Each `pay` took about 20 ms: both land above the 10 ms bucket.
    expect(sample(text, "sagaflow_step_duration_seconds_count", { step: "pay", phase: "action", outcome: "succeeded" })).toBe(2);
    expect(sample(text, "sagaflow_step_duration_seconds_bucket", { step: "pay", phase: "action", le: "0.01" })).toBe(0);
    expect(sample(text, "sagaflow_store_commit_duration_seconds_count")).toBeGreaterThan(0);
    // Completed: create, pay, ship; compensated: create, pay, ship failing, the compensation.
    expect(sample(text, "sagaflow_store_commit_items_sum")).toBe(3 + 4);
    expect(sample(text, "sagaflow_sagas", { status: "completed" })).toBe(1);
    expect(sample(text, "sagaflow_sagas", { status: "compensated" })).toBe(1);
    expect(sample(text, "sagaflow_sagas", { status: "running" })).toBe(0);
    expect(sample(text, "process_cpu_user_seconds_total")).toBeDefined();
  });

  it("times claims of sagas another process started", async () => {
    const store = createMemoryStore();
    const enqueuer = await Orchestrator.create({ store, definitions: [shop], worker: false });
    await enqueuer.start(shop, { fail: false, secret: "s" }, { id: "queued-1" });
    const metrics = new SagaMetrics({ store });
    const worker = await Orchestrator.create({ store: metrics.instrumentStore(store), definitions: [shop], pollIntervalMs: 10 });
    opened.push(worker);
    expect((await worker.waitFor("queued-1")).status).toBe("completed");
    const text = await metrics.registry.metrics();
    expect(sample(text, "sagaflow_claimed_sagas_total")).toBe(1);
    expect(sample(text, "sagaflow_claim_duration_seconds_count")).toBeGreaterThan(0);
  });
});

describe("transitionLogger", () => {
  it("logs one info line per transition entry with saga id, step and attempt, errors by name and message, never inputs or outputs", async () => {
    const lines: { obj: Record<string, unknown>; msg: string | undefined }[] = [];
    const capture: Logger = {
      debug: () => undefined,
      info: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }),
      warn: () => undefined,
      error: () => undefined,
    };
    const orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [shop] });
    opened.push(orchestrator);
    orchestrator.onTransition(transitionLogger(capture));
    const { id } = await orchestrator.start(shop, { fail: true, secret: "hunter2" });
    await orchestrator.waitFor(id);

    const history = await orchestrator.history(id);
    expect(lines.map((line) => line.msg)).toEqual(history.map((entry) => entry.type));
    expect(lines.every((line) => line.obj.sagaId === id && line.obj.definition === "shop")).toBe(true);
    expect(lines.find((line) => line.msg === "attempt_started")?.obj).toMatchObject({ step: "pay", phase: "action", attempt: 1 });
    expect(lines.find((line) => line.msg === "attempt_failed")?.obj).toMatchObject({ step: "ship", error: { name: "TerminalError", message: "no courier" } });
    expect(lines.at(-1)).toMatchObject({ msg: "saga_ended", obj: { status: "compensated" } });
    expect(JSON.stringify(lines)).not.toContain("hunter2");
    expect(JSON.stringify(lines)).not.toContain("paid");
  });
});

describe("GET /metrics", () => {
  it("serves the Prometheus text without the API token", async () => {
    const store = createMemoryStore();
    const metrics = new SagaMetrics({ store });
    const orchestrator = await Orchestrator.create({ store: metrics.instrumentStore(store), definitions: [shop] });
    opened.push(orchestrator);
    orchestrator.onTransition(metrics.observe);
    const app = await createServer({ orchestrator, metrics, token: "metrics-test-token-123" });
    try {
      await orchestrator.waitFor((await orchestrator.start(shop, { fail: false, secret: "s" })).id);
      const response = await app.inject({ method: "GET", url: "/metrics" });
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toContain("text/plain");
      expect(sample(response.body, "sagaflow_sagas_finished_total", { status: "completed" })).toBe(1);
    } finally {
      await app.close();
    }
  });
});
