import type { OpenParticipantDbOptions, ParticipantDb, ParticipantTarget } from "./participant-db.js";
import { openPostgresParticipantDb } from "./postgres-participant-db.js";
import { openSqliteParticipantDb } from "./sqlite-participant-db.js";

/**
 * Opens a participant's own connection (SQLite) or pool (PostgreSQL) on `target` and, unless
 * `readOnly`, creates the participants' tables when missing.
 *
 * @example
 * const db = await openParticipantDb({ kind: "postgres", connectionString: process.env.DATABASE_URL!, schema: "sagaflow" });
 */
export function openParticipantDb(target: ParticipantTarget, options: OpenParticipantDbOptions = {}): Promise<ParticipantDb> {
  const readOnly = options.readOnly ?? false;
  if (target.kind === "sqlite") return Promise.resolve().then(() => openSqliteParticipantDb(target.path, readOnly));
  return openPostgresParticipantDb(target.connectionString, target.schema, readOnly, options.poolSize ?? 4);
}
