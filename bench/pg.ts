// PostgreSQL helpers for the harness: the server's own counters (pg_stat_database and, where
// installed and preloaded, pg_stat_statements), scratch schemas, connection-string options.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";

/** The server in `DATABASE_URL`, else the local one the tests use. */
export function benchDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.DATABASE_URL;
  return url !== undefined && url !== "" ? url : "postgres://postgres@127.0.0.1:5432/test";
}

/** `url` with query parameters added (e.g. `options=-c synchronous_commit=off`, `application_name`). */
export function withParams(url: string, params: Record<string, string>): string {
  const parsed = new URL(url);
  for (const [key, value] of Object.entries(params)) parsed.searchParams.set(key, value);
  return parsed.toString();
}

/** `host:port/database`, never the password. */
export function describeServer(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}${parsed.pathname}`;
}

/** A fresh lower-case identifier such as `bench_1a2b3c4d`. */
export function scratchName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString("hex")}`;
}

/** The server's counters for this database. `statements` is null without pg_stat_statements. */
export interface ServerCounters {
  xactCommit: number;
  statements: number | null;
}

/** One connection that reads the server's counters, and says why pg_stat_statements is not used. */
export class ServerMonitor {
  readonly #client: pg.Client;
  /** Null when pg_stat_statements can be read; otherwise the reason it cannot. */
  statementsUnavailable: string | null = null;
  /** Transactions this monitor itself ran, subtracted from every delta. */
  #ownQueries = 0;

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  static async connect(url: string): Promise<ServerMonitor> {
    const client = new pg.Client({ connectionString: withParams(url, { application_name: "sagaflow-bench-monitor" }) });
    await client.connect();
    const monitor = new ServerMonitor(client);
    try {
      const installed = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'");
      monitor.#ownQueries++;
      if (installed.rowCount === 0) monitor.statementsUnavailable = "the pg_stat_statements extension is not installed in this database";
      else await client.query("SELECT count(*) FROM pg_stat_statements");
    } catch (error) {
      monitor.statementsUnavailable = `pg_stat_statements cannot be read (${error instanceof Error ? error.message : String(error)})`;
    }
    monitor.#ownQueries++;
    return monitor;
  }

  async read(): Promise<ServerCounters> {
    const xact = await this.#client.query<{ n: string }>("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()");
    this.#ownQueries++;
    let statements: number | null = null;
    if (this.statementsUnavailable === null) {
      const calls = await this.#client.query<{ n: string | null }>(
        "SELECT sum(calls) AS n FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
      );
      this.#ownQueries++;
      statements = Number(calls.rows[0]?.n ?? 0);
    }
    return { xactCommit: Number(xact.rows[0]?.n ?? 0) - this.#ownQueries, statements };
  }

  /**
   * Waits until no backend of `applicationName` is left. A backend publishes its counters when
   * it exits (otherwise only every second at best, or ten seconds after going idle), so deltas are
   * read only after the clients under test have disconnected.
   */
  async waitForDisconnect(applicationName: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = await this.#client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1", [applicationName]);
      this.#ownQueries++;
      if (Number(left.rows[0]?.n) === 0 || Date.now() > deadline) break;
      await sleep(20);
    }
    await sleep(50);
  }

  /** The first column of the first row, as text. */
  async scalar(sql: string): Promise<string | null> {
    const result = await this.#client.query<Record<string, unknown>>(sql);
    this.#ownQueries++;
    const row = result.rows[0];
    return row === undefined ? null : String(Object.values(row)[0]);
  }

  /**
   * Has the server write its dirty buffers back now (`CHECKPOINT`), so that the next cell does not
   * pay for the writes of the one before: PostgreSQL otherwise writes them back over the following
   * minutes, its flushes sharing the disk with whatever is measured then (a SQLite C=1 cell right
   * after a PostgreSQL C=512 one took 2.3–2.5 ms a saga, 1.0–1.1 ms after a 0.14 s CHECKPOINT).
   * Resolves to why it could not (CHECKPOINT needs a superuser or `pg_checkpoint`), or null.
   */
  async checkpoint(): Promise<string | null> {
    try {
      await this.#client.query("CHECKPOINT");
      this.#ownQueries++;
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  close(): Promise<void> {
    return this.#client.end();
  }
}

/** Drops a scratch schema and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
