// The byte format of the ended-saga archive (`ended-archive.ts`): a stream of tagged values, each a
// tag byte and what that tag needs. It holds what a store is given (JSON values, times, strings,
// the engine's small objects) exactly: numbers as they were (-0, NaN and fractions included),
// strings as their UTF-16 code units (a lone surrogate too), objects with their keys in order.

/** Tags. */
const UNDEFINED = 0;
const NULL = 1;
const TRUE = 2;
const FALSE = 3;
/** A whole number 0–255 in one byte. */
const BYTE = 4;
/** A 32-bit signed integer. */
const INT = 5;
/** Any other number, as a 64-bit float. */
const FLOAT = 6;
/** A time as a 32-bit offset from the record's base time (`RecordWriter.time`). */
const OFFSET = 7;
/** A string of code units below 256, one byte each, after its length (4 bytes). */
const LATIN1 = 8;
/** A string with a code unit of 256 or more, two bytes each (little-endian), after its length. */
const UTF16 = 9;
/** A string from the archive's vocabulary, by its number (2 bytes). */
const NAME = 10;
/** An array: its length, then each element. */
const ARRAY = 11;
/** An object: how many keys, then each key (a string value) and its value. */
const OBJECT = 12;
/** A long string written before in the same record, by its place among them (4 bytes). */
const REPEAT = 13;
/** An object or array written before in the same record, by its place among them (4 bytes). */
const SAME_OBJECT = 14;
/** Markers the record layout gives meaning to (see `Marker`). */
const MARKER_BASE = 15;

/** Values with a meaning of their own in a record: written as one byte, read back as the same symbol. */
export const Marker = {
  /** An absent optional field. */
  absent: Symbol("absent"),
  /** A phase never started (pending, no attempt, no failure, no time). */
  notStarted: Symbol("not started"),
  /** A history entry written by the same writer as the entry before it. */
  sameWriter: Symbol("same writer"),
} as const;
const MARKERS: readonly symbol[] = [Marker.absent, Marker.notStarted, Marker.sameWriter];

/** How many strings the vocabulary holds at most; past that, strings are written out. */
const MAX_NAMES = 0xffff;

/**
 * Strings written as a number: the ones every saga repeats (statuses, definition and step names,
 * phases, worker ids, the keys of objects). Grows as strings are first met and never shrinks, so a
 * number, once written, always reads back as the same string.
 */
export class Vocabulary {
  readonly #numbers = new Map<string, number>();
  readonly strings: string[] = [];

  /** The string's number, adding it when there is room; -1 when it is full. */
  numberOf(text: string): number {
    const known = this.#numbers.get(text);
    if (known !== undefined) return known;
    if (this.strings.length >= MAX_NAMES) return -1;
    const number = this.strings.length;
    this.strings.push(text);
    this.#numbers.set(text, number);
    return number;
  }
}

/** Thrown for a value the format cannot hold (a function, a bigint, a symbol of its own): the record is abandoned. */
export class UnencodableValue extends Error {}

/** A float's bytes, as the platform orders them (little-endian on every platform Node runs on). */
const FLOAT_BITS = new Float64Array(1);
const FLOAT_BYTES = new Uint8Array(FLOAT_BITS.buffer);

/**
 * Strings longer than this are written once per record: a failed step's error message or stack
 * is held by its phase, its history entries and the saga's stop, as one string the engine shares.
 */
const SHORT_STRING = 64;
/** Strings at most this long are copied by a loop; longer ones by Node's native copy, whose call costs more than the loop for shorter ones. */
const LOOP_COPY_MAX = 512;
/** A code unit a one-byte-per-character string cannot hold. */
const WIDE_CHARACTER = /[\u0100-\uffff]/;

/**
 * Writes one record at a time into a chunk of bytes. When the record outgrows the chunk, `onFull`
 * gives it a larger one, into which what the record has so far is copied. Bytes are written one
 * by one rather than through a `DataView` or `Buffer` methods: each of those calls cost more than
 * the handful of stores it makes, and a record is some eighty values.
 */
export class RecordWriter {
  bytes: Buffer;
  /** Where the next byte goes. */
  pos = 0;
  /** Where the record being written began. */
  start = 0;
  /** The record's base time: `time` writes offsets from it. */
  baseMs = 0;
  /** The long strings the record holds so far, in the order written. */
  readonly #long: string[] = [];
  /**
   * The objects and arrays the record holds so far, in the order written: the engine shares some
   * between a state and its history (a failed step's error is its phase's, its history entries'
   * and the saga's stop's), and a record keeps them shared rather than writing each again.
   */
  readonly #objects: object[] = [];

  constructor(
    readonly vocabulary: Vocabulary,
    /** A chunk with room for at least `bytes`, the one written to from now on. */
    readonly onFull: (bytes: number) => Buffer,
  ) {
    this.bytes = Buffer.alloc(0);
  }

  /** Starts a record where the last one ended. */
  begin(): void {
    this.start = this.pos;
    this.#long.length = 0;
    this.#objects.length = 0;
  }

  /** Starts writing to `bytes` at `pos`. */
  use(bytes: Buffer, pos: number): void {
    this.bytes = bytes;
    this.pos = pos;
    this.start = pos;
  }

  /** Makes room for `count` more bytes of the current record. */
  room(count: number): void {
    if (this.pos + count > this.bytes.length) this.#move(count);
  }

  #move(count: number): void {
    const written = this.pos - this.start;
    const next = this.onFull(written + count);
    this.bytes.copy(next, 0, this.start, this.pos);
    this.use(next, 0);
    this.pos = written;
  }

  byte(value: number): void {
    this.room(1);
    this.bytes[this.pos++] = value;
  }

  uint32(value: number): void {
    this.room(4);
    putInt32(this.bytes, this.pos, value);
    this.pos += 4;
  }

  marker(marker: symbol): void {
    this.byte(MARKER_BASE + MARKERS.indexOf(marker));
  }

  number(value: number): void {
    this.room(9);
    const { bytes } = this;
    const at = this.pos;
    if ((value | 0) === value && (value !== 0 || 1 / value > 0)) {
      if (value >= 0 && value < 256) {
        bytes[at] = BYTE;
        bytes[at + 1] = value;
        this.pos = at + 2;
      } else {
        bytes[at] = INT;
        putInt32(bytes, at + 1, value);
        this.pos = at + 5;
      }
      return;
    }
    bytes[at] = FLOAT;
    FLOAT_BITS[0] = value;
    for (let i = 0; i < 8; i++) bytes[at + 1 + i] = FLOAT_BYTES[i] as number;
    this.pos = at + 9;
  }

  /** A time as an offset from `baseMs` when one reads it back exactly, else as it is. */
  time(value: number): void {
    const offset = value - this.baseMs;
    if ((offset | 0) === offset && Object.is(this.baseMs + offset, value)) {
      this.room(5);
      this.bytes[this.pos] = OFFSET;
      putInt32(this.bytes, this.pos + 1, offset);
      this.pos += 5;
    } else {
      this.number(value);
    }
  }

  /**
   * A string written out, or, when it is long and the record holds it already, a reference to
   * it; `repeat: false` for a string that must be readable in place (`stringEquals`).
   */
  string(text: string, repeat = true): void {
    const length = text.length;
    if (length > SHORT_STRING) {
      if (!repeat) this.#long.push(text);
      else if (this.#referTo(this.#long, text, REPEAT)) return;
    }
    if (length > LOOP_COPY_MAX) {
      this.#copyLong(text);
      return;
    }
    let wide = false;
    for (let i = 0; i < length; i++) {
      if (text.charCodeAt(i) > 0xff) {
        wide = true;
        break;
      }
    }
    this.room(5 + 2 * length);
    const { bytes } = this;
    let at = this.pos;
    bytes[at] = wide ? UTF16 : LATIN1;
    putInt32(bytes, at + 1, length);
    at += 5;
    if (wide) {
      for (let i = 0; i < length; i++) {
        const code = text.charCodeAt(i);
        bytes[at++] = code;
        bytes[at++] = code >> 8;
      }
    } else {
      for (let i = 0; i < length; i++) bytes[at++] = text.charCodeAt(i);
    }
    this.pos = at;
  }

  #copyLong(text: string): void {
    const length = text.length;
    const wide = WIDE_CHARACTER.test(text);
    this.room(5 + (wide ? 2 * length : length));
    const { bytes } = this;
    bytes[this.pos] = wide ? UTF16 : LATIN1;
    putInt32(bytes, this.pos + 1, length);
    // UCS-2 copies code units as they are, lone surrogates included (UTF-8 would replace them).
    this.pos += 5 + bytes.write(text, this.pos + 5, wide ? 2 * length : length, wide ? "utf16le" : "latin1");
  }

  /** A string that many records repeat: its vocabulary number when it has one. */
  name(text: string): void {
    const number = this.vocabulary.numberOf(text);
    if (number < 0) {
      this.string(text);
      return;
    }
    this.room(3);
    const { bytes } = this;
    bytes[this.pos] = NAME;
    bytes[this.pos + 1] = number;
    bytes[this.pos + 2] = number >> 8;
    this.pos += 3;
  }

  /** Any value a store is given: JSON values, and the engine's objects kept as they are. */
  value(value: unknown): void {
    switch (typeof value) {
      case "number":
        this.number(value);
        return;
      case "string":
        this.string(value);
        return;
      case "boolean":
        this.byte(value ? TRUE : FALSE);
        return;
      case "undefined":
        this.byte(UNDEFINED);
        return;
      case "object":
        if (value === null) this.byte(NULL);
        else if (Array.isArray(value)) this.#array(value);
        else this.#object(value as Record<string, unknown>);
        return;
      case "symbol":
        if (MARKERS.includes(value)) {
          this.marker(value);
          return;
        }
        break;
      default:
        break;
    }
    throw new UnencodableValue(`a ${typeof value} cannot be archived`);
  }

  /**
   * True when `value` is among `written` (those of its kind the record holds so far): then a
   * reference to it, tagged `tag`, is written. Else it joins them, to be written out by the caller.
   */
  #referTo<T>(written: T[], value: T, tag: number): boolean {
    const earlier = written.indexOf(value);
    if (earlier < 0) {
      written.push(value);
      return false;
    }
    this.room(5);
    this.bytes[this.pos] = tag;
    putInt32(this.bytes, this.pos + 1, earlier);
    this.pos += 5;
    return true;
  }

  #array(values: readonly unknown[]): void {
    if (this.#referTo<object>(this.#objects, values, SAME_OBJECT)) return;
    this.byte(ARRAY);
    this.uint32(values.length);
    for (let i = 0; i < values.length; i++) this.value(values[i]);
  }

  /** Its own enumerable keys in order (`for…in` without inherited ones: no array of keys made), the count written last. */
  #object(object: Record<string, unknown>): void {
    if (this.#referTo<object>(this.#objects, object, SAME_OBJECT)) return;
    this.room(5);
    this.bytes[this.pos] = OBJECT;
    const countAt = this.pos + 1 - this.start;
    this.pos += 5;
    let count = 0;
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      this.name(key);
      this.value(object[key]);
      count++;
    }
    // Relative to the record's start: the record may have moved to a larger chunk meanwhile.
    putInt32(this.bytes, this.start + countAt, count);
  }
}

function putInt32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value;
  bytes[at + 1] = value >> 8;
  bytes[at + 2] = value >> 16;
  bytes[at + 3] = value >> 24;
}

/** Reads the values of one record back, in fresh objects. */
export class RecordReader {
  pos: number;
  /** The record's base time, which `OFFSET` values are added to. */
  baseMs = 0;
  /** The long strings read so far, which `REPEAT` values name. */
  readonly #long: string[] = [];
  /** The objects and arrays read so far, which `SAME_OBJECT` values name. */
  readonly #objects: object[] = [];
  readonly #view: DataView;

  constructor(
    readonly bytes: Buffer,
    pos: number,
    readonly vocabulary: Vocabulary,
  ) {
    this.pos = pos;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The tag of the next value, without reading it. */
  peekMarker(): symbol | undefined {
    const tag = this.bytes[this.pos] as number;
    return tag >= MARKER_BASE ? MARKERS[tag - MARKER_BASE] : undefined;
  }

  /** Whether the next value is an object or an array (a value kept as it was). */
  peekObject(): boolean {
    const tag = this.bytes[this.pos];
    return tag === OBJECT || tag === ARRAY || tag === SAME_OBJECT;
  }

  uint32(): number {
    const value = this.#view.getUint32(this.pos, true);
    this.pos += 4;
    return value;
  }

  next(): unknown {
    const tag = this.bytes[this.pos++] as number;
    const view = this.#view;
    switch (tag) {
      case UNDEFINED:
        return undefined;
      case NULL:
        return null;
      case TRUE:
        return true;
      case FALSE:
        return false;
      case BYTE:
        return this.bytes[this.pos++];
      case INT: {
        const value = view.getInt32(this.pos, true);
        this.pos += 4;
        return value;
      }
      case FLOAT: {
        const value = view.getFloat64(this.pos, true);
        this.pos += 8;
        return value;
      }
      case OFFSET: {
        const value = this.baseMs + view.getInt32(this.pos, true);
        this.pos += 4;
        return value;
      }
      case LATIN1: {
        const length = this.uint32();
        const text = this.bytes.toString("latin1", this.pos, this.pos + length);
        this.pos += length;
        if (length > SHORT_STRING) this.#long.push(text);
        return text;
      }
      case UTF16: {
        const length = this.uint32();
        const text = this.bytes.toString("utf16le", this.pos, this.pos + 2 * length);
        this.pos += 2 * length;
        if (length > SHORT_STRING) this.#long.push(text);
        return text;
      }
      case REPEAT:
        return this.#long[this.uint32()];
      case SAME_OBJECT:
        return this.#objects[this.uint32()];
      case NAME: {
        const number = view.getUint16(this.pos, true);
        this.pos += 2;
        return this.vocabulary.strings[number];
      }
      case ARRAY: {
        const values = new Array<unknown>(this.uint32());
        this.#objects.push(values);
        for (let i = 0; i < values.length; i++) values[i] = this.next();
        return values;
      }
      case OBJECT: {
        const object: Record<string, unknown> = {};
        this.#objects.push(object);
        for (let count = this.uint32(); count > 0; count--) {
          const key = this.next() as string;
          const value = this.next();
          // As JSON.parse and structuredClone make it: an own property, not the prototype.
          if (key === "__proto__") Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
          else object[key] = value;
        }
        return object;
      }
      default:
        return MARKERS[tag - MARKER_BASE];
    }
  }
}

/** Where the string value written at `pos` ends. */
export function stringEnd(bytes: Buffer, pos: number): number {
  const length = bytes.readUInt32LE(pos + 1);
  return pos + 5 + (bytes[pos] === LATIN1 ? length : 2 * length);
}

/** Whether the string value written at `pos` is `text` (false for any other kind of value), read in place. */
export function stringEquals(bytes: Buffer, pos: number, text: string): boolean {
  const tag = bytes[pos];
  if (tag !== LATIN1 && tag !== UTF16) return false;
  const length = bytes.readUInt32LE(pos + 1);
  if (length !== text.length) return false;
  const at = pos + 5;
  if (tag === LATIN1) {
    for (let i = 0; i < length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  } else {
    for (let i = 0; i < length; i++) if ((bytes[at + 2 * i] as number) + 256 * (bytes[at + 2 * i + 1] as number) !== text.charCodeAt(i)) return false;
  }
  return true;
}
