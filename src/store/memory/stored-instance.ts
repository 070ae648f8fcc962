import type { HistoryEntry } from "../../domain/history.js";
import type { JsonValue } from "../../domain/json.js";
import type { Phase, SagaStatus } from "../../domain/status.js";
import type { PhaseState, SagaState, StepState } from "../../domain/state.js";
import { copyRareFields } from "../../domain/copy-state.js";
import type { InboxMessage, InstanceRecord } from "../saga-store.js";
import { definitionKey } from "../saga-store.js";
import { newSlot, type DueSlot } from "./due-index.js";

/** One instance as the memory store holds it while it may still change: the same columns the SQL adapters keep. */
export interface StoredInstance extends InstanceRecord {
  /** The scheduling time, which a delivery pulls forward without touching the engine's `state.wakeAtMs`. */
  wakeAtMs: number | null;
  /** History entries as the writers gave them (numbered by position from 1)… */
  history: HistoryEntry[];
  /** …and who wrote each one (null: written without a lease); commits of one claim share one object. */
  writers: Array<Writer | null>;
  inbox: InboxMessage[];
  /** Its place in the due index (the same object until the instance moves to another definition version). */
  slot: DueSlot;
}

/**
 * A new live instance (no history, inbox or messages applied yet) as a class, its history and
 * writers made by `new Array`: no object or array literal, so no allocation site V8 could
 * pretenure. A literal's site is pretenured once nearly
 * all the objects it made outlive a young-generation collection, and at high concurrency every
 * instance in flight does: from then on instances, which die when their saga ends (packed or
 * forgotten), are allocated in the old generation and pile up there until a full collection. On
 * 2026-12-02, with the store forgetting ended sagas (`keepEnded: 0`) at C=512 in a process that
 * had already run sagas at that concurrency, that happened in about half of the runs: 75–114k
 * sagas/s with 31–39% of the time in garbage collection, against 146–178k and 17–21% with none of
 * these literals left (0 of 6 runs against 2 of 6).
 */
export class LiveInstance implements StoredInstance {
  inboxSeq = 0;
  inboxAppliedSeq = 0;
  // `new Array`, not `[]`: see the class comment.
  history: HistoryEntry[] = new Array<HistoryEntry>();
  writers: Array<Writer | null> = new Array<Writer | null>();
  inbox: InboxMessage[] = NO_MESSAGES;

  constructor(
    public state: SagaState,
    public epoch: number,
    public leaseOwner: string | null,
    public leaseExpiresAtMs: number | null,
    public wakeAtMs: number | null,
    public slot: DueSlot,
  ) {}
}

/** The worker and epoch that wrote history entries. */
export interface Writer {
  workerId: string;
  epoch: number;
}

/**
 * A saga that ended for good (`completed` or `compensated`) as the memory store keeps it: one
 * array of slots instead of the fifty-odd objects its state and history are made of (steps,
 * phases, history entries, a boxed number for every timestamp), which V8's collector would copy,
 * promote and mark again for as long as the store lives. Times are kept as small-integer offsets
 * from the saga's creation (no box); phases and history entries of the common shapes are written
 * out field by field, and anything else (an error, a cancel, a rarer entry) is kept as the object
 * it was. Its first slots are the columns the listings and counts read without unpacking.
 */
export type EndedSaga = unknown[];

const ID = 0;
const STATUS = 1;
const DEFINITION_NAME = 2;
const DEFINITION_VERSION = 3;
/** The creation time in two small integers (`putCreatedAt`), so that it needs no box of its own. */
const CREATED_AT_HIGH = 4;
const CREATED_AT_LOW = 5;
/** An offset from the creation time, as `Packer.time` writes it. */
const ENDED_AT_MS = 6;
const IDEMPOTENCY_KEY = 7;
const EPOCH = 8;
const INBOX_SEQ = 9;
const INBOX_APPLIED_SEQ = 10;
/** Where the state's other fields begin, then its steps, then the history. */
const BODY = 11;

/**
 * Where packing writes before the slots are copied into an array of their exact size: growing
 * each saga's array by pushes would allocate several larger ones on the way (and keep the last
 * one's spare capacity). Grown once to the largest saga packed, never shrunk.
 */
const SCRATCH: unknown[] = [];

/** An absent optional field. */
const ABSENT = Symbol("absent");
/** A phase never started (pending, no attempt, no failure, no time): every compensation of a saga that succeeded. */
const NOT_STARTED = Symbol("not started");
/** A history entry written by the same writer as the entry before it. */
const SAME_WRITER = Symbol("same writer");

const STARTED = 1;
const ATTEMPT_STARTED = 2;
const ATTEMPT_SUCCEEDED = 3;
const ENDED = 4;

/** An instance or an ended saga, as the store's table holds them. */
export type Kept = StoredInstance | EndedSaga;

export function isEnded(kept: Kept): kept is EndedSaga {
  return Array.isArray(kept);
}

/** The inbox of every instance that was never delivered to: one array for all (a delivery makes a new one). */
export const NO_MESSAGES: InboxMessage[] = Object.freeze([]) as unknown as InboxMessage[];

/** Integers V8 keeps unboxed on every build: 31 bits with pointer compression, 32 without (as Node ships). */
function isSmall(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= -0x40000000 && value <= 0x3fffffff && !Object.is(value, -0);
}

/** 2^30: the creation time is split at this multiple, both parts small integers for any whole number of milliseconds a date can hold. */
const TIME_SPLIT = 0x40000000;

/**
 * Writes the creation time as two small integers, its multiple of 2^30 and the rest: a time since
 * 1970 in milliseconds does not fit in one, and a boxed number is one more object the collector
 * copies and marks for every saga the store keeps (measured: about a tenth of the in-memory rate
 * at 512 in flight, for the creation and end times together). A time that is not a whole number
 * (or is -0) is kept as it is, beside `ABSENT`.
 */
function putCreatedAt(packer: Packer, ms: number): void {
  if (Number.isSafeInteger(ms) && !Object.is(ms, -0)) {
    const high = Math.floor(ms / TIME_SPLIT);
    packer.put(high);
    packer.put(ms - high * TIME_SPLIT);
  } else {
    packer.put(ms);
    packer.put(ABSENT);
  }
}

function createdAtOf(packed: EndedSaga): number {
  const high = packed[CREATED_AT_HIGH] as number;
  const low = packed[CREATED_AT_LOW];
  return low === ABSENT ? high : high * TIME_SPLIT + (low as number);
}

/** A time `Packer.time` wrote: an offset from `baseMs` when it is a small integer. */
function readTime(value: number, baseMs: number): number {
  return isSmall(value) ? baseMs + value : value;
}

/** Writes the fields of the common shapes into one array; `ok` turns false for a time it cannot write unambiguously. */
class Packer {
  ok = true;
  /** Slots written so far into `SCRATCH`. */
  length = 0;
  readonly #baseMs: number;

  constructor(baseMs: number) {
    this.#baseMs = baseMs;
  }

  put(value: unknown): void {
    SCRATCH[this.length++] = value;
  }

  /** The slots written, in an array of exactly their number. */
  result(): EndedSaga {
    // What the scratch array still points to past this saga's slots is left there: at most one
    // earlier saga's values, overwritten by the next packing.
    return SCRATCH.slice(0, this.length);
  }

  /** A time as its offset from the base when that is a small integer, else as it is (read back by `Unpacker.time`). */
  time(value: number): void {
    const offset = value - this.#baseMs;
    if (isSmall(offset) && Object.is(this.#baseMs + offset, value)) this.put(offset); // Object.is: -0 is not 0
    else if (isSmall(value)) this.ok = false; // it would read back as an offset
    else this.put(value);
  }

  /** A short array of step indexes, written out: its length, then each. */
  numbers(values: readonly number[]): void {
    this.put(values.length);
    for (const value of values) this.put(value);
  }

  optionalTime(value: number | undefined): void {
    if (value === undefined) this.put(ABSENT);
    else this.time(value);
  }

  phase(phase: PhaseState): void {
    if (phase.nextAttemptAtMs !== undefined || phase.lastError !== undefined || phase.lastTimedOut !== undefined || phase.deadlineAtMs !== undefined) {
      this.put(phase);
      return;
    }
    if (phase.status === "pending" && phase.attempt === 0 && phase.failures === 0 && phase.startedAtMs === undefined && phase.settledAtMs === undefined) {
      this.put(NOT_STARTED);
      return;
    }
    this.put(phase.status);
    this.put(phase.attempt);
    this.put(phase.failures);
    this.optionalTime(phase.startedAtMs);
    this.optionalTime(phase.settledAtMs);
  }

  entry(entry: HistoryEntry): void {
    switch (entry.type) {
      case "saga_started":
        this.put(STARTED);
        this.time(entry.atMs);
        this.put(entry.input);
        this.put(entry.idempotencyKey);
        return;
      case "attempt_started":
        this.put(ATTEMPT_STARTED);
        this.time(entry.atMs);
        this.put(entry.step);
        this.put(entry.phase);
        this.put(entry.attempt);
        return;
      case "attempt_succeeded":
        if (entry.by !== undefined) break;
        this.put(ATTEMPT_SUCCEEDED);
        this.time(entry.atMs);
        this.put(entry.step);
        this.put(entry.phase);
        this.put(entry.attempt);
        this.put(entry.output === undefined ? ABSENT : entry.output);
        return;
      case "saga_ended":
        if (entry.reason !== undefined || entry.outstanding !== undefined) break;
        this.put(ENDED);
        this.time(entry.atMs);
        this.put(entry.status);
        return;
      default:
        break;
    }
    this.put(entry);
  }
}

/**
 * The state's optional fields that the packing keeps as they are, in one object, when any is set.
 * A field added to `SagaState` or `PhaseState` must be packed too: test/store/packed-saga.test.ts
 * packs a state and phases built from test/support/full-state.ts, which name every field, and
 * fails until it is.
 */
function extrasOf(state: SagaState): Partial<SagaState> | typeof ABSENT {
  if (
    state.cancel === undefined &&
    state.stop === undefined &&
    state.outstanding === undefined &&
    state.deadlineAtMs === undefined &&
    state.abort === undefined &&
    state.resolution === undefined &&
    state.signals === undefined
  ) {
    return ABSENT;
  }
  const extras: Partial<SagaState> = {};
  copyRareFields(state, extras);
  return extras;
}

/**
 * `instance` packed as an `EndedSaga`, or null when it must stay as it is: it has not ended for
 * good, still holds a lease or undelivered messages, or has a time that cannot be packed.
 */
export function packEnded(instance: StoredInstance): EndedSaga | null {
  const { state } = instance;
  if ((state.status !== "completed" && state.status !== "compensated") || instance.leaseOwner !== null || instance.inbox.length > 0) return null;
  const packer = new Packer(state.createdAtMs);
  const out = packer;
  out.put(state.id);
  out.put(state.status);
  out.put(state.definitionName);
  out.put(state.definitionVersion);
  putCreatedAt(packer, state.createdAtMs);
  packer.optionalTime(state.endedAtMs);
  out.put(state.idempotencyKey);
  out.put(instance.epoch);
  out.put(instance.inboxSeq);
  out.put(instance.inboxAppliedSeq);
  out.put(state.definitionHash === undefined ? ABSENT : state.definitionHash);
  out.put(state.input);
  out.put(state.pivotPassed);
  out.put(state.recoveries);
  out.put(state.wakeAtMs);
  out.put(extrasOf(state));
  packer.time(state.updatedAtMs);
  packer.numbers(state.settledOrder);
  packer.numbers(state.compensationOrder);
  out.put(state.steps.length);
  for (const step of state.steps) {
    out.put(step.name);
    packer.phase(step.action);
    packer.phase(step.compensation);
    out.put(step.output === undefined ? ABSENT : step.output);
  }
  out.put(instance.history.length);
  for (let i = 0; i < instance.history.length; i++) {
    const writer = instance.writers[i] ?? null;
    if (i > 0 && writer === (instance.writers[i - 1] ?? null)) {
      out.put(SAME_WRITER);
    } else {
      out.put(writer === null ? null : writer.workerId);
      out.put(writer === null ? null : writer.epoch);
    }
    packer.entry(instance.history[i] as HistoryEntry);
  }
  const packed = packer.result();
  return packer.ok ? packed : null;
}

/** Reads an `EndedSaga` back, copying what was kept as it was: what it returns, the caller owns. */
class Unpacker {
  at = BODY;
  readonly #packed: EndedSaga;
  /** The saga's creation time, which the other times are offsets from. */
  readonly baseMs: number;

  constructor(packed: EndedSaga) {
    this.#packed = packed;
    this.baseMs = createdAtOf(packed);
  }

  next(): unknown {
    return this.#packed[this.at++];
  }

  /** A copy of a value kept as it was. */
  copy<T>(): T {
    return structuredClone(this.next()) as T;
  }

  time(): number {
    return readTime(this.next() as number, this.baseMs);
  }

  numbers(): number[] {
    const values = new Array<number>(this.next() as number);
    for (let i = 0; i < values.length; i++) values[i] = this.next() as number;
    return values;
  }

  optionalTime(): number | undefined {
    if (this.#packed[this.at] === ABSENT) {
      this.at++;
      return undefined;
    }
    return this.time();
  }

  phase(): PhaseState {
    const head = this.#packed[this.at];
    if (typeof head === "object") return this.copy<PhaseState>();
    if (head === NOT_STARTED) {
      this.at++;
      return { status: "pending", attempt: 0, failures: 0 };
    }
    const phase: PhaseState = { status: this.next() as PhaseState["status"], attempt: this.next() as number, failures: this.next() as number };
    const startedAtMs = this.optionalTime();
    const settledAtMs = this.optionalTime();
    if (startedAtMs !== undefined) phase.startedAtMs = startedAtMs;
    if (settledAtMs !== undefined) phase.settledAtMs = settledAtMs;
    return phase;
  }

  optionalJson(): JsonValue | undefined {
    const value = this.next();
    return value === ABSENT ? undefined : (structuredClone(value) as JsonValue);
  }

  entry(): HistoryEntry {
    const kind = this.#packed[this.at];
    if (typeof kind === "object") return this.copy<HistoryEntry>();
    this.at++;
    const atMs = this.time();
    switch (kind) {
      case STARTED:
        return { type: "saga_started", atMs, input: this.copy<JsonValue>(), idempotencyKey: this.next() as string | null };
      case ATTEMPT_STARTED:
        return { type: "attempt_started", atMs, step: this.next() as string, phase: this.next() as Phase, attempt: this.next() as number };
      case ATTEMPT_SUCCEEDED: {
        const entry: HistoryEntry = { type: "attempt_succeeded", atMs, step: this.next() as string, phase: this.next() as Phase, attempt: this.next() as number };
        const output = this.optionalJson();
        if (output !== undefined) entry.output = output;
        return entry;
      }
      default:
        return { type: "saga_ended", atMs, status: this.next() as SagaStatus };
    }
  }
}

/** The instance an `EndedSaga` was packed from, in fresh objects. */
export function unpackEnded(packed: EndedSaga): StoredInstance {
  const reader = new Unpacker(packed);
  const definitionHash = reader.next();
  const input = reader.copy<JsonValue>();
  const pivotPassed = reader.next() as boolean;
  const recoveries = reader.next() as number;
  const wakeAtMs = reader.next() as number | null;
  const extras = reader.next();
  const updatedAtMs = reader.time();
  const settledOrder = reader.numbers();
  const compensationOrder = reader.numbers();
  const steps: StepState[] = [];
  for (let count = reader.next() as number; count > 0; count--) {
    const name = reader.next() as string;
    const action = reader.phase();
    const compensation = reader.phase();
    const output = reader.optionalJson();
    steps.push(output === undefined ? { name, action, compensation } : { name, action, compensation, output });
  }
  const id = packed[ID] as string;
  // The same fields in the same order as the engine's states (`copyState`): the hash, when there is one, after the version.
  const state: SagaState = {
    id,
    definitionName: packed[DEFINITION_NAME] as string,
    definitionVersion: packed[DEFINITION_VERSION] as number,
    ...(definitionHash === ABSENT ? {} : { definitionHash: definitionHash as string }),
    input,
    idempotencyKey: packed[IDEMPOTENCY_KEY] as string | null,
    status: packed[STATUS] as SagaStatus,
    steps,
    settledOrder,
    compensationOrder,
    pivotPassed,
    recoveries,
    wakeAtMs,
    createdAtMs: reader.baseMs,
    updatedAtMs,
  };
  if (extras !== ABSENT) Object.assign(state, structuredClone(extras));
  const endedAtMs = endedAtOf(packed);
  if (endedAtMs !== undefined) state.endedAtMs = endedAtMs;
  const history: HistoryEntry[] = [];
  const writers: Array<Writer | null> = [];
  let last: Writer | null = null;
  for (let count = reader.next() as number; count > 0; count--) {
    const head = reader.next();
    if (head === SAME_WRITER) {
      writers.push(writers[writers.length - 1] ?? null);
    } else {
      const workerId = head as string | null;
      const epoch = reader.next() as number | null;
      // Entries of one claim share one writer, as appending them did.
      if (workerId === null || epoch === null) writers.push(null);
      else {
        if (last === null || last.workerId !== workerId || last.epoch !== epoch) last = { workerId, epoch };
        writers.push(last);
      }
    }
    history.push(reader.entry());
  }
  return {
    state,
    epoch: packed[EPOCH] as number,
    leaseOwner: null,
    leaseExpiresAtMs: null,
    inboxSeq: packed[INBOX_SEQ] as number,
    inboxAppliedSeq: packed[INBOX_APPLIED_SEQ] as number,
    wakeAtMs: null,
    history,
    writers,
    inbox: NO_MESSAGES,
    slot: newSlot(id, definitionKey(state.definitionName, state.definitionVersion)),
  };
}

/** The columns the store's listings and counts read, of either kind of kept saga. */
export function idOf(kept: Kept): string {
  return isEnded(kept) ? (kept[ID] as string) : kept.state.id;
}

export function statusOf(kept: Kept): SagaStatus {
  return isEnded(kept) ? (kept[STATUS] as SagaStatus) : kept.state.status;
}

export function definitionNameOf(kept: Kept): string {
  return isEnded(kept) ? (kept[DEFINITION_NAME] as string) : kept.state.definitionName;
}

export function createdAtMsOf(kept: Kept): number {
  return isEnded(kept) ? createdAtOf(kept) : kept.state.createdAtMs;
}

export function endedAtMsOf(kept: Kept): number | undefined {
  return isEnded(kept) ? endedAtOf(kept) : kept.state.endedAtMs;
}

function endedAtOf(packed: EndedSaga): number | undefined {
  const value = packed[ENDED_AT_MS];
  return value === ABSENT ? undefined : readTime(value as number, createdAtOf(packed));
}

export function idempotencyKeyOf(kept: Kept): string | null {
  return isEnded(kept) ? (kept[IDEMPOTENCY_KEY] as string | null) : kept.state.idempotencyKey;
}
