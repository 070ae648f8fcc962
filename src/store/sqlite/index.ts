import { SqliteStore } from "./sqlite-store.js";
import type { SqliteStoreOptions } from "./open-database.js";

export { SqliteStore } from "./sqlite-store.js";
export type { SqliteStoreStats, SqlitePragmas, WriterThreadStats } from "./sqlite-store.js";
export type { SqliteStoreOptions } from "./open-database.js";
export { LATEST_SCHEMA_VERSION } from "./migrations.js";

/**
 * Opens (creating unless `mustExist`) and migrates a SQLite store.
 *
 * @example
 * const store = await openSqliteStore({ path: "sagas.db" });
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  const store = new SqliteStore(options);
  try {
    await store.init();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
