import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HistoryEntry } from "../../src/domain/history.js";
import type { PhaseState, SagaState } from "../../src/domain/state.js";
import { createInitialState } from "../../src/engine/initial-state.js";
import { newSlot } from "../../src/store/memory/due-index.js";
import { createdAtMsOf, endedAtMsOf, NO_MESSAGES, packEnded, unpackEnded, type StoredInstance, type Writer } from "../../src/store/memory/stored-instance.js";
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

/** Packs and unpacks, checking that everything the store keeps of the instance comes back equal, in fresh objects. */
function expectRoundTrip(instance: StoredInstance): void {
  const packed = packEnded(instance);
  expect(packed).not.toBeNull();
  const unpacked = unpackEnded(packed as unknown[]);
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
  // A second unpacking shares nothing with the first: each caller owns what it gets.
  const again = unpackEnded(packed as unknown[]);
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

describe("packed ended sagas", () => {
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
      const unpacked = unpackEnded(packEnded(instance) as unknown[]);
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
      const unpacked = unpackEnded(packEnded(instanceOf(state, history)) as unknown[]);
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
      const packed = packEnded(instance) as unknown[];
      expect(Object.is(createdAtMsOf(packed), createdAtMs)).toBe(true);
      expect(Object.is(endedAtMsOf(packed), endedAtMs)).toBe(true);
      expect(Object.is(unpackEnded(packed).state.createdAtMs, createdAtMs)).toBe(true);
    }
    // A saga that ended without an end time (a store is given what the engine wrote) keeps its absence.
    const started = newSaga("no-end");
    const { endedAtMs: _dropped, ...withoutEnd } = sagaCompleted(started.state, T0 + 1).state;
    const packed = packEnded(instanceOf(withoutEnd, started.history)) as unknown[];
    expect(endedAtMsOf(packed)).toBeUndefined();
    expect(unpackEnded(packed).state).toStrictEqual(withoutEnd);
  });

  it("stay as they are when a time would read back as an offset, or the saga has not ended for good, is leased or has messages waiting", () => {
    const started = newSaga("small-times", { nowMs: T0 });
    const ended = sagaCompleted(started.state, 5);
    expect(packEnded(instanceOf(ended.state, started.history))).toBeNull();
    const done = sagaCompleted(newSaga("x").state, T0 + 1).state;
    for (const instance of [
      instanceOf({ ...done, status: "running" }, []),
      instanceOf({ ...done, status: "failed" }, []),
      { ...instanceOf(done, []), leaseOwner: "w1", leaseExpiresAtMs: T0 + 1000 },
      { ...instanceOf(done, []), inbox: [{ seq: 3, event: { type: "cancel_requested" as const, reason: "r", by: "b" }, receivedAtMs: T0 }] },
    ]) {
      expect(packEnded(instance)).toBeNull();
    }
  });
});
