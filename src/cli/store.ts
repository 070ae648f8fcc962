import { openSqliteStore, type SqliteStore } from "../store/sqlite/index.js";

/**
 * Opens an existing database for an inspection or worker command, runs `use`, and closes it.
 * `mustExist`: these commands never create a database, so a mistyped path is an error, not a new file.
 */
export async function withExistingStore<T>(path: string, use: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = await openSqliteStore({ path, mustExist: true });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}
