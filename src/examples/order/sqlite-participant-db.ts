import Database from "better-sqlite3";
import { INITIAL_STOCK, type ParticipantDb } from "./participant-db.js";
import { CREATE_PARTICIPANT_TABLES, SEED_STOCK } from "./participant-schema.js";
import { driveSync, type Effect, type Statement } from "./participant-statements.js";

const BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens a participant's own SQLite connection (WAL, synchronous FULL, busy timeout) and, unless `readOnly`,
 * creates its tables and seeds the stock. `readOnly` never creates the file.
 */
export function openSqliteParticipantDb(path: string, readOnly: boolean): ParticipantDb {
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS, readonly: readOnly, fileMustExist: readOnly });
  try {
    if (!readOnly) {
      db.pragma("journal_mode = WAL");
      // WAL's default (NORMAL) could lose a booking to a power cut after the participant answered.
      db.pragma("synchronous = FULL");
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.exec(CREATE_PARTICIPANT_TABLES);
      const seed = db.prepare(SEED_STOCK);
      db.transaction(() => {
        for (const [sku, available] of Object.entries(INITIAL_STOCK)) seed.run(bindByPosition([sku, available]));
      }).immediate();
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteParticipantDb(db);
}

/** SQLite's `$1` is a named parameter; better-sqlite3 binds names from an object: `{ "1": …, "2": … }`. */
function bindByPosition(params: readonly unknown[]): Record<string, unknown> {
  const named: Record<string, unknown> = {};
  params.forEach((value, index) => (named[String(index + 1)] = value));
  return named;
}

// Every method runs synchronously start to end (see participant-statements.ts for why that
// matters); the promises only give both dialects one interface.
class SqliteParticipantDb implements ParticipantDb {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  transaction<T>(work: () => Effect<T>): Promise<T> {
    // IMMEDIATE takes the write lock up front: two processes calling with the same key cannot
    // both read "not recorded" and both apply the effect, and no reader-turned-writer deadlocks.
    return settle(() => this.#db.transaction(() => driveSync(work(), (statement) => this.#execute(statement))).immediate());
  }

  query<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return settle(() => this.#execute({ kind: "query", sql, params }) as Row[]);
  }

  run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return settle(() => this.#execute({ kind: "run", sql, params }) as number);
  }

  tableExists(name: string): Promise<boolean> {
    return this.query("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = $1", [name]).then((rows) => rows.length > 0);
  }

  close(): Promise<void> {
    return settle(() => void this.#db.close());
  }

  #execute(statement: Statement): unknown {
    let prepared = this.#statements.get(statement.sql);
    if (prepared === undefined) {
      prepared = this.#db.prepare(statement.sql);
      this.#statements.set(statement.sql, prepared);
    }
    const params = bindByPosition(statement.params);
    return statement.kind === "query" ? prepared.all(params) : prepared.run(params).changes;
  }
}

/** The result of a synchronous call as a promise: a throw becomes a rejection. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
