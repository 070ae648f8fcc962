import { PostgresStore } from "./postgres-store.js";
import type { PostgresStoreOptions } from "./options.js";

export { PostgresStore } from "./postgres-store.js";
export type { PostgresStoreOptions } from "./options.js";
export type { PostgresStoreStats } from "./connection.js";
export { LATEST_SCHEMA_VERSION } from "./migrations.js";

/**
 * Connects to PostgreSQL and creates or migrates the store's schema (safe when several workers
 * start at once).
 *
 * @example
 * const store = await openPostgresStore({ connectionString: process.env.DATABASE_URL!, schema: "orders" });
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(options);
  try {
    await store.init();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
