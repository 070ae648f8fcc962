import type { HistoryEntry } from "../../domain/history.js";
import type { JsonValue } from "../../domain/json.js";
import type { Phase, SagaStatus } from "../../domain/status.js";
import type { PhaseState, SagaState, StepState } from "../../domain/state.js";
import { copyRareFields } from "../../domain/copy-state.js";
import { definitionKey } from "../saga-store.js";
import { newSlot } from "./due-index.js";
import { Marker, RecordReader, RecordWriter, stringEnd, stringEquals, UnencodableValue, Vocabulary } from "./record-bytes.js";
import { hashString, RecordTable } from "./record-table.js";
import { LiveInstance, NO_MESSAGES, type StoredInstance, type Writer } from "./stored-instance.js";

/**
 * Bytes of a chunk. Records are appended to the newest chunk until one does not fit; a record
 * larger than this gets a chunk of its own size.
 */
const CHUNK_BYTES = 4 << 20;

/** A record's header: its length in bytes, whether it is still kept, and its id's hash. */
const HEADER_BYTES = 9;
const KEPT = 1;
const DROPPED = 0;

/** History entries of the common shapes, written field by field. */
const STARTED = 1;
const ATTEMPT_STARTED = 2;
const ATTEMPT_SUCCEEDED = 3;
const ENDED = 4;

/** The columns of an archived saga that listings and counts read without unpacking it. */
export class ArchivedSaga {
  constructor(
    readonly id: string,
    readonly idempotencyKey: string | null,
    readonly status: SagaStatus,
    readonly definitionName: string,
    readonly createdAtMs: number,
    readonly endedAtMs: number | undefined,
    /** Where its record is, for `EndedArchive.read`. */
    readonly chunk: number,
    readonly offset: number,
  ) {}
}

/** Ended and never to change again: `failed` is left out, since an operator may retry it. */
export function endsForGood(state: SagaState): boolean {
  return state.status === "completed" || state.status === "compensated";
}

/**
 * The sagas a memory store keeps after they ended for good (`completed` or `compensated`), as
 * bytes outside V8's heap: one record each, appended to chunks of 4 MiB, found through two hash
 * tables (by id, by idempotency key) that are typed arrays too. Kept in V8's heap instead, as
 * objects or packed into one array each (1.1 KB a saga), every ended saga was more for the
 * collector to copy out of the young generation and mark again in every full collection for the
 * store's life, and V8's heap limit capped how many a process could keep. Writing a record costs
 * about what the collector spent on a packed saga (some 2 µs a saga here, docs/benchmarks.md), so
 * the in-memory rate stays where it was; what changes is that the collector's work no longer grows
 * with the sagas kept (its share of the in-memory row fell from 26% to 15%) and the heap limit no
 * longer bounds them. A record holds the saga's state, history and writers exactly (see
 * `record-bytes.ts`); reading one builds fresh objects.
 *
 * Records are appended in the order the sagas ended, so the oldest kept is the first one not yet
 * dropped (`dropOldest`); a chunk whose records are all dropped is let go.
 */
export class EndedArchive {
  readonly #vocabulary = new Vocabulary();
  readonly #chunks: Array<Buffer | null> = [];
  /** Bytes of whole records in each chunk. */
  readonly #used: number[] = [];
  /** Records still kept in each chunk. */
  readonly #kept: number[] = [];
  readonly #ids = new RecordTable((chunk, offset, id) => stringEquals(this.#chunk(chunk), offset + HEADER_BYTES, id));
  readonly #keys = new RecordTable((chunk, offset, key) => stringEquals(this.#chunk(chunk), keyPosition(this.#chunk(chunk), offset), key));
  readonly #writer = new RecordWriter(this.#vocabulary, (bytes) => this.#newChunk(bytes));
  #completed = 0;
  #compensated = 0;
  /** Where `dropOldest` looks first: nothing kept lies before it. */
  #oldestChunk = 0;
  #oldestOffset = 0;

  /** How many sagas it keeps. */
  get size(): number {
    return this.#ids.size;
  }

  /** Bytes of the chunks it holds (outside V8's heap). */
  get bytesHeld(): number {
    let bytes = 0;
    for (const chunk of this.#chunks) bytes += chunk?.length ?? 0;
    return bytes;
  }

  /** Bytes of records in the chunks it holds, dropped ones included until their chunk is let go. */
  get bytesWritten(): number {
    let bytes = 0;
    this.#chunks.forEach((chunk, i) => {
      if (chunk !== null) bytes += this.#used[i] as number;
    });
    return bytes;
  }

  /** How many it keeps that ended with `status`. */
  count(status: SagaStatus): number {
    return status === "completed" ? this.#completed : status === "compensated" ? this.#compensated : 0;
  }

  /**
   * Archives `instance`, which the caller then lets go of; false (and nothing kept) when it must
   * stay a live instance: it has not ended for good, holds a lease or messages not yet applied,
   * or holds a value no store could (a function, a bigint). `idHash`: `hashString` of its id,
   * when the caller has it already.
   */
  add(instance: StoredInstance, idHash: number = hashString(instance.state.id)): boolean {
    const { state } = instance;
    if (!endsForGood(state) || instance.leaseOwner !== null || instance.inbox.length > 0) return false;
    const writer = this.#writer;
    writer.begin();
    writer.room(HEADER_BYTES);
    writer.pos += HEADER_BYTES;
    try {
      writeSaga(writer, instance);
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      writer.pos = writer.start;
      return false;
    }
    const chunk = this.#chunks.length - 1;
    const offset = writer.start;
    const { bytes } = writer;
    bytes.writeUInt32LE(writer.pos - offset, offset);
    bytes[offset + 4] = KEPT;
    bytes.writeInt32LE(idHash, offset + 5);
    this.#used[chunk] = writer.pos;
    this.#kept[chunk] = (this.#kept[chunk] as number) + 1;
    writer.start = writer.pos;
    this.#ids.insert(idHash, chunk, offset);
    if (state.idempotencyKey !== null) this.#keys.insert(hashString(state.idempotencyKey), chunk, offset);
    if (state.status === "completed") this.#completed++;
    else this.#compensated++;
    return true;
  }

  has(id: string, idHash: number = hashString(id)): boolean {
    return this.#ids.size > 0 && this.#ids.find(idHash, id) >= 0;
  }

  /** The saga archived under `id`, in fresh objects the caller owns. */
  get(id: string, idHash: number = hashString(id)): LiveInstance | undefined {
    const slot = this.#ids.size > 0 ? this.#ids.find(idHash, id) : -1;
    return slot < 0 ? undefined : this.#unpack(this.#ids.chunkAt(slot), this.#ids.offsetAt(slot));
  }

  /** The saga archived with idempotency key `key`. */
  getByKey(key: string): LiveInstance | undefined {
    const slot = this.#keys.size > 0 ? this.#keys.find(hashString(key), key) : -1;
    return slot < 0 ? undefined : this.#unpack(this.#keys.chunkAt(slot), this.#keys.offsetAt(slot));
  }

  /** The saga archived under `id`, no longer archived: for a write that may change it. */
  take(id: string, idHash: number = hashString(id)): LiveInstance | undefined {
    const slot = this.#ids.size > 0 ? this.#ids.find(idHash, id) : -1;
    if (slot < 0) return undefined;
    const chunk = this.#ids.chunkAt(slot);
    const offset = this.#ids.offsetAt(slot);
    const instance = this.#unpack(chunk, offset);
    this.#drop(chunk, offset);
    return instance;
  }

  /** Forgets the saga that was archived longest ago; false when none is kept. */
  dropOldest(): boolean {
    while (this.#oldestChunk < this.#chunks.length) {
      const bytes = this.#chunks[this.#oldestChunk];
      const last = this.#oldestChunk === this.#chunks.length - 1;
      if (bytes === null || bytes === undefined || this.#oldestOffset >= (this.#used[this.#oldestChunk] as number)) {
        if (last) return false;
        this.#oldestChunk++;
        this.#oldestOffset = 0;
        continue;
      }
      const offset = this.#oldestOffset;
      this.#oldestOffset += bytes.readUInt32LE(offset);
      if (bytes[offset + 4] === KEPT) {
        this.#drop(this.#oldestChunk, offset);
        return true;
      }
    }
    return false;
  }

  /** Every saga kept, by its columns, oldest archived first. */
  *summaries(): IterableIterator<ArchivedSaga> {
    for (let chunk = 0; chunk < this.#chunks.length; chunk++) {
      const bytes = this.#chunks[chunk];
      if (bytes === null || bytes === undefined) continue;
      for (let offset = 0; offset < (this.#used[chunk] as number); offset += bytes.readUInt32LE(offset)) {
        if (bytes[offset + 4] === KEPT) yield this.#summaryAt(chunk, offset);
      }
    }
  }

  /** The columns of the record at this place. */
  #summaryAt(chunk: number, offset: number): ArchivedSaga {
    const reader = new RecordReader(this.#chunk(chunk), offset + HEADER_BYTES, this.#vocabulary);
    const id = reader.next() as string;
    const idempotencyKey = reader.next() as string | null;
    const status = reader.next() as SagaStatus;
    const definitionName = reader.next() as string;
    reader.next();
    const createdAtMs = reader.next() as number;
    reader.baseMs = createdAtMs;
    const endedAtMs = reader.next();
    return new ArchivedSaga(id, idempotencyKey, status, definitionName, createdAtMs, endedAtMs === Marker.absent ? undefined : (endedAtMs as number), chunk, offset);
  }

  /** The saga a summary names, in fresh objects. */
  read(saga: ArchivedSaga): LiveInstance {
    return this.#unpack(saga.chunk, saga.offset);
  }

  /** Forgets every saga and lets go of every chunk. */
  clear(): void {
    this.#chunks.length = 0;
    this.#used.length = 0;
    this.#kept.length = 0;
    this.#ids.clear();
    this.#keys.clear();
    this.#completed = 0;
    this.#compensated = 0;
    this.#oldestChunk = 0;
    this.#oldestOffset = 0;
    this.#writer.use(Buffer.alloc(0), 0);
  }

  #chunk(chunk: number): Buffer {
    return this.#chunks[chunk] as Buffer;
  }

  /** Marks the record dropped and takes it out of both tables; lets its chunk go when nothing in it is kept and nothing more will be written to it. */
  #drop(chunk: number, offset: number): void {
    const bytes = this.#chunk(chunk);
    const idHash = bytes.readInt32LE(offset + 5);
    this.#ids.removeAt(this.#ids.findRecord(idHash, chunk, offset));
    const summary = this.#summaryAt(chunk, offset);
    if (summary.idempotencyKey !== null) {
      const slot = this.#keys.findRecord(hashString(summary.idempotencyKey), chunk, offset);
      if (slot >= 0) this.#keys.removeAt(slot);
    }
    if (summary.status === "completed") this.#completed--;
    else this.#compensated--;
    bytes[offset + 4] = DROPPED;
    const kept = (this.#kept[chunk] as number) - 1;
    this.#kept[chunk] = kept;
    if (kept === 0 && chunk !== this.#chunks.length - 1) this.#chunks[chunk] = null;
  }

  /** A chunk for a record that needs `bytes` (what it has so far included), the one written to from now on. */
  #newChunk(bytes: number): Buffer {
    const previous = this.#chunks.length - 1;
    if (previous >= 0 && this.#kept[previous] === 0) this.#chunks[previous] = null;
    // Not from Node's shared pool: a chunk lives as long as one of its records is kept.
    const chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, 2 * bytes));
    this.#chunks.push(chunk);
    this.#used.push(0);
    this.#kept.push(0);
    return chunk;
  }

  #unpack(chunk: number, offset: number): LiveInstance {
    return readSaga(new RecordReader(this.#chunk(chunk), offset + HEADER_BYTES, this.#vocabulary));
  }
}

/** Where a record's idempotency key is: right after its id. */
function keyPosition(bytes: Buffer, offset: number): number {
  return stringEnd(bytes, offset + HEADER_BYTES);
}

function optionalTime(writer: RecordWriter, value: number | undefined): void {
  if (value === undefined) writer.marker(Marker.absent);
  else writer.time(value);
}

function optionalValue(writer: RecordWriter, value: unknown): void {
  if (value === undefined) writer.marker(Marker.absent);
  else writer.value(value);
}

/**
 * A phase: as it is when it has a rarer field set, a marker when it never started (every
 * compensation of a saga that succeeded), else field by field.
 */
function writePhase(writer: RecordWriter, phase: PhaseState): void {
  if (phase.nextAttemptAtMs !== undefined || phase.lastError !== undefined || phase.lastTimedOut !== undefined || phase.deadlineAtMs !== undefined) {
    writer.value(phase);
    return;
  }
  if (phase.status === "pending" && phase.attempt === 0 && phase.failures === 0 && phase.startedAtMs === undefined && phase.settledAtMs === undefined) {
    writer.marker(Marker.notStarted);
    return;
  }
  writer.name(phase.status);
  writer.number(phase.attempt);
  writer.number(phase.failures);
  optionalTime(writer, phase.startedAtMs);
  optionalTime(writer, phase.settledAtMs);
}

function writeEntry(writer: RecordWriter, entry: HistoryEntry): void {
  switch (entry.type) {
    case "saga_started":
      writer.number(STARTED);
      writer.time(entry.atMs);
      writer.value(entry.input);
      writer.value(entry.idempotencyKey);
      return;
    case "attempt_started":
      writer.number(ATTEMPT_STARTED);
      writer.time(entry.atMs);
      writer.name(entry.step);
      writer.name(entry.phase);
      writer.number(entry.attempt);
      return;
    case "attempt_succeeded":
      if (entry.by !== undefined) break;
      writer.number(ATTEMPT_SUCCEEDED);
      writer.time(entry.atMs);
      writer.name(entry.step);
      writer.name(entry.phase);
      writer.number(entry.attempt);
      optionalValue(writer, entry.output);
      return;
    case "saga_ended":
      if (entry.reason !== undefined || entry.outstanding !== undefined) break;
      writer.number(ENDED);
      writer.time(entry.atMs);
      writer.name(entry.status);
      return;
    default:
      break;
  }
  writer.value(entry);
}

/**
 * The state's optional fields that are written as they are, in one object, when any is set.
 * A field added to `SagaState` or `PhaseState` must be written too: test/store/ended-archive.test.ts
 * archives a state and phases built from test/support/full-state.ts, which name every field, and
 * fails until it is.
 */
function extrasOf(state: SagaState): Partial<SagaState> | undefined {
  if (
    state.cancel === undefined &&
    state.stop === undefined &&
    state.outstanding === undefined &&
    state.deadlineAtMs === undefined &&
    state.abort === undefined &&
    state.resolution === undefined &&
    state.signals === undefined
  ) {
    return undefined;
  }
  const extras: Partial<SagaState> = {};
  copyRareFields(state, extras);
  return extras;
}

/** The record's values, in the order `readSaga` and `EndedArchive.#summaryAt` read them: the columns first, the id and key leading. */
function writeSaga(writer: RecordWriter, instance: StoredInstance): void {
  const { state } = instance;
  // Read in place by the tables (`stringEquals`): never written as a reference to an earlier string.
  writer.string(state.id, false);
  if (state.idempotencyKey === null) writer.value(null);
  else writer.string(state.idempotencyKey, false);
  writer.name(state.status);
  writer.name(state.definitionName);
  writer.number(state.definitionVersion);
  writer.number(state.createdAtMs);
  writer.baseMs = state.createdAtMs;
  optionalTime(writer, state.endedAtMs);
  writer.number(instance.epoch);
  writer.number(instance.inboxSeq);
  writer.number(instance.inboxAppliedSeq);
  if (state.definitionHash === undefined) writer.marker(Marker.absent);
  else writer.name(state.definitionHash);
  writer.value(state.input);
  writer.value(state.pivotPassed);
  writer.number(state.recoveries);
  writer.value(state.wakeAtMs);
  optionalValue(writer, extrasOf(state));
  writer.time(state.updatedAtMs);
  writer.value(state.settledOrder);
  writer.value(state.compensationOrder);
  writer.number(state.steps.length);
  for (const step of state.steps) {
    writer.name(step.name);
    writePhase(writer, step.action);
    writePhase(writer, step.compensation);
    optionalValue(writer, step.output);
  }
  const { history, writers } = instance;
  writer.number(history.length);
  for (let i = 0; i < history.length; i++) {
    const by = writers[i] ?? null;
    if (i > 0 && by === (writers[i - 1] ?? null)) {
      writer.marker(Marker.sameWriter);
    } else if (by === null) {
      writer.value(null);
    } else {
      writer.name(by.workerId);
      writer.number(by.epoch);
    }
    writeEntry(writer, history[i] as HistoryEntry);
  }
}

function readOptional(reader: RecordReader): unknown {
  if (reader.peekMarker() !== Marker.absent) return reader.next();
  reader.pos++;
  return undefined;
}

function readPhase(reader: RecordReader): PhaseState {
  if (reader.peekObject()) return reader.next() as PhaseState;
  if (reader.peekMarker() === Marker.notStarted) {
    reader.pos++;
    return { status: "pending", attempt: 0, failures: 0 };
  }
  const phase: PhaseState = { status: reader.next() as PhaseState["status"], attempt: reader.next() as number, failures: reader.next() as number };
  const startedAtMs = readOptional(reader) as number | undefined;
  const settledAtMs = readOptional(reader) as number | undefined;
  if (startedAtMs !== undefined) phase.startedAtMs = startedAtMs;
  if (settledAtMs !== undefined) phase.settledAtMs = settledAtMs;
  return phase;
}

function readEntry(reader: RecordReader): HistoryEntry {
  if (reader.peekObject()) return reader.next() as HistoryEntry;
  const kind = reader.next();
  const atMs = reader.next() as number;
  switch (kind) {
    case STARTED:
      return { type: "saga_started", atMs, input: reader.next() as JsonValue, idempotencyKey: reader.next() as string | null };
    case ATTEMPT_STARTED:
      return { type: "attempt_started", atMs, step: reader.next() as string, phase: reader.next() as Phase, attempt: reader.next() as number };
    case ATTEMPT_SUCCEEDED: {
      const entry: HistoryEntry = { type: "attempt_succeeded", atMs, step: reader.next() as string, phase: reader.next() as Phase, attempt: reader.next() as number };
      const output = readOptional(reader) as JsonValue | undefined;
      if (output !== undefined) entry.output = output;
      return entry;
    }
    default:
      return { type: "saga_ended", atMs, status: reader.next() as SagaStatus };
  }
}

/** The instance a record holds, in fresh objects: the same fields in the same order as the engine's states (`copyState`). */
function readSaga(reader: RecordReader): LiveInstance {
  const id = reader.next() as string;
  const idempotencyKey = reader.next() as string | null;
  const status = reader.next() as SagaStatus;
  const definitionName = reader.next() as string;
  const definitionVersion = reader.next() as number;
  const createdAtMs = reader.next() as number;
  reader.baseMs = createdAtMs;
  const endedAtMs = readOptional(reader) as number | undefined;
  const epoch = reader.next() as number;
  const inboxSeq = reader.next() as number;
  const inboxAppliedSeq = reader.next() as number;
  const definitionHash = readOptional(reader) as string | undefined;
  const input = reader.next() as JsonValue;
  const pivotPassed = reader.next() as boolean;
  const recoveries = reader.next() as number;
  const wakeAtMs = reader.next() as number | null;
  const extras = readOptional(reader) as Partial<SagaState> | undefined;
  const updatedAtMs = reader.next() as number;
  const settledOrder = reader.next() as number[];
  const compensationOrder = reader.next() as number[];
  const steps: StepState[] = [];
  for (let count = reader.next() as number; count > 0; count--) {
    const name = reader.next() as string;
    const action = readPhase(reader);
    const compensation = readPhase(reader);
    const output = readOptional(reader) as JsonValue | undefined;
    steps.push(output === undefined ? { name, action, compensation } : { name, action, compensation, output });
  }
  const state: SagaState = {
    id,
    definitionName,
    definitionVersion,
    ...(definitionHash === undefined ? {} : { definitionHash }),
    input,
    idempotencyKey,
    status,
    steps,
    settledOrder,
    compensationOrder,
    pivotPassed,
    recoveries,
    wakeAtMs,
    createdAtMs,
    updatedAtMs,
  };
  if (extras !== undefined) Object.assign(state, extras);
  if (endedAtMs !== undefined) state.endedAtMs = endedAtMs;
  const instance = new LiveInstance(state, epoch, null, null, null, newSlot(id, definitionKey(definitionName, definitionVersion)), hashString(id));
  instance.inboxSeq = inboxSeq;
  instance.inboxAppliedSeq = inboxAppliedSeq;
  instance.inbox = NO_MESSAGES;
  let last: Writer | null = null;
  for (let count = reader.next() as number; count > 0; count--) {
    const marker = reader.peekMarker();
    if (marker === Marker.sameWriter) {
      reader.pos++;
      instance.writers.push(instance.writers[instance.writers.length - 1] ?? null);
    } else {
      const workerId = reader.next() as string | null;
      if (workerId === null) instance.writers.push(null);
      else {
        const epochOfWriter = reader.next() as number;
        // Entries of one claim share one writer, as appending them did.
        if (last === null || last.workerId !== workerId || last.epoch !== epochOfWriter) last = { workerId, epoch: epochOfWriter };
        instance.writers.push(last);
      }
    }
    instance.history.push(readEntry(reader));
  }
  return instance;
}
