import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HistoryEntry } from "../../src/domain/history.js";
import type { PhaseState, SagaState } from "../../src/domain/state.js";
import { createInitialState } from "../../src/engine/initial-state.js";
import { newSlot } from "../../src/store/memory/due-index.js";
import { EndedArchive } from "../../src/store/memory/ended-archive.js";
import { NO_MESSAGES, type StoredInstance, type Writer } from "../../src/store/memory/stored-instance.js";
import { planArb, rollbackArb, scriptArb, simulate } from "../support/engine-sim.js";
import { fullPhase, fullState } from "../support/full-state.js";
import { newSaga, sagaCompleted, stepSucceeded, T0 } from "./fixtures.js";

/** The value's keys in order, all the way down: what `toStrictEqual` does not compare. */
function keyOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(keyOrder);
  if (value !== null && typeof value === "object") return Object.entries(value).map(([key, inner]) => [key, keyOrder(inner)]);
  return null;
}

function instanceOf(state: SagaState, history: HistoryEntry[], writers?: Array<Writer | null>): StoredInstance {
  const claim: Writer = { workerId: "w1", epoch: 1 };
  return {
    state,
    epoch: 3,
    leaseOwner: null,
    leaseExpiresAtMs: null,
    inboxSeq: 2,
    inboxAppliedSeq: 2,
    wakeAtMs: null,
    history,
    writers: writers ?? history.map(() => claim),
    inbox: NO_MESSAGES,
    slot: newSlot(state.id, `${state.definitionName}@${state.definitionVersion}`),
  };
}

/** The instance archived alone and read back. */
function roundTrip(instance: StoredInstance): StoredInstance {
  const archive = new EndedArchive();
  expect(archive.add(instance)).toBe(true);
  return archive.get(instance.state.id) as StoredInstance;
}

/** Archives and reads back, checking that everything the store keeps of the instance comes back equal, in fresh objects. */
function expectRoundTrip(instance: StoredInstance): void {
  const archive = new EndedArchive();
  expect(archive.add(instance)).toBe(true);
  const unpacked = archive.get(instance.state.id) as StoredInstance;
  expect(unpacked.state).toStrictEqual(instance.state);
  expect(unpacked.history).toStrictEqual(instance.history);
  expect(unpacked.writers).toEqual(instance.writers);
  expect(unpacked).toMatchObject({
    epoch: instance.epoch,
    leaseOwner: null,
    leaseExpiresAtMs: null,
    inboxSeq: instance.inboxSeq,
    inboxAppliedSeq: instance.inboxAppliedSeq,
    wakeAtMs: null,
    inbox: [],
  });
  expect(unpacked.state).not.toBe(instance.state);
  expect(unpacked.state.input === instance.state.input && typeof instance.state.input === "object" && instance.state.input !== null).toBe(false);
  // A second read shares nothing with the first: each caller owns what it gets.
  const again = archive.get(instance.state.id) as StoredInstance;
  expect(again.state.steps[0]).not.toBe(unpacked.state.steps[0]);
}

/** One history entry of every type, with every optional field set where there is one. */
const everyEntry: HistoryEntry[] = [
  { type: "saga_started", atMs: 900, input: { n: 1 }, idempotencyKey: "key-1" },
  { type: "attempt_started", atMs: 901, step: "charge", phase: "action", attempt: 1 },
  { type: "attempt_succeeded", atMs: 902, step: "charge", phase: "action", attempt: 1, output: { charged: 42 } },
  { type: "attempt_succeeded", atMs: 902, step: "charge", phase: "compensation", attempt: 1 },
  { type: "attempt_succeeded", atMs: 903, step: "charge", phase: "action", attempt: 2, output: null, by: "ops" },
  { type: "attempt_failed", atMs: 904, step: "charge", phase: "action", attempt: 1, error: { name: "Boom", message: "it broke", code: "E1" }, timedOut: false, nextAttemptAtMs: 950, by: "ops" },
  { type: "phase_gave_up", atMs: 905, step: "charge", phase: "action", attempts: 3, error: { name: "Boom", message: "it broke" } },
  { type: "attempt_in_doubt", atMs: 906, step: "charge", phase: "action", attempt: 2, recoveries: 1 },
  { type: "cancel_requested", atMs: 907, reason: "changed my mind", by: "ops" },
  { type: "retry_requested", atMs: 908, reason: "fixed", by: "ops", outstanding: [{ step: "charge", phase: "compensation" }] },
  { type: "signal_received", atMs: 909, name: "approved", id: "sig-1", by: "api" },
  { type: "sleep_started", atMs: 910, step: "wait", attempt: 1, untilMs: 2_000 },
  { type: "compensation_skipped", atMs: 911, step: "charge", reason: "refunded by hand", by: "ops" },
  { type: "resolved", atMs: 912, reason: "fixed by hand", by: "ops" },
  { type: "deadline_passed", atMs: 913, deadlineAtMs: 9_000 },
  { type: "abort_requested", atMs: 914, reason: "emergency", by: "ops" },
  { type: "migrated", atMs: 915, fromVersion: 1, toVersion: 2, reason: "new version", by: "ops" },
  { type: "compensation_started", atMs: 916, reason: "step_failed", step: "charge", order: ["charge"] },
  { type: "saga_ended", atMs: 917, status: "completed" },
  { type: "saga_ended", atMs: 918, status: "compensated", reason: "step_failed", outstanding: [] },
  { type: "write_rejected", atMs: 919, reason: "fenced", currentEpoch: 4, rejected: [{ type: "attempt_succeeded", step: "charge", phase: "action", attempt: 1 }] },
];

describe("archived ended sagas", () => {
  it("keep a state with every field set, and a history with every kind of entry and writer", () => {
    for (const status of ["completed", "compensated"] as const) {
      const writers: Array<Writer | null> = everyEntry.map((_, index) => (index === 0 ? null : { workerId: index < 10 ? "w1" : "w2", epoch: index < 10 ? 1 : 2 }));
      expectRoundTrip(instanceOf({ ...fullState, status }, everyEntry, writers));
    }
  });

  it("keep every saga the engine ends, through retries, timeouts, crashes, cancels and compensation, with the engine's key order", () => {
    let checked = 0;
    const check = (plan: Parameters<typeof simulate>[0], script: Parameters<typeof simulate>[1]): void => {
      const trace = simulate(plan, script);
      if (trace.final.status !== "completed" && trace.final.status !== "compensated") return;
      checked++;
      const history = [...createInitialState(plan, { id: "saga-1", input: { n: 1 }, idempotencyKey: null, nowMs: 0 }).history, ...trace.fed.flatMap((fed) => fed.decision.history)];
      const instance = instanceOf(trace.final, history);
      expectRoundTrip(instance);
      const unpacked = roundTrip(instance);
      expect(keyOrder(unpacked.state)).toEqual(keyOrder(trace.final));
      expect(keyOrder(unpacked.history)).toEqual(keyOrder(history));
    };
    fc.assert(
      fc.property(planArb, scriptArb, (plan, script) => check(plan, script)),
      { numRuns: 150 },
    );
    fc.assert(
      fc.property(rollbackArb, ({ plan, script }) => check(plan, script)),
      { numRuns: 150 },
    );
    // Most runs end for good; the others (failed) are not packed.
    expect(checked).toBeGreaterThan(150);
  });

  it("keep a phase that differs from a never-started one in any single field, a field added to the type included", () => {
    // Built from every key of `fullPhase` (typed Required<PhaseState>): a new field fails here until packing keeps it.
    // Started at 0, so that its small times are offsets from the start.
    const done = sagaCompleted(newSaga("phases", { nowMs: 0 }).state, 1).state;
    for (const [key, value] of Object.entries(fullPhase)) {
      const phase = { status: "pending", attempt: 0, failures: 0, [key]: value } as PhaseState;
      const state: SagaState = { ...done, steps: done.steps.map((step) => ({ ...step, action: phase, compensation: phase })) };
      expectRoundTrip(instanceOf(state, []));
    }
  });

  it("keep inputs and outputs of every kind, in fresh copies", () => {
    const odd = JSON.parse('{"__proto__": 1, "a": 2}') as SagaState["input"];
    const nine = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, i]));
    const inputs: Array<SagaState["input"]> = [{ n: 1, s: "x", b: true, z: null }, { nested: { a: [1, 2] } }, { big: 2 ** 40 }, { half: 0.5 }, nine, odd, [1, 2], "text", 7, null, {}];
    for (const input of inputs) {
      const started = newSaga("io-1");
      const state = { ...sagaCompleted(started.state, T0 + 3).state, input };
      state.steps = state.steps.map((step) => ({ ...step, output: input }));
      const history: HistoryEntry[] = [
        { type: "saga_started", atMs: T0, input, idempotencyKey: null },
        { type: "attempt_succeeded", atMs: T0 + 1, step: "charge", phase: "action", attempt: 1, output: input },
      ];
      expectRoundTrip(instanceOf(state, history));
      const unpacked = roundTrip(instanceOf(state, history));
      if (typeof input === "object" && input !== null) expect(Object.getPrototypeOf(unpacked.state.input)).toBe(Object.getPrototypeOf(input));
      expect(keyOrder(unpacked.state.input)).toEqual(keyOrder(input));
    }
  });

  it("keep times far from the saga's start, fractional ones and ones before it exactly", () => {
    const started = newSaga("packed-1", { key: "order-7" });
    const first = stepSucceeded(started.state, T0 + 2 ** 40);
    const ended = sagaCompleted(first.state, T0 + 0.5);
    const instance = instanceOf(ended.state, [...started.history, ...first.history, { ...ended.history[0], atMs: T0 - 2 ** 35 } as HistoryEntry]);
    expectRoundTrip(instance);
  });

  it("keep a creation time of any kind, and read it and the end time back without unpacking", () => {
    const creations = [T0, 0, 1, 2 ** 30, 2 ** 30 - 1, -1, -(2 ** 30) - 7, -0, T0 + 0.25, Number.MAX_SAFE_INTEGER - 1, -Number.MAX_SAFE_INTEGER, 2 ** 60, 1e300];
    for (const createdAtMs of creations) {
      const started = newSaga("created-at", { nowMs: createdAtMs });
      // Ended a little later, or (for times near the edges) at once.
      const endedAtMs = Number.isSafeInteger(createdAtMs + 3) ? createdAtMs + 3 : createdAtMs;
      const ended = sagaCompleted(started.state, endedAtMs);
      const instance = instanceOf(ended.state, [...started.history, ...ended.history]);
      expectRoundTrip(instance);
      const archive = new EndedArchive();
      archive.add(instance);
      const [summary] = [...archive.summaries()];
      expect(Object.is(summary?.createdAtMs, createdAtMs)).toBe(true);
      expect(Object.is(summary?.endedAtMs, endedAtMs)).toBe(true);
      expect(Object.is(archive.get("created-at")?.state.createdAtMs, createdAtMs)).toBe(true);
    }
    // A saga that ended without an end time (a store is given what the engine wrote) keeps its absence.
    const started = newSaga("no-end");
    const { endedAtMs: _dropped, ...withoutEnd } = sagaCompleted(started.state, T0 + 1).state;
    const archive = new EndedArchive();
    archive.add(instanceOf(withoutEnd, started.history));
    expect([...archive.summaries()][0]?.endedAtMs).toBeUndefined();
    expect(archive.get("no-end")?.state).toStrictEqual(withoutEnd);
  });

  it("keep small times that are not offsets from the start, as they were", () => {
    const started = newSaga("small-times", { nowMs: T0 });
    const ended = sagaCompleted(started.state, 5);
    expectRoundTrip(instanceOf(ended.state, [...started.history, ...ended.history]));
  });

  it("are refused, leaving the archive as it was, when the saga has not ended for good, is leased or has messages waiting", () => {
    const archive = new EndedArchive();
    const done = sagaCompleted(newSaga("x").state, T0 + 1).state;
    for (const instance of [
      instanceOf({ ...done, status: "running" }, []),
      instanceOf({ ...done, status: "failed" }, []),
      { ...instanceOf(done, []), leaseOwner: "w1", leaseExpiresAtMs: T0 + 1000 },
      { ...instanceOf(done, []), inbox: [{ seq: 3, event: { type: "cancel_requested" as const, reason: "r", by: "b" }, receivedAtMs: T0 }] },
    ]) {
      expect(archive.add(instance)).toBe(false);
    }
    expect(archive.size).toBe(0);
    expect([...archive.summaries()]).toEqual([]);
  });
});

/** A saga `id` completed with `input` (and each step's output the same), archived with key `key`. */
function endedSaga(id: string, key: string | null, input: SagaState["input"] = { n: 1 }): StoredInstance {
  const started = newSaga(id, key === null ? {} : { key });
  const state = { ...sagaCompleted(started.state, T0 + 3).state, input };
  state.steps = state.steps.map((step) => ({ ...step, output: input }));
  return instanceOf(state, [{ type: "saga_started", atMs: T0, input, idempotencyKey: key }]);
}

describe("the ended-saga archive", () => {
  it("keeps strings of every kind exactly: wide characters, lone surrogates, long ones and one larger than a chunk", () => {
    const texts = ["", "é ñ ÿ", "日本語", "😀 emoji", "lone \ud800 surrogate", "\udfff", "x".repeat(65), "ü".repeat(600), "z".repeat(5 << 20), "漢".repeat(70)];
    const archive = new EndedArchive();
    texts.forEach((text, i) => {
      const id = `${text.slice(0, 40)}#${i}`;
      const input = { [text.slice(0, 30) || "empty"]: text, list: [text, text] };
      expect(archive.add(endedSaga(id, `key:${text.slice(0, 70)}`, input))).toBe(true);
    });
    texts.forEach((text, i) => {
      const id = `${text.slice(0, 40)}#${i}`;
      const saga = archive.get(id);
      expect(saga?.state.id).toBe(id);
      expect(saga?.state.input).toStrictEqual({ [text.slice(0, 30) || "empty"]: text, list: [text, text] });
      expect(archive.getByKey(`key:${text.slice(0, 70)}`)?.state.id).toBe(id);
    });
    expect(archive.size).toBe(texts.length);
  });

  it("finds every saga by id and key across many chunks, forgets the oldest first and lets go of chunks it no longer needs", () => {
    const archive = new EndedArchive();
    const count = 30_000;
    const bulky = { note: "b".repeat(300) };
    for (let i = 0; i < count; i++) expect(archive.add(endedSaga(`saga-${i}`, i % 2 === 0 ? `key-${i}` : null, { ...bulky, i }))).toBe(true);
    expect(archive.size).toBe(count);
    expect(archive.count("completed")).toBe(count);
    expect(archive.bytesHeld).toBeGreaterThan(2 * (4 << 20));
    for (let i = 0; i < count; i += 997) {
      expect(archive.has(`saga-${i}`)).toBe(true);
      expect(archive.get(`saga-${i}`)?.state.input).toStrictEqual({ ...bulky, i });
      expect(archive.getByKey(`key-${i}`)?.state.id).toBe(i % 2 === 0 ? `saga-${i}` : undefined);
    }
    expect(archive.has("saga-x")).toBe(false);
    expect(archive.getByKey("key-1")).toBeUndefined();
    const held = archive.bytesHeld;
    for (let i = 0; i < count - 10; i++) expect(archive.dropOldest()).toBe(true);
    expect(archive.size).toBe(10);
    expect([...archive.summaries()].map((saga) => saga.id)).toEqual(Array.from({ length: 10 }, (_, i) => `saga-${count - 10 + i}`));
    expect(archive.get(`saga-${count - 11}`)).toBeUndefined();
    expect(archive.getByKey(`key-${count - 12}`)).toBeUndefined();
    expect(archive.getByKey(`key-${count - 10}`)?.state.id).toBe(`saga-${count - 10}`);
    expect(archive.bytesHeld).toBeLessThan(held / 2);
    expect(archive.count("completed")).toBe(10);
  });

  it("answers like a map of ids through any sequence of adds, takes and oldest-first drops", () => {
    type Op = { kind: "add" | "take"; n: number } | { kind: "dropOldest" };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constantFrom("add" as const, "take" as const), n: fc.integer({ min: 0, max: 60 }) }),
      fc.constant({ kind: "dropOldest" as const }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 50, maxLength: 300, size: "max" }), (ops) => {
        const archive = new EndedArchive();
        // Ids in the order they were archived, as the model of what is kept.
        const model: string[] = [];
        for (const op of ops) {
          if (op.kind === "dropOldest") {
            expect(archive.dropOldest()).toBe(model.length > 0);
            model.shift();
            continue;
          }
          const id = `id-${op.n}`;
          const kept = model.includes(id);
          if (op.kind === "add") {
            if (kept) continue;
            expect(archive.add(endedSaga(id, `k-${op.n}`))).toBe(true);
            model.push(id);
          } else {
            expect(archive.take(id)?.state.id).toBe(kept ? id : undefined);
            if (kept) model.splice(model.indexOf(id), 1);
          }
        }
        expect(archive.size).toBe(model.length);
        expect([...archive.summaries()].map((saga) => saga.id)).toEqual(model);
        for (let n = 0; n <= 60; n++) {
          const kept = model.includes(`id-${n}`);
          expect(archive.has(`id-${n}`)).toBe(kept);
          expect(archive.getByKey(`k-${n}`)?.state.id).toBe(kept ? `id-${n}` : undefined);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a saga holding a value no store could keep, and goes on as if it had not been offered", () => {
    const archive = new EndedArchive();
    expect(archive.add(endedSaga("before", "k-before"))).toBe(true);
    for (const odd of [() => 1, 10n, Symbol("own")]) {
      expect(archive.add(endedSaga("odd", "k-odd", { deep: [1, { odd }] } as unknown as SagaState["input"]))).toBe(false);
    }
    expect(archive.add(endedSaga("after", "k-after"))).toBe(true);
    expect(archive.size).toBe(2);
    expect(archive.has("odd")).toBe(false);
    expect(archive.getByKey("k-odd")).toBeUndefined();
    expect([...archive.summaries()].map((saga) => saga.id)).toEqual(["before", "after"]);
    expect(archive.get("after")?.state.input).toStrictEqual({ n: 1 });
  });

  it("keeps objects and long strings a saga shares between its state and history shared, and apart ones apart", () => {
    const error = { name: "Boom", message: "m".repeat(100), stack: "s".repeat(2_000) };
    const base = endedSaga("shared", null);
    const state: SagaState = { ...base.state, stop: { reason: "step_failed", step: "charge", error, atMs: T0 + 2 } };
    const history: HistoryEntry[] = [
      { type: "phase_gave_up", atMs: T0 + 2, step: "charge", phase: "action", attempts: 1, error },
      { type: "phase_gave_up", atMs: T0 + 2, step: "charge", phase: "action", attempts: 1, error: { ...error } },
    ];
    const archive = new EndedArchive();
    archive.add(instanceOf(state, history));
    const back = archive.get("shared") as StoredInstance;
    expect(back.state.stop).toStrictEqual(state.stop);
    expect(back.history).toStrictEqual(history);
    // The error object is written once for the stop and the first entry, and its 2,100
    // characters once more for the copy in the second entry (its strings are the same ones).
    const without = new EndedArchive();
    without.add(instanceOf({ ...base.state }, []));
    expect(archive.bytesWritten - without.bytesWritten).toBeGreaterThan(2_100);
    expect(archive.bytesWritten - without.bytesWritten).toBeLessThan(2_400);
  });
});
