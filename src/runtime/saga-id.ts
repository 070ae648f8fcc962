import { randomUUID } from "node:crypto";

/** The largest value of the 12-bit counter that follows the timestamp. */
const MAX_COUNTER = 0xfff;
/** A new millisecond's counter starts at random below this, leaving room to count up within it. */
const COUNTER_SEED_RANGE = 0x800;

let lastMs = -1;
let counter = 0;

/**
 * A new saga id: a UUIDv7 (RFC 9562) whose 48-bit Unix-millisecond timestamp is followed by a
 * 12-bit counter (random at each new millisecond, counting up within it), so ids made by one
 * process sort in the order they were made, even within a millisecond or if the clock steps back.
 * Stores index instances and history by id: ids in creation order put the sagas in flight on the
 * last few index pages, where random ones would give each its own page to write.
 *
 * The other 62 bits are random, taken from `crypto.randomUUID`, which draws entropy for many ids
 * at once: one system call per id (as the `uuid` package's generator makes) cost 7% of the main
 * thread at 10,000 starts a second here.
 */
export function newSagaId(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = Math.floor(Math.random() * COUNTER_SEED_RANGE);
  } else if (counter < MAX_COUNTER) {
    counter++;
  } else {
    // 4,096 ids in one millisecond: borrow the next one, as RFC 9562 allows, so order still holds.
    lastMs++;
    counter = 0;
  }
  const time = lastMs.toString(16).padStart(12, "0");
  // From `-` before the variant on, a v4 UUID is what v7 needs there: the variant bits and 62 random bits.
  const random = randomUUID().slice(18);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${counter.toString(16).padStart(3, "0")}${random}`;
}
