/**
 * A string's hash (FNV-1a, then mixed so that its low bits, which pick the slot, depend on every
 * character). V8 keeps a hash in every string but does not share it; this one is for tables kept
 * outside its heap.
 */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  return hash ^ (hash >>> 13);
}

/** Whether the record at `offset` of chunk `chunk` is the one `text` names. */
export type RecordMatch = (chunk: number, offset: number, text: string) => boolean;

/** Slots of three 32-bit integers: the string's hash, the record's chunk + 1 (0: empty), its offset. */
const STRIDE = 3;

/**
 * An open-addressing hash table (linear probing) from strings kept inside records to where those
 * records are: three integers a record in one typed array, nothing the collector has to visit
 * however many records there are. The strings themselves are read in place by `matches`.
 */
export class RecordTable {
  #slots = new Int32Array(STRIDE * 1024);
  #mask = 1023;
  size = 0;

  constructor(readonly matches: RecordMatch) {}

  /** The slot of the record `text` names, or -1. */
  find(hash: number, text: string): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const at = STRIDE * slot;
      const chunk = slots[at + 1] as number;
      if (chunk === 0) return -1;
      if (slots[at] === hash && this.matches(chunk - 1, slots[at + 2] as number, text)) return slot;
    }
  }

  /** The slot that points at this record, or -1. */
  findRecord(hash: number, chunk: number, offset: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const at = STRIDE * slot;
      const held = slots[at + 1] as number;
      if (held === 0) return -1;
      if (held === chunk + 1 && slots[at + 2] === offset) return slot;
    }
  }

  chunkAt(slot: number): number {
    return (this.#slots[STRIDE * slot + 1] as number) - 1;
  }

  offsetAt(slot: number): number {
    return this.#slots[STRIDE * slot + 2] as number;
  }

  /** Adds a record; the caller knows no other record holds the same string. */
  insert(hash: number, chunk: number, offset: number): void {
    if (2 * (this.size + 1) > this.#mask + 1) this.#grow();
    this.#place(this.#slots, this.#mask, hash, chunk + 1, offset);
    this.size++;
  }

  /** Empties the slot, moving back the entries after it that probing would no longer reach. */
  removeAt(slot: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let hole = slot;
    for (let next = (slot + 1) & mask; slots[STRIDE * next + 1] !== 0; next = (next + 1) & mask) {
      const home = (slots[STRIDE * next] as number) & mask;
      // `next` may fill the hole when its home is not in the cyclic range (hole, next].
      const reachable = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!reachable) {
        slots.copyWithin(STRIDE * hole, STRIDE * next, STRIDE * next + STRIDE);
        hole = next;
      }
    }
    slots.fill(0, STRIDE * hole, STRIDE * hole + STRIDE);
    this.size--;
  }

  clear(): void {
    this.#slots = new Int32Array(STRIDE * 1024);
    this.#mask = 1023;
    this.size = 0;
  }

  #place(slots: Int32Array, mask: number, hash: number, chunkPlusOne: number, offset: number): void {
    let slot = hash & mask;
    while (slots[STRIDE * slot + 1] !== 0) slot = (slot + 1) & mask;
    const at = STRIDE * slot;
    slots[at] = hash;
    slots[at + 1] = chunkPlusOne;
    slots[at + 2] = offset;
  }

  /** Doubles the table, placing every entry again by the hash it keeps (no string is read). */
  #grow(): void {
    const old = this.#slots;
    const capacity = 2 * (this.#mask + 1);
    const slots = new Int32Array(STRIDE * capacity);
    const mask = capacity - 1;
    for (let at = 0; at < old.length; at += STRIDE) {
      const chunk = old[at + 1] as number;
      if (chunk !== 0) this.#place(slots, mask, old[at] as number, chunk, old[at + 2] as number);
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}
