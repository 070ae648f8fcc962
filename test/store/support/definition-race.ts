/**
 * One side of the cross-process definition race in sqlite-store.test.ts. Usage:
 * `node --import tsx definition-race.ts <path> <worker> <count> <asc|desc>`. Opens the store, prints
 * `ready`, waits for a line on stdin so both sides start together, then saves `trip@1…<count>`,
 * each with a document of its own (so the two sides' hashes differ), in the given order so that two
 * processes going opposite ways meet on the same versions, and prints what each save answered.
 */
import { once } from "node:events";
import { openSqliteStore } from "../../../src/store/sqlite/index.js";
import { definitionOf, tripDocument } from "../conformance-definitions.js";

const [path, worker, countText, order] = process.argv.slice(2);
if (path === undefined || worker === undefined || countText === undefined) throw new Error("usage: definition-race.ts <path> <worker> <count> <asc|desc>");
const store = await openSqliteStore({ path, busyTimeoutMs: 20_000 });
process.stdout.write("ready\n");
await once(process.stdin, "data");
const results: { version: number; saved: boolean; reason: string | null; keptHash: string; ownHash: string }[] = [];
const versions = Array.from({ length: Number(countText) }, (_, i) => i + 1);
for (const version of order === "desc" ? versions.reverse() : versions) {
  const definition = definitionOf("trip", version, tripDocument(`${worker}-${version}`));
  const outcome = await store.saveDefinition(definition, Date.now());
  results.push({ version, saved: outcome.saved, reason: outcome.saved ? null : outcome.reason, keptHash: outcome.definition.hash, ownHash: definition.hash });
  // As in create-race.ts: without a pause one process would take the lock again before the other wakes.
  await new Promise((resolve) => setTimeout(resolve, 2));
}
await store.close();
process.stdout.write(`${JSON.stringify(results)}\n`);
