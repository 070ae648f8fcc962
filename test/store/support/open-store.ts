/** Opens (creating and migrating) the SQLite store at argv[2] and closes it: one side of the open race test. */
import { openSqliteStore } from "../../../src/store/sqlite/index.js";

const path = process.argv[2];
if (path === undefined) throw new Error("usage: open-store.ts <path>");
const store = await openSqliteStore({ path });
await store.close();
