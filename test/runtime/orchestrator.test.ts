import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, RetryableError, TerminalError, type SagaBuilder, type SagaDefinition, type SagaState } from "../../src/index.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryStore } from "../../src/store/memory/index.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";
import { PostgresStore } from "../../src/store/postgres/index.js";
import { randomBytes } from "node:crypto";
import { postgresUrl, withClient } from "../support/postgres.js";
import type { SagaStore } from "../../src/store/saga-store.js";
import { decide } from "../../src/engine/decide.js";

interface Call {
  key: string;
  attempt: number;
  kind: "action" | "compensation";
  step: string;
}

const open: Orchestrator[] = [];
const tempDirs: string[] = [];
const schemas: string[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close(1_000)));
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  const dropped = schemas.splice(0);
  if (dropped.length > 0) {
    await withClient(postgresUrl(), async (client) => {
      for (const schema of dropped) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });
  }
});

/** The runtime must behave the same on every store; each test gets a fresh one. */
const stores: Array<[string, () => SagaStore]> = [
  ["memory", () => createMemoryStore()],
  [
    "sqlite",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "sagaflow-runtime-"));
      tempDirs.push(dir);
      return new SqliteStore({ path: join(dir, "sagas.db") });
    },
  ],
  [
    "postgres",
    () => {
      const schema = `runtime_${randomBytes(6).toString("hex")}`;
      schemas.push(schema);
      return new PostgresStore({ connectionString: postgresUrl(), schema });
    },
  ],
];

async function orchestrate(store: SagaStore, definitions: Parameters<typeof Orchestrator.create>[0]["definitions"], extra: Partial<Parameters<typeof Orchestrator.create>[0]> = {}): Promise<Orchestrator> {
  const orchestrator = await Orchestrator.create({ store, definitions, pollIntervalMs: 20, leaseMs: 2_000, ...extra });
  open.push(orchestrator);
  return orchestrator;
}

const fast = { initialDelayMs: 1, maxDelayMs: 5 };

function tripSaga(calls: Call[], behaviour: { failBook?: "terminal" | "always" | number; failRelease?: number | "always"; slowBookMs?: number } = {}) {
  let bookFailures = 0;
  let releaseFailures = 0;
  return defineSaga<{ trip: string }>({ name: "trip", version: 1 })
    .step("reserve", {
      action: ({ input, idempotencyKey, attempt }) => {
        calls.push({ key: idempotencyKey, attempt, kind: "action", step: "reserve" });
        return { reservation: `R-${input.trip}` };
      },
      compensate: ({ output, idempotencyKey, attempt }) => {
        calls.push({ key: idempotencyKey, attempt, kind: "compensation", step: "reserve" });
        if (behaviour.failRelease === "always" || releaseFailures < (behaviour.failRelease ?? 0)) {
          releaseFailures++;
          throw new Error(`release of ${output?.reservation} refused`);
        }
      },
      compensationRetry: { ...fast, maxAttempts: 4 },
    })
    .step("book", {
      action: async ({ outputs, idempotencyKey, attempt, signal }) => {
        calls.push({ key: idempotencyKey, attempt, kind: "action", step: "book" });
        if (behaviour.slowBookMs) {
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, behaviour.slowBookMs);
            signal.addEventListener("abort", () => {
              clearTimeout(t);
              reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
            });
          });
        }
        if (behaviour.failBook === "terminal") throw new TerminalError("no seats");
        if (behaviour.failBook === "always" || bookFailures < (typeof behaviour.failBook === "number" ? behaviour.failBook : 0)) {
          bookFailures++;
          throw new RetryableError("busy", { cause: new Error("upstream 503") });
        }
        return { booking: `B-${outputs.reserve.reservation}` };
      },
      compensate: ({ idempotencyKey, attempt }) => {
        calls.push({ key: idempotencyKey, attempt, kind: "compensation", step: "book" });
      },
      retry: { ...fast, maxAttempts: 3 },
    })
    .step("notify", {
      action: ({ outputs, idempotencyKey, attempt }) => {
        calls.push({ key: idempotencyKey, attempt, kind: "action", step: "notify" });
        return `sent ${outputs.book.booking}`;
      },
    })
    .build();
}

describe("waitFor", () => {
  it("tells each of many waiters, several to a saga, its own saga's final state; one that times out leaves the others waiting", async () => {
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const saga = defineSaga<{ n: number }>({ name: "gated", version: 1 })
      .step("hold", { action: async ({ input }) => (await gate, input.n), retry: { maxAttempts: 1 } })
      .step("fail-odd", {
        action: ({ input }) => {
          if (input.n % 2 === 1) throw new TerminalError("odd");
        },
        retry: { maxAttempts: 1 },
      })
      .build();
    const store = createMemoryStore();
    // Once the waits are in place the store stops answering reads, so only the transitions
    // this process commits can tell the waiters, not their poll.
    const read = store.getInstance.bind(store);
    let reads = true;
    store.getInstance = (id) => (reads ? read(id) : new Promise(() => undefined));
    const o = await orchestrate(store, [saga]);
    const started = await Promise.all(Array.from({ length: 300 }, (_, n) => o.start(saga, { n })));
    const waits = started.flatMap(({ id }) => [o.waitFor(id, 10_000), o.waitFor(id, 10_000)]);
    const impatient = o.waitFor(started[0]!.id, 20);
    await expect(impatient).rejects.toThrow(`saga ${started[0]!.id} did not end within 20 ms`);
    reads = false;
    open();
    const finals = await Promise.all(waits);
    finals.forEach((state, i) => {
      const n = Math.floor(i / 2);
      expect(state.id).toBe(started[n]!.id);
      expect(state.status).toBe(n % 2 === 1 ? "compensated" : "completed");
    });
    // A saga that ended already answers at once, from the store.
    reads = true;
    expect((await o.waitFor(started[1]!.id, 1_000)).status).toBe("compensated");
  });
});

describe("lease renewals", () => {
  it("leave alone the lease of a saga whose commits keep extending it, and renew one whose step outlasts a sixth of it", async () => {
    const store = createMemoryStore();
    const renewed: string[] = [];
    const renewLeases = store.renewLeases.bind(store);
    store.renewLeases = (workerId, leases, expiresAtMs, nowMs) => {
      renewed.push(...leases.map((lease) => lease.sagaId));
      return renewLeases(workerId, leases, expiresAtMs, nowMs);
    };
    const after = (ms: number) => () => new Promise<{ done: true }>((resolve) => setTimeout(() => resolve({ done: true }), ms));
    // 40 steps of 50 ms: a commit every 50 ms, each extending the lease to 4.8 s from then; the
    // heartbeat (every 1.6 s) finds more than 4 s (five sixths) left, and leaves it to the commits.
    let busy = defineSaga<{ trip: string }>({ name: "busy", version: 1 }) as SagaBuilder<{ trip: string }, Record<string, unknown>>;
    for (let i = 0; i < 40; i++) busy = busy.step(`s${i}` as never, { action: after(50) });
    const slow = defineSaga<{ trip: string }>({ name: "slow", version: 1 }).step("wait", { action: after(3_500) }).build();
    const o = await orchestrate(store, [busy.build(), slow], { leaseMs: 4_800 });
    const [busyId, slowId] = [(await o.start("busy", { trip: "b" })).id, (await o.start(slow, { trip: "s" })).id];
    expect((await o.waitFor(busyId, 10_000)).status).toBe("completed");
    expect((await o.waitFor(slowId, 10_000)).status).toBe("completed");
    expect(renewed).not.toContain(busyId);
    expect(renewed).toContain(slowId);
  });
});

describe("step contexts", () => {
  it("give an action its context, and a compensation the same with its action's output, each with a signal made when read", async () => {
    const seen: Record<string, { keys: string[]; spread: Record<string, unknown>; output?: unknown; signalAborted: boolean }> = {};
    const saga = defineSaga<{ n: number }>({ name: "contexts", version: 1 })
      .step("reserve", {
        action: (ctx) => {
          seen.action = { keys: Object.keys(ctx), spread: { ...ctx }, signalAborted: ctx.signal.aborted };
          return { ref: `r-${ctx.input.n}` };
        },
        compensate: (ctx) => {
          seen.compensation = { keys: Object.keys(ctx), spread: { ...ctx }, output: ctx.output, signalAborted: ctx.signal.aborted };
        },
        retry: { maxAttempts: 1 },
      })
      .step("charge", {
        action: () => {
          throw new TerminalError("declined");
        },
        retry: { maxAttempts: 1 },
      })
      .build();
    const o = await orchestrate(createMemoryStore(), [saga]);
    const { id } = await o.start(saga, { n: 7 });
    expect((await o.waitFor(id, 5_000)).status).toBe("compensated");
    expect(seen.action?.keys).toEqual(["sagaId", "step", "attempt", "idempotencyKey", "input", "outputs", "signal"]);
    expect(seen.compensation?.keys).toEqual(["sagaId", "step", "attempt", "idempotencyKey", "input", "outputs", "signal", "output"]);
    expect(seen.compensation?.output).toEqual({ ref: "r-7" });
    expect(seen.compensation?.spread).toMatchObject({ sagaId: id, step: "reserve", idempotencyKey: `${id}:reserve:compensate`, input: { n: 7 }, output: { ref: "r-7" } });
    expect(seen.compensation?.spread.signal).toBeInstanceOf(AbortSignal);
    expect([seen.action?.signalAborted, seen.compensation?.signalAborted]).toEqual([false, false]);
  });

  it("take what a step returns as `await` would: a plain value, a promise or a foreign thenable is its output; a throw, a rejection or a non-JSON value fails it", async () => {
    // A thenable that is not a native promise, settling later, as some client libraries return.
    const thenable = <T>(outcome: { value: T } | { error: Error }): PromiseLike<T> => ({
      then(onFulfilled, onRejected) {
        return new Promise<T>((resolve, reject) => setTimeout(() => ("error" in outcome ? reject(outcome.error) : resolve(outcome.value)), 2)).then(onFulfilled, onRejected);
      },
    });
    const returning = (name: string, action: () => unknown): SagaDefinition<Record<string, never>> =>
      defineSaga<Record<string, never>>({ name, version: 1 })
        .step("first", { action: () => ({ first: true }), compensate: () => undefined, retry: { maxAttempts: 1 } })
        .step("second", { action, retry: { maxAttempts: 1 } })
        .build();
    const sagas = {
      plain: returning("plain", () => ({ n: 1 })),
      promise: returning("promise", () => Promise.resolve({ n: 2 })),
      thenable: returning("thenable", () => thenable({ value: { n: 3 } })),
      throws: returning("throws", () => {
        throw new TerminalError("thrown at once");
      }),
      rejects: returning("rejects", () => thenable({ error: new TerminalError("rejected later") })),
      notJson: returning("not-json", () => ({ n: 1n })),
    };
    const o = await orchestrate(createMemoryStore(), Object.values(sagas));
    const ended = async (saga: SagaDefinition<Record<string, never>>): Promise<SagaState> => o.waitFor((await o.start(saga, {})).id, 5_000);
    const [plain, promise, foreign, throws, rejects, notJson] = await Promise.all(Object.values(sagas).map(ended));
    expect([plain, promise, foreign].map((state) => [state?.status, state?.steps[1]?.output])).toEqual([
      ["completed", { n: 1 }],
      ["completed", { n: 2 }],
      ["completed", { n: 3 }],
    ]);
    expect([throws, rejects, notJson].map((state) => [state?.status, state?.steps[0]?.compensation.status])).toEqual([
      ["compensated", "succeeded"],
      ["compensated", "succeeded"],
      ["compensated", "succeeded"],
    ]);
    expect([throws, rejects].map((state) => state?.steps[1]?.action.lastError?.message)).toEqual(["thrown at once", "rejected later"]);
    expect(notJson?.steps[1]?.action.lastError?.message).toMatch(/output of step second/);
  });
});

describe.each(stores)("Orchestrator on the %s store", (_name, createStore) => {
  it("runs the steps in order, passing typed outputs forward, and ends completed", async () => {
    const calls: Call[] = [];
    const saga = tripSaga(calls);
    const o = await orchestrate(createStore(), [saga]);
    const { id } = await o.start(saga, { trip: "T1" });
    const final = await o.waitFor(id, 5_000);
    expect(final.status).toBe("completed");
    expect(calls.map((c) => `${c.kind}:${c.step}`)).toEqual(["action:reserve", "action:book", "action:notify"]);
    expect(calls.map((c) => c.key)).toEqual([`${id}:reserve`, `${id}:book`, `${id}:notify`]);
    expect(final.steps[2]?.output).toBe("sent B-R-T1");
    const history = await o.history(id);
    expect(history.map((h) => h.seq)).toEqual(history.map((_, i) => i + 1));
    expect(history.at(-1)).toMatchObject({ type: "saga_ended", status: "completed" });
    expect(history.every((h) => h.type === "saga_started" || h.workerId === o.workerId)).toBe(true);
  });

  it("retries a failed saga on request: the compensation that gave up runs again with its key, and the saga ends compensated", async () => {
    const refund = { broken: true, keys: [] as string[] };
    const saga = defineSaga<null>({ name: "repairable", version: 1 })
      .step("charge", {
        action: () => ({ charged: true }),
        compensate: ({ idempotencyKey }) => {
          refund.keys.push(idempotencyKey);
          if (refund.broken) throw new TerminalError("refunds are switched off");
        },
      })
      .step("ship", { action: () => Promise.reject(new TerminalError("no courier")) })
      .build();
    const o = await orchestrate(createStore(), [saga], { pollIntervalMs: 20 });
    const { id } = await o.start(saga, null);
    expect((await o.waitFor(id, 5_000)).status).toBe("failed");
    refund.broken = false;
    await o.retry(id, { reason: "refunds are back", by: "ops" });
    await expect.poll(async () => (await o.get(id)).status, { timeout: 5_000 }).toBe("compensated");
    expect(refund.keys).toEqual([`${id}:charge:compensate`, `${id}:charge:compensate`]);
    await expect(o.retry(id)).rejects.toMatchObject({ code: "RETRY_NOT_ALLOWED" });
  });

  it("compensates a step whose retries ran out after failures it cannot tell from success (outcomeUnknown), and not after plain ones", async () => {
    const undone: string[] = [];
    const saga = (unknown: boolean): SagaDefinition<null> =>
      defineSaga<null>({ name: `unknown-${String(unknown)}`, version: 1 })
        .step("charge", {
          action: () => Promise.reject(new RetryableError("no answer from the bank", { outcomeUnknown: unknown })),
          compensate: ({ output }) => void undone.push(`${String(unknown)}:${JSON.stringify(output)}`),
          retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
        })
        .build();
    const o = await orchestrate(createStore(), [saga(true), saga(false)]);
    const maybe = await o.start("unknown-true", null);
    const surely = await o.start("unknown-false", null);
    expect((await o.waitFor(maybe.id, 5_000)).steps[0]?.compensation.status).toBe("succeeded");
    expect((await o.waitFor(surely.id, 5_000)).steps[0]?.compensation.status).toBe("not_needed");
    expect(undone).toEqual(["true:null"]);
  });

  it("retries a retryable failure with the same idempotency key and then succeeds", async () => {
    const calls: Call[] = [];
    const saga = tripSaga(calls, { failBook: 2 });
    const o = await orchestrate(createStore(), [saga]);
    const { id } = await o.start(saga, { trip: "T2" });
    expect((await o.waitFor(id, 5_000)).status).toBe("completed");
    const books = calls.filter((c) => c.step === "book");
    expect(books.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(new Set(books.map((c) => c.key))).toEqual(new Set([`${id}:book`]));
    const failures = (await o.history(id)).filter((h) => h.type === "attempt_failed");
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ error: { name: "RetryableError", message: "busy", cause: { message: "upstream 503" } } });
  });

  it("compensates completed steps newest first after a terminal failure and ends compensated", async () => {
    const calls: Call[] = [];
    const saga = tripSaga(calls, { failBook: "terminal" });
    const o = await orchestrate(createStore(), [saga]);
    const { id } = await o.start(saga, { trip: "T3" });
    const final = await o.waitFor(id, 5_000);
    expect(final.status).toBe("compensated");
    expect(final.stop).toMatchObject({ reason: "step_failed", step: "book", error: { message: "no seats" } });
    expect(calls.map((c) => `${c.kind}:${c.step}`)).toEqual(["action:reserve", "action:book", "compensation:reserve"]);
    expect(calls.at(-1)?.key).toBe(`${id}:reserve:compensate`);
  });

  it("retries a failing compensation and, when it never succeeds, ends failed naming what is outstanding", async () => {
    const calls: Call[] = [];
    const saga = tripSaga(calls, { failBook: "terminal", failRelease: "always" });
    const o = await orchestrate(createStore(), [saga]);
    const { id } = await o.start(saga, { trip: "T4" });
    const final = await o.waitFor(id, 5_000);
    expect(final.status).toBe("failed");
    expect(final.outstanding).toEqual([{ step: "reserve", phase: "compensation" }]);
    expect(calls.filter((c) => c.kind === "compensation").map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
  });

  it("times out a slow attempt, retries it, and compensates when every attempt times out", async () => {
    const calls: Call[] = [];
    const base = tripSaga(calls, { slowBookMs: 200 });
    const saga = defineSaga<{ trip: string }>({ name: "slow", version: 1 })
      .step("reserve", { action: base.steps[0]!.action, compensate: base.steps[0]!.compensate!, compensationRetry: fast })
      .step("book", { action: base.steps[1]!.action, timeoutMs: 20, retry: { ...fast, maxAttempts: 2 } })
      .build();
    const o = await orchestrate(createStore(), [saga]);
    const { id } = await o.start(saga, { trip: "T5" });
    const final = await o.waitFor(id, 5_000);
    expect(final.status).toBe("compensated");
    const failed = (await o.history(id)).filter((h) => h.type === "attempt_failed");
    expect(failed).toHaveLength(2);
    expect(failed.every((h) => h.type === "attempt_failed" && h.timedOut && h.error.name === "StepTimeoutError")).toBe(true);
  });

  it("returns the existing instance for a repeated idempotency key and runs it once", async () => {
    const calls: Call[] = [];
    const saga = tripSaga(calls);
    const o = await orchestrate(createStore(), [saga]);
    const results = await Promise.all([1, 2, 3].map(() => o.start(saga, { trip: "T6" }, { idempotencyKey: "order-6" })));
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    await o.waitFor(results[0]!.id, 5_000);
    expect(calls.filter((c) => c.step === "reserve")).toHaveLength(1);
    const page = await o.list({ limit: 10 });
    expect(page.items).toHaveLength(1);
  });

  it("cancels a running saga: the running step settles first, then everything completed is compensated", async () => {
    const calls: Call[] = [];
    const saga = tripSaga(calls, { slowBookMs: 150 });
    const o = await orchestrate(createStore(), [saga]);
    const { id } = await o.start(saga, { trip: "T7" });
    await waitUntil(() => calls.some((c) => c.step === "book"));
    await o.cancel(id, { reason: "customer changed their mind", by: "test" });
    const final = await o.waitFor(id, 5_000);
    expect(final.status).toBe("compensated");
    expect(final.cancel).toMatchObject({ reason: "customer changed their mind", by: "test" });
    expect(calls.map((c) => `${c.kind}:${c.step}`)).toEqual(["action:reserve", "action:book", "compensation:book", "compensation:reserve"]);
    await expect(o.cancel(id)).rejects.toMatchObject({ code: "CANCEL_NOT_ALLOWED" });
    await expect(o.cancel("no-such-saga")).rejects.toMatchObject({ code: "SAGA_NOT_FOUND" });
  });

  it("recovers an attempt left in doubt by a dead worker, re-running it with the same key", async () => {
    const calls: Call[] = [];
    const saga = tripSaga(calls);
    const store = createStore();
    const crashedState = await leaveInDoubt(store, saga, "dead-worker", 1);
    const o = await orchestrate(store, [saga]);
    const final = await o.waitFor(crashedState.id, 5_000);
    expect(final.status).toBe("completed");
    expect(final.recoveries).toBe(1);
    const reserve = calls.filter((c) => c.step === "reserve");
    expect(reserve).toEqual([{ key: `${crashedState.id}:reserve`, attempt: 2, kind: "action", step: "reserve" }]);
    const history = await o.history(crashedState.id);
    expect(history.find((h) => h.type === "attempt_in_doubt")).toMatchObject({ step: "reserve", attempt: 1, recoveries: 1 });
  });

  it("parks a saga as failed (recovery_limit) when its worker keeps dying", async () => {
    const calls: Call[] = [];
    const saga = defineSaga<{ trip: string }>({ name: "crashy", version: 1, maxRecoveries: 2 })
      .step("reserve", { action: () => ({ ok: true }) })
      .build();
    const store = createStore();
    const state = await leaveInDoubt(store, saga, "w1", 1);
    for (const worker of ["w2", "w3"]) await dieAgain(store, saga, worker);
    const o = await orchestrate(store, [saga]);
    const final = await o.waitFor(state.id, 5_000);
    expect(final.status).toBe("failed");
    expect(final.stop?.reason).toBe("recovery_limit");
    expect(final.outstanding).toEqual([{ step: "reserve", phase: "action" }]);
    expect(calls).toHaveLength(0);
  });

  it("shares one store between two workers without running any attempt twice", async () => {
    const calls: Call[] = [];
    const saga = tripSaga(calls);
    const store = createStore();
    const a = await orchestrate(store, [saga], { workerId: "a", concurrency: 4 });
    const b = await orchestrate(store, [saga], { workerId: "b", concurrency: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await (i % 2 ? a : b).start(saga, { trip: `F${i}` }, {})).id);
    for (const id of ids) expect((await a.waitFor(id, 10_000)).status).toBe("completed");
    const keys = calls.map((c) => c.key);
    expect(keys).toHaveLength(120);
    expect(new Set(keys).size).toBe(120);
  });

  it("group-commits concurrent starts: each resolves durable, a reused id fails only its own start, a repeated key names one saga", async () => {
    const calls: Call[] = [];
    const saga = tripSaga(calls);
    const store = createStore();
    const writeBatch = store.writeBatch.bind(store);
    const batches: number[] = [];
    store.writeBatch = (batch) => {
      batches.push(batch.creates.length);
      return writeBatch(batch);
    };
    const o = await orchestrate(store, [saga], { concurrency: 8 });
    const started = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => o.start(saga, { trip: `G${i}` }, { id: `g-${i}` })),
      o.start(saga, { trip: "dup" }, { id: "g-3" }),
      o.start(saga, { trip: "K1" }, { idempotencyKey: "same-key" }),
      o.start(saga, { trip: "K2" }, { idempotencyKey: "same-key" }),
    ]);
    // All of them were written together: by one transaction, or, where the store takes several
    // batches at once (PostgreSQL), shared among batches of at least 16.
    const together = (store.concurrentWrites ?? 1) > 1 ? Math.ceil(23 / 16) : 1;
    expect(batches.slice(0, together).reduce((sum, n) => sum + n, 0)).toBe(23);
    expect(batches.slice(0, together).every((n) => n >= 16 || n === 23 % 16)).toBe(true);
    const [duplicate, first, second] = started.slice(20);
    // Two starts named g-3. Written by one transaction, the first wins; where batches are written
    // at once on several connections (PostgreSQL), whichever batch commits first does. Either
    // way exactly one of them is refused, for its id, and the saga holds the winner's input.
    const original = started[3];
    const contenders = [original, duplicate];
    const refused = contenders.filter((result) => result?.status === "rejected");
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ status: "rejected", reason: { code: "INVALID_ARGUMENT", field: "state.id" } });
    if (together === 1) expect(duplicate?.status).toBe("rejected");
    const winnerInput = original?.status === "fulfilled" ? { trip: "G3" } : { trip: "dup" };
    if (first?.status !== "fulfilled" || second?.status !== "fulfilled") throw new Error("keyed starts failed");
    expect(first.value.created).toBe(true);
    expect(second.value).toMatchObject({ created: false, id: first.value.id });
    for (const result of [...started.slice(0, 20), duplicate]) {
      if (result?.status !== "fulfilled") continue;
      expect((await o.waitFor(result.value.id, 10_000)).status).toBe("completed");
    }
    expect((await o.waitFor(first.value.id, 10_000)).status).toBe("completed");
    expect((await o.get("g-3")).input).toEqual(winnerInput);
    expect(calls.filter((c) => c.step === "reserve")).toHaveLength(21);
  });

  it("hands a slot freed by a saga that ended to a start made from its completion notice (fast path, no claim)", async () => {
    const saga = tripSaga([]);
    const store = createStore();
    const claimDue = store.claimDue.bind(store);
    let claimed = 0;
    store.claimDue = async (request) => {
      const result = await claimDue(request);
      claimed += result.length;
      return result;
    };
    const o = await orchestrate(store, [saga], { concurrency: 1 });
    const ended: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      o.onTransition((notice) => {
        if (notice.state.status !== "completed") return;
        ended.push(notice.sagaId);
        if (ended.length === 5) resolve();
        else o.start(saga, { trip: `chain-${ended.length}` }).catch(reject);
      });
    });
    await o.start(saga, { trip: "chain-0" });
    await done;
    expect(claimed).toBe(0);
  });

  it("keeps its lease through steps that run several lease times, renewing it instead of losing the saga", async () => {
    const slowStep = (ms: number) => () => new Promise<{ done: true }>((resolve) => setTimeout(() => resolve({ done: true }), ms));
    const saga = defineSaga<{ trip: string }>({ name: "long", version: 1 })
      .step("first", { action: slowStep(700), compensate: () => undefined })
      .step("second", { action: slowStep(700) })
      .build();
    const o = await orchestrate(createStore(), [saga], { leaseMs: 200 });
    const ids = await Promise.all([1, 2, 3].map(async (n) => (await o.start(saga, { trip: `L${n}` })).id));
    for (const id of ids) {
      const final = await o.waitFor(id, 10_000);
      expect(final.status).toBe("completed");
      expect(final.recoveries).toBe(0);
      expect(final.steps.map((step) => step.action.attempt)).toEqual([1, 1]);
      const types = (await o.history(id)).map((entry) => entry.type);
      expect(types).not.toContain("write_rejected");
      expect(types).not.toContain("attempt_in_doubt");
    }
  });

  it("names a saga started without an id with a UUIDv7, so ids sort in start order", async () => {
    const saga = tripSaga([]);
    const o = await orchestrate(createStore(), [saga]);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await o.start(saga, { trip: `T${i}` })).id);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Several in one millisecond too: the generator counts within it rather than drawing at random.
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await o.get(ids[0] as string)).id).toBe(ids[0]);
  });

  it("rejects bad arguments without writing anything", async () => {
    const saga = tripSaga([]);
    const store = createStore();
    const o = await orchestrate(store, [saga]);
    await expect(o.start(saga, { trip: "x" }, { id: "has:colon" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", field: "id" });
    await expect(o.start("nope", {})).rejects.toMatchObject({ code: "UNKNOWN_DEFINITION" });
    await expect(o.start(saga, { trip: 10n } as unknown as { trip: string })).rejects.toMatchObject({ code: "NOT_SERIALIZABLE" });
    expect((await o.list({ limit: 10 })).items).toHaveLength(0);
  });
});

async function waitUntil(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

type AnySaga = ReturnType<typeof tripSaga> | ReturnType<ReturnType<typeof defineSaga<{ trip: string }>>["build"]>;

/** Simulates a worker that started the first step and died: state says running, lease already expired. */
async function leaveInDoubt(store: SagaStore, saga: AnySaga, workerId: string, now: number): Promise<SagaState> {
  await store.init();
  const { createInitialState } = await import("../../src/engine/initial-state.js");
  const initial = createInitialState(saga.plan, { id: `saga-${workerId}-${Math.random().toString(36).slice(2, 8)}`, input: { trip: "X" }, idempotencyKey: null, nowMs: now });
  const decision = decide(saga.plan, initial.state, { type: "claimed" }, now);
  await store.createInstance({ state: decision.state, history: [...initial.history, ...decision.history], lease: { owner: workerId, expiresAtMs: now + 1 } });
  return decision.state;
}

/** Another worker claims the instance, re-starts the in-doubt attempt, and dies before its outcome. */
async function dieAgain(store: SagaStore, saga: AnySaga, workerId: string): Promise<void> {
  const now = Date.now();
  const [claimed] = await store.claimDue({ workerId, nowMs: now, leaseMs: 1, limit: 1, definitions: [`${saga.name}@${saga.version}`] });
  if (!claimed) throw new Error("nothing to claim");
  const decision = decide(saga.plan, claimed.record.state, { type: "claimed" }, now);
  const [outcome] = await store.commitTransitions([
    { sagaId: claimed.record.state.id, epoch: claimed.record.epoch, workerId, nowMs: now, state: decision.state, history: decision.history, inboxSeq: claimed.record.inboxSeq, lease: { expiresAtMs: now + 1 } },
  ]);
  expect(outcome).toEqual({ ok: true });
  await new Promise((resolve) => setTimeout(resolve, 3));
}
