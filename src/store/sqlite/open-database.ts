import { closeSync, existsSync, openSync, readSync } from "node:fs";
import Database from "better-sqlite3";
import { InvalidArgumentError, SagaflowError, StoreUnavailableError } from "../../errors.js";
import { connectionPragmas, PROBE_DATABASE, SELECT_LEDGER_EXISTS } from "./queries.js";

/** How to open a SQLite store. */
export interface SqliteStoreOptions {
  /** Database file; created on first use unless `mustExist`. `":memory:"` gives a private in-memory database. */
  path: string;
  /**
   * `FULL` (default): a commit survives power loss. `NORMAL`: a commit survives a crash of the
   * process but the last ones may be lost on power loss (faster; WAL keeps the file consistent).
   */
  synchronous?: "FULL" | "NORMAL";
  /** How long a write waits for another connection's lock before failing. Default 5000. */
  busyTimeoutMs?: number;
  /** Refuse a missing file (or a SQLite file that is not Sagaflow's) instead of creating one; for inspection commands. */
  mustExist?: boolean;
  /**
   * Checkpoint the WAL from a worker thread (default `true`) instead of in the writer's commits on
   * the event loop; started at the first write. `false` leaves it to SQLite's automatic checkpoint.
   */
  backgroundCheckpoint?: boolean;
  /**
   * Write large group commits (at least `minBatch` items, default 16) from a worker thread with a
   * connection of its own (default `true` for a database file), so the event loop runs sagas while
   * SQLite writes and flushes: more sagas per second under load, the same durability. Smaller
   * batches, and every other write, stay on the event loop's connection, so latency at low load
   * does not change. `false` writes everything on the event loop. Needs a database file.
   */
  writerThread?: boolean | { minBatch?: number };
}

/** The group commits the writer thread takes: none (null), or those of at least this many items. */
export function writerThreadMinBatch(options: SqliteStoreOptions, defaultMinBatch: number): number | null {
  const option = options.writerThread;
  if (option === false || (option === undefined && isInMemory(options.path))) return null;
  if (option === undefined || option === true) return defaultMinBatch;
  return option.minBatch ?? defaultMinBatch;
}

/** Whether `path` names a private in-memory database rather than a file. */
export function isInMemory(path: string): boolean {
  return path === ":memory:" || path === "";
}

const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");

/**
 * Opens and configures a connection, refusing anything that is not a healthy SQLite database
 * without writing to it: the file's header is read with plain file I/O, then one read-only query
 * runs before the first PRAGMA that could write (journal_mode=WAL rewrites the header).
 */
export function openDatabase(options: SqliteStoreOptions): Database.Database {
  const { path } = options;
  const synchronous = options.synchronous ?? "FULL";
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (synchronous !== "FULL" && synchronous !== "NORMAL") {
    throw new InvalidArgumentError("synchronous", `must be "FULL" or "NORMAL", got ${JSON.stringify(synchronous)}`);
  }
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new InvalidArgumentError("busyTimeoutMs", `must be an integer ≥ 0, got ${String(busyTimeoutMs)}`);
  }
  if (options.backgroundCheckpoint !== undefined && typeof options.backgroundCheckpoint !== "boolean") {
    throw new InvalidArgumentError("backgroundCheckpoint", `must be true or false, got ${JSON.stringify(options.backgroundCheckpoint)}`);
  }
  const inMemory = isInMemory(path);
  const { writerThread } = options;
  if (writerThread !== undefined && typeof writerThread !== "boolean" && (typeof writerThread !== "object" || writerThread === null)) {
    throw new InvalidArgumentError("writerThread", `must be true, false or { minBatch }, got ${JSON.stringify(writerThread)}`);
  }
  if (typeof writerThread === "object" && writerThread.minBatch !== undefined && (!Number.isInteger(writerThread.minBatch) || writerThread.minBatch < 1)) {
    throw new InvalidArgumentError("writerThread.minBatch", `must be an integer ≥ 1, got ${JSON.stringify(writerThread.minBatch)}`);
  }
  if (writerThread !== undefined && writerThread !== false && inMemory) {
    throw new InvalidArgumentError("writerThread", "needs a database file: a thread cannot open another connection's in-memory database");
  }
  if (!inMemory) checkFile(path, options.mustExist === true);

  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: options.mustExist === true });
  } catch (error) {
    throw openFailure(path, error);
  }
  try {
    const pragmas = connectionPragmas({ busyTimeoutMs, synchronous });
    db.exec(pragmas.busyTimeout);
    db.prepare(PROBE_DATABASE).get();
    if (options.mustExist === true && db.prepare(SELECT_LEDGER_EXISTS).get() === undefined) {
      throw new StoreUnavailableError(`no Sagaflow database at ${path} (it is a SQLite file without Sagaflow's tables); check the path`);
    }
    const journalMode = retryWhileBusy(() => db.prepare(pragmas.journalMode).pluck().get(), busyTimeoutMs);
    if (!inMemory && journalMode !== "wal") {
      throw new StoreUnavailableError(`could not switch ${path} to WAL mode (it is in ${String(journalMode)} mode); check that its directory is writable`);
    }
    for (const pragma of pragmas.settings) db.exec(pragma);
    return db;
  } catch (error) {
    db.close();
    throw error instanceof SagaflowError ? error : openFailure(path, error);
  }
}

function checkFile(path: string, mustExist: boolean): void {
  if (!existsSync(path)) {
    if (mustExist) throw new StoreUnavailableError(`no Sagaflow database at ${path}; check the path (inspection commands never create one)`);
    return;
  }
  const header = Buffer.alloc(SQLITE_HEADER.length);
  let read: number;
  try {
    const fd = openSync(path, "r");
    try {
      read = readSync(fd, header, 0, header.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new StoreUnavailableError(`cannot read ${path} (${describe(error)}); check that it is a readable file`, { cause: error });
  }
  // SQLite treats an empty file as an empty database; anything else must carry its header.
  if (read > 0 && !(read === header.length && header.equals(SQLITE_HEADER))) {
    throw new StoreUnavailableError(`${path} is not a SQLite database; check the path (Sagaflow left the file untouched)`);
  }
}

function openFailure(path: string, error: unknown): StoreUnavailableError {
  const code = error instanceof Database.SqliteError ? error.code : "";
  if (code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT")) {
    return new StoreUnavailableError(
      `${path} is not a healthy SQLite database (${describe(error)}); check the path or restore it from a backup (Sagaflow left it untouched)`,
      { cause: error },
    );
  }
  return new StoreUnavailableError(
    `cannot open the SQLite database at ${path} (${describe(error)}); check that its directory exists and is writable`,
    { cause: error },
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Switching a new file to WAL takes an exclusive lock for which SQLite does not always call the
 * busy handler: two processes opening the same new file at once could see SQLITE_BUSY at once
 * (seen in the two-process create race test). Retry for as long as busy_timeout would wait.
 */
function retryWhileBusy<T>(work: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return work();
    } catch (error) {
      const busy = error instanceof Database.SqliteError && (error.code === "SQLITE_BUSY" || error.code === "SQLITE_LOCKED");
      if (!busy || Date.now() >= deadline) throw error;
      // Opening is synchronous in better-sqlite3; a short blocking pause keeps it so.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}
