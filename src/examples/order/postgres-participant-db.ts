import { checkoutWithErrorListener } from "../../store/postgres/pool-checkout.js";
import { createHash } from "node:crypto";
import pg from "pg";
import { InvalidArgumentError } from "../../errors.js";
import { INITIAL_STOCK, type ParticipantDb } from "./participant-db.js";
import { CREATE_PARTICIPANT_TABLES, SEED_STOCK } from "./participant-schema.js";
import { drive, query, run, type Effect, type Statement } from "./participant-statements.js";

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Opens the participants' own pool on `schema` (never the orchestrator's pool) and, unless
 * `readOnly`, creates the schema if missing, their tables, and the stock. Several processes may
 * do this at once: an advisory lock makes them take turns, since concurrent `CREATE TABLE IF NOT
 * EXISTS` of one table can fail with a unique violation in PostgreSQL's catalog.
 */
export async function openPostgresParticipantDb(connectionString: string, schema: string, readOnly: boolean, poolSize: number): Promise<ParticipantDb> {
  // The schema is spliced into SQL text and the connection's search_path; only this shape passes.
  if (!SCHEMA_PATTERN.test(schema)) throw new InvalidArgumentError("schema", `must match ${SCHEMA_PATTERN.source}, got ${JSON.stringify(schema)}`);
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    application_name: "sagaflow-demo-participants",
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // Unqualified table names resolve in the target schema, so the SQL is the same as SQLite's.
    options: `-c search_path=${schema}`,
  });
  // An idle connection the server dropped is reported here; unheard, the 'error' event would end
  // the process. The pool has already discarded it, and the next call opens a new one.
  pool.on("error", () => undefined);
  const db = new PostgresParticipantDb(pool, schema);
  try {
    if (!readOnly) await db.transaction(() => createTables(schema));
  } catch (error) {
    await pool.end();
    throw error;
  }
  return db;
}

function* createTables(schema: string): Effect<void> {
  const lockKey = createHash("sha256").update(`sagaflow demo participants ${schema}`).digest().readBigInt64BE(0).toString();
  yield* query("SELECT pg_advisory_xact_lock($1)", [lockKey]);
  // Checked first so that a role without CREATE on the database can use a schema made for it.
  const [found] = yield* query<{ found: boolean }>("SELECT to_regnamespace($1) IS NOT NULL AS found", [schema]);
  if (found?.found !== true) yield* run(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  yield* run(CREATE_PARTICIPANT_TABLES);
  for (const [sku, available] of Object.entries(INITIAL_STOCK)) yield* run(SEED_STOCK, [sku, available]);
}

class PostgresParticipantDb implements ParticipantDb {
  readonly #pool: pg.Pool;
  readonly #schema: string;

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#schema = schema;
  }

  async query<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.#pool.query(sql, [...params])).rows as Row[];
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.#pool.query(sql, [...params])).rowCount ?? 0;
  }

  async transaction<T>(work: () => Effect<T>): Promise<T> {
    // A checked-out connection that dies emits 'error' on the client; unheard it ends the process.
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
    };
    const client = await checkoutWithErrorListener(this.#pool, onError);
    const execute = async (statement: Statement): Promise<unknown> => {
      // Without parameters, pg uses the simple protocol, which also runs multi-statement DDL.
      const result = statement.params.length === 0 ? await client.query(statement.sql) : await client.query(statement.sql, [...statement.params]);
      return statement.kind === "query" ? result.rows : (result.rowCount ?? 0);
    };
    try {
      await client.query("BEGIN");
      const result = await drive(work(), execute);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      try {
        await client.query("ROLLBACK");
      } catch (rollbackError) {
        broken ??= rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      client.off("error", onError);
      // With an error the pool discards the connection instead of handing it out again.
      client.release(broken);
    }
  }

  async tableExists(name: string): Promise<boolean> {
    const [row] = await this.query<{ found: boolean }>("SELECT to_regclass($1) IS NOT NULL AS found", [`"${this.#schema}".${name}`]);
    return row?.found === true;
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
