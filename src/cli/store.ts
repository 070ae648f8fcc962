import { StoreUnavailableError } from "../errors.js";
import type { ParticipantTarget } from "../examples/order/index.js";
import type { SagaStore } from "../store/saga-store.js";
import { UsageError } from "./errors.js";

/** The schema `--schema` names when it is not given. */
export const DEFAULT_SCHEMA = "sagaflow";
const POSTGRES_URL = /^postgres(ql)?:\/\//i;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Where a command's sagas live: a SQLite file, or a schema of a PostgreSQL database. `where`
 * names the server as `host:port/database`, never with the password, for messages and logs.
 */
export type DatabaseLocation = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string; schema: string; where: string };

/** `--db` and `--schema` as commander hands them over. */
export interface DatabaseFlags {
  db?: string;
  schema?: string;
}

/** Whether `value` is a `postgres://` or `postgresql://` URL rather than a file path. */
export function isPostgresUrl(value: string): boolean {
  return POSTGRES_URL.test(value);
}

/**
 * `--db FILE|URL`, else `DATABASE_URL` (when `useEnv`), else a usage error. `--schema` only
 * means something for PostgreSQL, so it is refused beside a SQLite file.
 */
export function resolveDatabase(flags: DatabaseFlags, useEnv = true, env: NodeJS.ProcessEnv = process.env): DatabaseLocation {
  const fromEnv = useEnv && env.DATABASE_URL !== undefined && env.DATABASE_URL !== "" ? env.DATABASE_URL : undefined;
  const db = flags.db ?? fromEnv;
  if (db === undefined) throw new UsageError("--db is required: a SQLite file or a postgres:// URL (or set DATABASE_URL)");
  if (!isPostgresUrl(db)) {
    if (flags.db === undefined) throw new UsageError("DATABASE_URL must be a postgres:// or postgresql:// URL");
    if (flags.schema !== undefined) throw new UsageError("--schema applies to PostgreSQL only, and --db names a SQLite file");
    return { kind: "sqlite", path: db };
  }
  return { kind: "postgres", url: db, schema: flags.schema ?? DEFAULT_SCHEMA, where: serverOf(db, flags.db === undefined ? "DATABASE_URL" : "--db") };
}

/** `host:port/database` of a PostgreSQL URL; a URL that does not parse is refused without being echoed (it may hold a password). */
function serverOf(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${source} is not a valid PostgreSQL URL (expected postgres://user:password@host:port/database)`);
  }
  const host = parsed.hostname === "" ? "localhost" : parsed.hostname;
  return `${host}:${parsed.port === "" ? "5432" : parsed.port}${parsed.pathname === "" ? "/" : parsed.pathname}`;
}

/** The location in words: the file, or `PostgreSQL at host:port/db (schema s)`. */
export function describeDatabase(location: DatabaseLocation): string {
  return location.kind === "sqlite" ? location.path : `PostgreSQL at ${location.where} (schema ${location.schema})`;
}

/** The `--db … [--schema …]` flags that name this location again, for hints; a URL loses its password. */
export function databaseFlags(location: DatabaseLocation): string {
  if (location.kind === "sqlite") return `--db ${location.path}`;
  const url = new URL(location.url);
  url.password = "";
  return `--db ${url.toString()} --schema ${location.schema}`;
}

/** Where the example participants keep their tables for this location: the same file or schema. */
export function participantTarget(location: DatabaseLocation): ParticipantTarget {
  return location.kind === "sqlite" ? { kind: "sqlite", path: location.path } : { kind: "postgres", connectionString: location.url, schema: location.schema };
}

/**
 * Opens the store. `mustExist` (inspection and worker commands): never create anything — a
 * missing file, or a schema without Sagaflow's tables, is an error instead.
 */
export async function openStore(location: DatabaseLocation, options: { mustExist: boolean }): Promise<SagaStore> {
  // Each adapter (and its driver) is loaded when a command first opens a store of its kind, so
  // `--help`, a usage error or a SQLite command never loads PostgreSQL's, and the other way round.
  if (location.kind === "sqlite") {
    const { openSqliteStore } = await import("../store/sqlite/index.js");
    return openSqliteStore({ path: location.path, mustExist: options.mustExist });
  }
  // A short-lived connection first: it names the server when it cannot be reached, and checks
  // the schema without the store's migrations, which would create it.
  await checkPostgres(location, options.mustExist);
  const { openPostgresStore } = await import("../store/postgres/index.js");
  try {
    return await openPostgresStore({ connectionString: location.url, schema: location.schema, applicationName: "sagaflow-cli" });
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    throw new StoreUnavailableError(`${error.message} (PostgreSQL at ${location.where})`, { cause: error });
  }
}

/** Opens an existing store (see `openStore`), runs `use`, and closes it. */
export async function withExistingStore<T>(location: DatabaseLocation, use: (store: SagaStore) => Promise<T>): Promise<T> {
  const store = await openStore(location, { mustExist: true });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Connects once; with `mustExist`, also refuses a schema that holds no Sagaflow tables. Creates nothing. */
export async function checkPostgres(location: Extract<DatabaseLocation, { kind: "postgres" }>, mustExist: boolean): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: location.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: "sagaflow-cli" });
  client.on("error", () => undefined);
  try {
    try {
      await client.connect();
    } catch (error) {
      throw new StoreUnavailableError(`cannot connect to PostgreSQL at ${location.where}: ${reasonOf(error)}`, { cause: error });
    }
    if (!mustExist) return;
    const { rows } = await client.query<{ found: boolean }>("SELECT to_regclass($1) IS NOT NULL AS found", [`"${location.schema}".sagaflow_migrations`]);
    if (rows[0]?.found !== true) {
      throw new StoreUnavailableError(`no Sagaflow tables in schema "${location.schema}" at ${location.where}; check --schema (nothing was created)`);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The driver's reason in a few words; connection errors from several addresses may come without a message. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  if (error.message !== "") return error.message;
  return typeof code === "string" ? code : error.name;
}
