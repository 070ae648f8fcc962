/**
 * A map from strings to values for sets that churn (entries added and deleted all the time, the
 * size staying about the same), such as the sagas a worker holds: its storage is allocated once
 * for the largest size it held and rewritten in place, never replaced while the size stays under
 * that.
 *
 * Why not `Map`: a `Map` rebuilds its table into a new one every time deleted entries have filled
 * it up, and the table it leaves behind keeps its entries. Once such a table has lived long
 * enough to be in V8's old generation, the young-generation collector takes whatever it still
 * points to as alive until the next full collection, so every value that was in the map at a
 * rebuild (a saga's whole state, with what it holds) is copied and promoted instead of dying
 * young. Measured on the runtime at 8 sagas in flight: 4.8 MB survived each scavenge with a `Map`,
 * 23 KB with this; at 512 in flight the time in garbage collection fell from 45% to 20%.
 *
 * Open addressing with linear probing, at most half full, and backward-shift deletion (no
 * tombstones, so deletions never force a rebuild). Strings are hashed with 32-bit FNV-1a. Iteration
 * order is unspecified.
 */
export class InPlaceMap<V> {
  #keys: Array<string | undefined>;
  #values: Array<V | undefined>;
  #hashes: Uint32Array;
  #mask: number;
  #size = 0;

  /** `expectedSize`: how many entries it will hold at once (it grows past that when needed). */
  constructor(expectedSize = 8) {
    let capacity = 16;
    while (capacity < expectedSize * 2) capacity *= 2;
    this.#keys = new Array<string | undefined>(capacity).fill(undefined);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#hashes = new Uint32Array(capacity);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    const slot = this.#find(key, hashOf(key));
    return slot < 0 ? undefined : this.#values[slot];
  }

  has(key: string): boolean {
    return this.#find(key, hashOf(key)) >= 0;
  }

  set(key: string, value: V): this {
    const hash = hashOf(key);
    let slot = this.#find(key, hash);
    if (slot >= 0) {
      this.#values[slot] = value;
      return this;
    }
    if ((this.#size + 1) * 2 > this.#keys.length) {
      this.#grow();
      slot = this.#find(key, hash);
    }
    const free = -1 - slot;
    this.#keys[free] = key;
    this.#values[free] = value;
    this.#hashes[free] = hash;
    this.#size++;
    return this;
  }

  /** Removes the entry and lets go of its key and value; true if there was one. */
  delete(key: string): boolean {
    let hole = this.#find(key, hashOf(key));
    if (hole < 0) return false;
    const keys = this.#keys;
    const values = this.#values;
    const hashes = this.#hashes;
    const mask = this.#mask;
    // Moves back every entry of the run after the hole that would no longer be found past it.
    for (let next = (hole + 1) & mask; ; next = (next + 1) & mask) {
      const moving = keys[next];
      if (moving === undefined) break;
      const home = (hashes[next] as number) & mask;
      const reachableWithoutHole = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (reachableWithoutHole) continue;
      keys[hole] = moving;
      values[hole] = values[next];
      hashes[hole] = hashes[next] as number;
      hole = next;
    }
    keys[hole] = undefined;
    values[hole] = undefined;
    this.#size--;
    return true;
  }

  *entries(): IterableIterator<[string, V]> {
    const keys = this.#keys;
    for (let slot = 0; slot < keys.length; slot++) {
      const key = keys[slot];
      if (key !== undefined) yield [key, this.#values[slot] as V];
    }
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  /** The slot holding `key`, or, when it is absent, `-1 - ` the free slot where it would go. */
  #find(key: string, hash: number): number {
    const keys = this.#keys;
    const hashes = this.#hashes;
    const mask = this.#mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const found = keys[slot];
      if (found === undefined) return -1 - slot;
      if (hashes[slot] === hash && found === key) return slot;
    }
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const hashes = this.#hashes;
    const capacity = keys.length * 2;
    this.#keys = new Array<string | undefined>(capacity).fill(undefined);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#hashes = new Uint32Array(capacity);
    this.#mask = capacity - 1;
    for (let slot = 0; slot < keys.length; slot++) {
      const key = keys[slot];
      if (key === undefined) continue;
      const hash = hashes[slot] as number;
      const free = -1 - this.#find(key, hash);
      this.#keys[free] = key;
      this.#values[free] = values[slot];
      this.#hashes[free] = hash;
    }
  }
}

/** 32-bit FNV-1a over the string's UTF-16 code units. */
function hashOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
