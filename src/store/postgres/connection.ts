import { checkoutWithErrorListener } from "./pool-checkout.js";
import { FaultPoint, faultPoint } from "../../fault-points.js";
import { Pool, types, type ClientConfig, type CustomTypesConfig, type PoolClient } from "pg";
import { SagaflowError, StoreUnavailableError } from "../../errors.js";
import type { CheckedPostgresOptions } from "./options.js";

/** How long opening a connection may take before the call fails (pg waits forever by default). */
const CONNECT_TIMEOUT_MS = 10_000;
const INT8_OID = 20;

/**
 * BIGINT (times in ms, epochs, counts) arrives as a JS number rather than pg's default string.
 * Epoch milliseconds and fencing epochs stay far below 2^53. Set per pool, never globally, so
 * other users of `pg` in the process keep their parsers.
 */
const INT8_AS_NUMBER: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary" ? (value: string) => Number(value) : (types.getTypeParser(oid, format) as unknown)) as CustomTypesConfig["getTypeParser"],
};

/** Runs statements on one connection, inside a transaction. */
export type Query = <Row>(sql: string, params?: readonly unknown[]) => Promise<Row[]>;

/** Client-side counters, for tests and the benchmark. */
export interface PostgresStoreStats {
  /** Transactions committed, explicit or single-statement writes. */
  commits: number;
  /** SQL statements sent, not counting BEGIN, COMMIT and ROLLBACK. */
  statements: number;
  /** Pooled connections that failed while idle (server restart, `pg_terminate_backend`) and were replaced. */
  connectionsLost: number;
}

/**
 * The store's connection pool: counts what it sends, keeps idle-connection failures from
 * crashing the process, and turns driver failures into `StoreUnavailableError`.
 */
export class PostgresConnection {
  /** Names the store in error messages, without the connection string (it may hold a password). */
  readonly label: string;
  readonly #pool: Pool;
  readonly #clientConfig: ClientConfig;
  readonly #stats: PostgresStoreStats = { commits: 0, statements: 0, connectionsLost: 0 };

  constructor(options: CheckedPostgresOptions) {
    this.label = `the PostgreSQL store (schema ${options.schema})`;
    this.#clientConfig = {
      connectionString: options.connectionString,
      application_name: options.applicationName,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      types: INT8_AS_NUMBER,
    };
    this.#pool = new Pool({ ...this.#clientConfig, max: options.poolSize });
    // An idle connection the server dropped is reported here; without a listener the 'error'
    // event would be thrown and end the process. The pool has already discarded the connection.
    this.#pool.on("error", () => {
      this.#stats.connectionsLost++;
    });
  }

  /** What a dedicated connection (the notification listener) is opened with. */
  get clientConfig(): ClientConfig {
    return { ...this.#clientConfig };
  }

  get stats(): PostgresStoreStats {
    return { ...this.#stats };
  }

  /** One statement on any pooled connection, committed on its own if it writes. */
  async query<Row>(sql: string, params?: readonly unknown[], prepareAs?: string): Promise<Row[]> {
    this.#stats.statements++;
    const values = params === undefined ? undefined : [...params];
    const result = await (prepareAs === undefined ? this.#pool.query(sql, values) : this.#pool.query({ name: prepareAs, text: sql, values }));
    return result.rows as Row[];
  }

  /**
   * `query` for a statement that writes: also counted as a commit. With `prepareAs`, the statement
   * is prepared under that name on each connection and its plan reused, which spares the planning
   * of a large statement when it is run again and again with the same shape of parameters.
   */
  async write<Row>(sql: string, params?: readonly unknown[], prepareAs?: string): Promise<Row[]> {
    // A statement of its own commits as it runs, so "before its commit" is before it is sent.
    faultPoint(FaultPoint.WriteBeforeCommit);
    const rows = await this.query<Row>(sql, params, prepareAs);
    faultPoint(FaultPoint.WriteAfterCommit);
    this.#stats.commits++;
    return rows;
  }

  /**
   * Runs `work` in one transaction on one connection, rolling back if it throws. A COMMIT that
   * fails on a lost connection may or may not have taken effect; the caller only sees a failure,
   * which fencing makes safe to act on (a retried write is refused if the first one landed).
   */
  async transaction<T>(work: (query: Query) => Promise<T>): Promise<T> {
    // A checked-out connection that dies emits 'error' on the client, which would crash the
    // process without a listener; the failed query rejects on its own.
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
    };
    const client = await checkoutWithErrorListener(this.#pool, onError);
    try {
      // BEGIN is not awaited on its own: the first statement is queued behind it on the same
      // connection and sent as soon as BEGIN is answered, without a trip through the event loop.
      // That statement's result is used only once BEGIN succeeded too.
      const begun = client.query("BEGIN");
      // Observed below; this keeps a failed BEGIN from being reported unhandled if `work` throws first.
      begun.catch(() => undefined);
      let pendingBegin: Promise<unknown> | undefined = begun;
      const query: Query = async <Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> => {
        const running = this.#queryOn(client)<Row>(sql, params);
        if (pendingBegin !== undefined) {
          pendingBegin = undefined;
          await Promise.all([begun, running]);
        }
        return running;
      };
      const result = await work(query);
      await begun;
      faultPoint(FaultPoint.WriteBeforeCommit);
      await client.query("COMMIT");
      this.#stats.commits++;
      faultPoint(FaultPoint.WriteAfterCommit);
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
      // Passing an error makes the pool discard the connection instead of reusing it.
      client.release(broken);
    }
  }

  /** Ends every pooled connection once its current call is done. */
  async end(): Promise<void> {
    await this.#pool.end();
  }

  /** Runs `work`, turning any failure other than Sagaflow's own errors into `StoreUnavailableError`. */
  async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** The error a caller sees for `error`: Sagaflow's own errors as they are, anything else wrapped. */
  unavailable(error: unknown): unknown {
    if (error instanceof SagaflowError) return error;
    const code = serverError(error)?.code;
    // No SQLSTATE (socket errors), class 08 (connection) or 57P (server shutting down): the server is out of reach.
    const unreachable = code === undefined || code.startsWith("08") || code.startsWith("57P") || code.startsWith("E");
    const hint = unreachable ? "; check that PostgreSQL is running and reachable" : "";
    return new StoreUnavailableError(`${this.label} failed: ${describe(error)}${hint}`, { cause: error });
  }

  #queryOn(client: PoolClient): Query {
    return async <Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> => {
      this.#stats.statements++;
      const result = await client.query(sql, params === undefined ? undefined : [...params]);
      return result.rows as Row[];
    };
  }
}

/** `SQLSTATE: message` for a server error, the message for anything else. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && code !== "" ? `${code}: ${error.message}` : error.message;
}

/** The SQLSTATE and constraint of a server error, when it is one. */
export function serverError(error: unknown): { code: string; constraint: string | undefined } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return typeof code === "string" ? { code, constraint: typeof constraint === "string" ? constraint : undefined } : undefined;
}
