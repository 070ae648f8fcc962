/**
 * One side of the cross-process idempotency race in sqlite-store.test.ts. Usage:
 * `node --import tsx create-race.ts <path> <worker> <count> <asc|desc>`. Opens the store (racing the
 * other process through migrations too), prints `ready`, waits for a line on stdin so both sides
 * start together, then creates instances keyed `race-0…`, in the given order so that two processes
 * going opposite ways meet on the same keys, and prints what each create answered as JSON.
 */
import { once } from "node:events";
import { openSqliteStore } from "../../../src/store/sqlite/index.js";
import { newSaga } from "../fixtures.js";

const [path, worker, countText, order] = process.argv.slice(2);
if (path === undefined || worker === undefined || countText === undefined) throw new Error("usage: create-race.ts <path> <worker> <count> <asc|desc>");
const store = await openSqliteStore({ path, busyTimeoutMs: 20_000 });
process.stdout.write("ready\n");
await once(process.stdin, "data");
const results: { key: string; created: boolean; id: string }[] = [];
const indexes = Array.from({ length: Number(countText) }, (_, i) => i);
for (const i of order === "desc" ? indexes.reverse() : indexes) {
  const key = `race-${i}`;
  const result = await store.createInstance(newSaga(`${worker}-${i}`, { key }));
  results.push({ key, created: result.created, id: result.record.state.id });
  // Without a pause the process holding the lock takes it again before the other one's busy
  // handler wakes up, and the race degenerates into one process doing all the creates.
  await new Promise((resolve) => setTimeout(resolve, 2));
}
await store.close();
process.stdout.write(`${JSON.stringify(results)}\n`);
