import { compareIds } from "../list-cursor.js";

/** Where one instance sits in the index; owned by the instance, moved by `DueIndex.place`. */
export interface DueSlot {
  readonly id: string;
  readonly definition: string;
  heap: SlotHeap | null;
  pos: number;
  /**
   * The heap's order. Ready heap: `wakeAtMs`. Leased heap: at most `claimableAtMs`, which it
   * catches up with only when it reaches the top (a lease extended keeps its place: O(1)).
   */
  key: number;
  /** Leased heap: the first millisecond a claim may take it (the lease expired strictly before). */
  claimableAtMs: number;
  /** `wakeAtMs`, which orders claims. */
  wakeAtMs: number;
}

/** What the index needs to know of an instance to file it. */
export interface Schedule {
  /** Null when nothing is due ever (terminal, or waiting for nothing). */
  wakeAtMs: number | null;
  leaseOwner: string | null;
  leaseExpiresAtMs: number | null;
}

/**
 * A binary min-heap of slots by key (then by id, when `byId`) that knows each slot's position, so
 * a slot moves in O(log n).
 */
class SlotHeap {
  readonly #items: DueSlot[] = [];
  readonly #byId: boolean;

  constructor(byId: boolean) {
    this.#byId = byId;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): DueSlot | undefined {
    return this.#items[0];
  }

  insert(slot: DueSlot): void {
    slot.heap = this;
    slot.pos = this.#items.length;
    this.#items.push(slot);
    this.#up(slot.pos);
  }

  remove(slot: DueSlot): void {
    const items = this.#items;
    const last = items.pop();
    if (last === undefined) return;
    if (last !== slot) {
      items[slot.pos] = last;
      last.pos = slot.pos;
      this.#down(this.#up(last.pos));
    }
    slot.heap = null;
    slot.pos = -1;
  }

  /** Re-establishes the order after `slot.key` changed. */
  rekey(slot: DueSlot): void {
    this.#down(this.#up(slot.pos));
  }

  #less(a: DueSlot, b: DueSlot): boolean {
    return a.key < b.key || (this.#byId && a.key === b.key && compareIds(a.id, b.id) < 0);
  }

  #swap(i: number, j: number): void {
    const items = this.#items;
    const a = items[i] as DueSlot;
    const b = items[j] as DueSlot;
    items[i] = b;
    items[j] = a;
    b.pos = i;
    a.pos = j;
  }

  #up(start: number): number {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(this.#items[i] as DueSlot, this.#items[parent] as DueSlot)) break;
      this.#swap(i, parent);
      i = parent;
    }
    return i;
  }

  #down(start: number): void {
    const items = this.#items;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && this.#less(items[left] as DueSlot, items[smallest] as DueSlot)) smallest = left;
      if (right < items.length && this.#less(items[right] as DueSlot, items[smallest] as DueSlot)) smallest = right;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }
}

/**
 * The memory store's schedule: per definition, a heap of unleased instances by wake-up (then id:
 * the order claims take them in) and a heap of leased ones by the first millisecond their lease
 * lets a claim take them. A claim of k instances costs O(k log n) and the next wake-up
 * O(definitions), where a scan would cost O(n). Every commit of a running saga extends its lease,
 * so the leased heap orders by a lower bound of that time, corrected only at the top: an
 * extension costs nothing, and expired leases are sorted by wake-up and id when taken.
 */
export class DueIndex {
  readonly #heaps = new Map<string, { ready: SlotHeap; leased: SlotHeap }>();

  /** Files (or refiles, or drops) a slot after the instance's schedule or lease changed. */
  place(slot: DueSlot, schedule: Schedule): void {
    if (schedule.wakeAtMs === null) {
      slot.heap?.remove(slot);
      return;
    }
    const heaps = this.#heapsOf(slot.definition);
    const leased = schedule.leaseOwner !== null;
    const target = leased ? heaps.leased : heaps.ready;
    // Claims take only leases that expired strictly before now.
    const key = leased ? Math.max(schedule.wakeAtMs, (schedule.leaseExpiresAtMs ?? 0) + 1) : schedule.wakeAtMs;
    slot.wakeAtMs = schedule.wakeAtMs;
    slot.claimableAtMs = key;
    if (slot.heap === target) {
      // A later claimable time in the leased heap leaves the slot where it is (see `#settledTop`).
      if (slot.key !== key && !(leased && key > slot.key)) {
        slot.key = key;
        target.rekey(slot);
      }
      return;
    }
    slot.heap?.remove(slot);
    slot.key = key;
    target.insert(slot);
  }

  /**
   * Takes up to `limit` slots claimable at `nowMs` (due, and unleased or with an expired lease),
   * oldest wake-up first, then by id. They leave the index: the caller files them again once leased.
   */
  takeDue(definitions: readonly string[], nowMs: number, limit: number): DueSlot[] {
    const ready: SlotHeap[] = [];
    // Expired leases are rare (a worker died): move them to the candidates, ordered by wake-up.
    const expired: DueSlot[] = [];
    for (const definition of new Set(definitions)) {
      const heaps = this.#heaps.get(definition);
      if (heaps === undefined) continue;
      ready.push(heaps.ready);
      for (let top = settledTop(heaps.leased); top !== undefined && top.key <= nowMs; top = settledTop(heaps.leased)) {
        heaps.leased.remove(top);
        expired.push(top);
      }
    }
    expired.sort((a, b) => a.wakeAtMs - b.wakeAtMs || compareIds(a.id, b.id));
    const taken: DueSlot[] = [];
    let e = 0;
    while (taken.length < limit) {
      let best: SlotHeap | undefined;
      for (const heap of ready) {
        const top = heap.peek();
        if (top === undefined || top.key > nowMs) continue;
        const current = best?.peek();
        if (current === undefined || top.key < current.key || (top.key === current.key && compareIds(top.id, current.id) < 0)) best = heap;
      }
      const fromReady = best?.peek();
      const fromExpired = expired[e];
      if (fromReady === undefined && fromExpired === undefined) break;
      if (
        fromExpired !== undefined &&
        (fromReady === undefined ||
          fromExpired.wakeAtMs < fromReady.wakeAtMs ||
          (fromExpired.wakeAtMs === fromReady.wakeAtMs && compareIds(fromExpired.id, fromReady.id) < 0))
      ) {
        taken.push(fromExpired);
        e++;
      } else if (fromReady !== undefined && best !== undefined) {
        best.remove(fromReady);
        taken.push(fromReady);
      }
    }
    // Expired leases not taken stay claimable.
    for (; e < expired.length; e++) {
      const slot = expired[e] as DueSlot;
      this.#heapsOf(slot.definition).leased.insert(slot);
    }
    return taken;
  }

  /** The earliest time a claim of `definitions` could take something, or null. */
  nextAt(definitions: readonly string[]): number | null {
    let next: number | null = null;
    for (const definition of definitions) {
      const heaps = this.#heaps.get(definition);
      if (heaps === undefined) continue;
      for (const top of [heaps.ready.peek(), settledTop(heaps.leased)]) {
        if (top !== undefined && (next === null || top.key < next)) next = top.key;
      }
    }
    return next;
  }

  /** Instances filed, for tests. */
  get size(): number {
    let size = 0;
    for (const heaps of this.#heaps.values()) size += heaps.ready.size + heaps.leased.size;
    return size;
  }

  #heapsOf(definition: string): { ready: SlotHeap; leased: SlotHeap } {
    let heaps = this.#heaps.get(definition);
    if (heaps === undefined) {
      heaps = { ready: new SlotHeap(true), leased: new SlotHeap(false) };
      this.#heaps.set(definition, heaps);
    }
    return heaps;
  }
}

/** The leased heap's top once its key is its claimable time: slots whose lease was extended since move down first. */
function settledTop(heap: SlotHeap): DueSlot | undefined {
  for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
    if (top.key === top.claimableAtMs) return top;
    top.key = top.claimableAtMs;
    heap.rekey(top);
  }
  return undefined;
}

/**
 * A slot as a class, not an object literal: a literal's allocation site is pretenured by V8 once
 * nearly all its objects outlive a young-generation collection, as every slot of a saga in flight
 * does at high concurrency, and slots then die in the old generation (see `LiveInstance`).
 */
class Slot implements DueSlot {
  heap: SlotHeap | null = null;
  pos = -1;
  key = 0;
  claimableAtMs = 0;
  wakeAtMs = 0;

  constructor(
    readonly id: string,
    readonly definition: string,
  ) {}
}

/** A slot for a new instance, not yet filed. */
export function newSlot(id: string, definition: string): DueSlot {
  return new Slot(id, definition);
}
