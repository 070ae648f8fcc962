import { randomFillSync } from "node:crypto";

/** The largest value of the 12-bit counter that follows the timestamp. */
const MAX_COUNTER = 0xfff;
/** A new millisecond's counter starts at random below this, leaving room to count up within it. */
const COUNTER_SEED_RANGE = 0x800;
/** Random bytes drawn at once: one system call for 512 ids. */
const POOL_BYTES = 8 * 512;

let lastMs = -1;
let counter = 0;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;
/** The id being made, as its 16 bytes. */
const bytes = Buffer.alloc(16);

/**
 * A new saga id: a UUIDv7 (RFC 9562) whose 48-bit Unix-millisecond timestamp is followed by a
 * 12-bit counter (random at each new millisecond, counting up within it), so ids made by one
 * process sort in the order they were made, even within a millisecond or if the clock steps back.
 * Stores index instances and history by id: ids in creation order put the sagas in flight on the
 * last few index pages, where random ones would give each its own page to write.
 *
 * The other 62 bits are random, from a pool the system's generator fills for 512 ids at a time:
 * one system call per id (as the `uuid` package's generator makes) cost 7% of the main thread at
 * 10,000 starts a second here. The 16 bytes are written out as hex once, with no string work per
 * field.
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
  if (poolOffset === POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  pool.copy(bytes, 8, poolOffset, poolOffset + 8);
  poolOffset += 8;
  // The variant (0b10) in the two top bits of byte 8; its other 6 bits and the 7 after are the random 62.
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
