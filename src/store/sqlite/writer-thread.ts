// Group commits of the usual kind written from a worker thread with a connection of its own, so
// that SQLite executing a batch's statements and waiting for its fsync no longer stops the event
// loop: the engine runs the sagas of one batch while the thread writes the next. The store builds
// every parameter (JSON included) on the main thread; the thread only binds and executes.
//
// The thread writes only a batch in which every item succeeds: each create inserts its row, each
// commit matches its guarded UPDATE. At the first item that does not (an id or idempotency key in
// use, a fenced commit, an inbox that changed, a caller's bug) it rolls the whole transaction back
// and answers that it wrote nothing (`committed: false`), and the store writes the batch again on
// its own connection with the code it always uses, which decides what each refusal means. So the
// outcomes cannot differ from the main thread's: the thread runs the same statements (their named
// parameters bound by position), in the same order, on the same values, and commits only when the
// main thread's code would have committed all of them.
//
// Durability is the main thread's: a batch's promise resolves only after the thread's COMMIT
// returned (synchronous=FULL: its WAL frames are flushed). A thread that fails or dies rejects
// what it was writing; whether such a write committed is not known, so it counts as not durable
// (the drivers leave those sagas to recovery) and later batches are written on the main thread.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { FaultPoint } from "../../fault-points.js";

/**
 * A group commit as the thread takes it, flat (a third of the cost of objects to pass between
 * threads): `creates` creates, then `commits` commits, in `values` one after the other. A create is
 * its `INSERT_INSTANCE` parameters in `INSTANCE_INSERT_KEYS` order, then its history row; a commit
 * its `UPDATE_COMMITTED` parameters in `COMMIT_KEYS` order, whether to try
 * `UPDATE_COMMITTED_KEEPING_SCHEDULE` first, then its history row. A history row is the entry
 * count (0: no row), `at_ms` of the first entry, worker id, epoch and the entries' JSON; the thread
 * adds the saga id and numbers it from what its statement returns (see `pushHistoryTail`).
 */
export interface ThreadBatch {
  creates: number;
  commits: number;
  values: unknown[];
}

/** What the thread did with a batch: committed it (with this many statements), or wrote nothing. */
export type ThreadOutcome = { committed: true; statements: number } | { committed: false };

/** The SQL the thread runs: the store's own texts (`queries.ts`), handed over as they are, and the order of their parameters in a `ThreadBatch`. */
export interface ThreadStatements {
  instanceInsertKeys: readonly string[];
  commitKeys: readonly string[];
  insertInstance: string;
  updateCommitted: string;
  updateCommittedKeepingSchedule: string;
  deleteAppliedInbox: string;
  /** `insertHistory(rows)` is `historyInsertPrefix` + `rows` × `historyRowPlaceholders`, joined by ", ". */
  historyInsertPrefix: string;
  historyRowPlaceholders: string;
  historyRowsPerStatement: number;
  /** Values per history row (`HISTORY_COLUMNS`). */
  historyColumns: number;
  /** Run once on the thread's connection (busy timeout, synchronous level, …). */
  pragmas: string[];
}

// Plain CommonJS run with `eval` (as the background checkpointer's), so the same code runs from
// the TypeScript sources (tests, benchmark) and from the compiled package. Driver errors are
// passed on as their code and message: the driver's class does not survive the trip (its
// instances arrive as plain objects).
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driverPath);
const sql = workerData.statements;
const describe = (error) => (error && error.code ? error.code + ": " : "") + String((error && error.message) || error);
let db;
try {
  db = new Database(workerData.path, { fileMustExist: true });
  for (const pragma of sql.pragmas) db.exec(pragma);
} catch (error) {
  throw new Error(describe(error));
}
const cache = new Map();
const prepare = (text) => {
  let statement = cache.get(text);
  if (statement === undefined) {
    statement = db.prepare(text);
    cache.set(text, statement);
  }
  return statement;
};
// The store's statements with their named parameters turned into positional ones, each bound
// straight from the batch's flat values: no parameter object per item, and positional binding
// costs the driver about a microsecond less per statement than named. Same SQL otherwise.
const positional = (text, keys) => {
  const order = [];
  const positionalText = text.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, (_, name) => {
    const index = keys.indexOf(name);
    if (index < 0) throw new Error("the writer thread has no value for @" + name);
    order.push(index);
    return "?";
  });
  try {
    return { statement: db.prepare(positionalText), order };
  } catch (error) {
    throw new Error(describe(error));
  }
};
const argsOf = (bound, values, at) => {
  const args = new Array(bound.order.length);
  for (let k = 0; k < args.length; k++) args[k] = values[at + bound.order[k]];
  return args;
};
const insertInstance = positional(sql.insertInstance, sql.instanceInsertKeys);
const updateCommitted = positional(sql.updateCommitted, sql.commitKeys);
const updateKeepingSchedule = positional(sql.updateCommittedKeepingSchedule, sql.commitKeys);
const deleteAppliedInbox = positional(sql.deleteAppliedInbox, sql.commitKeys);
const ID = sql.instanceInsertKeys.indexOf("id");
const SAGA_ID = sql.commitKeys.indexOf("sagaId");
const INBOX_SEQ = sql.commitKeys.indexOf("inboxSeq");
// FaultPoint.WriteBeforeCommit, armed as on the main thread (its hits counted here apart).
const armed = process.env.SAGAFLOW_FAULT_POINT === workerData.beforeCommitPoint;
let hitsLeft = Number.parseInt(process.env.SAGAFLOW_FAULT_AFTER || "1", 10) || 1;
const beforeCommit = () => {
  if (!armed || --hitsLeft > 0) return;
  process.kill(process.pid, "SIGKILL");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10000);
};
const begin = db.prepare("BEGIN IMMEDIATE");
const commit = db.prepare("COMMIT");
const rollback = db.prepare("ROLLBACK");
const FALLBACK = null;

// The batch's statements, as SqliteStore#create and #commitOne run them when all goes well;
// FALLBACK at the first item that does not.
function write(batch) {
  const values = batch.values;
  let at = 0;
  let statements = 0;
  const history = [];
  for (let i = 0; i < batch.creates; i++) {
    let changes;
    try {
      changes = insertInstance.statement.run(...argsOf(insertInstance, values, at)).changes;
    } catch (error) {
      if (error && error.code === "SQLITE_CONSTRAINT_PRIMARYKEY") return FALLBACK;
      throw error;
    }
    statements++;
    if (changes !== 1) return FALLBACK;
    const id = values[at + ID];
    at += sql.instanceInsertKeys.length;
    if (values[at] > 0) history.push(id, 1, values[at], values[at + 1], values[at + 2], values[at + 3], values[at + 4]);
    at += 5;
  }
  for (let i = 0; i < batch.commits; i++) {
    const start = at;
    at += sql.commitKeys.length;
    let written;
    if (values[at++] === true) {
      written = updateKeepingSchedule.statement.get(...argsOf(updateKeepingSchedule, values, start));
      statements++;
    }
    if (written === undefined) {
      written = updateCommitted.statement.get(...argsOf(updateCommitted, values, start));
      statements++;
    }
    if (written === undefined) return FALLBACK;
    const count = values[at];
    if (count > 0) history.push(values[start + SAGA_ID], written.history_count - count + 1, count, values[at + 1], values[at + 2], values[at + 3], values[at + 4]);
    at += 5;
    if (values[start + INBOX_SEQ] > 0) {
      deleteAppliedInbox.statement.run(...argsOf(deleteAppliedInbox, values, start));
      statements++;
    }
  }
  const perStatement = sql.historyRowsPerStatement * sql.historyColumns;
  for (let offset = 0; offset < history.length; offset += perStatement) {
    const chunk = history.slice(offset, offset + perStatement);
    prepare(sql.historyInsertPrefix + Array.from({ length: chunk.length / sql.historyColumns }, () => sql.historyRowPlaceholders).join(", ")).run(chunk);
    statements++;
  }
  return statements;
}

parentPort.on("message", (message) => {
  if (message === "close") {
    db.close();
    parentPort.close();
    return;
  }
  let reply;
  try {
    begin.run();
    let statements;
    try {
      statements = write(message.batch);
    } catch (error) {
      if (db.inTransaction) rollback.run();
      throw error;
    }
    if (statements === FALLBACK) {
      rollback.run();
      reply = { id: message.id, committed: false };
    } else {
      beforeCommit();
      commit.run();
      reply = { id: message.id, committed: true, statements };
    }
  } catch (error) {
    if (db.inTransaction) {
      try { rollback.run(); } catch {}
    }
    reply = { id: message.id, failed: describe(error) };
  }
  parentPort.postMessage(reply);
});
`;

/** The thread's young generation (V8's default is several times larger). */
const YOUNG_GENERATION_MB = 8;

interface Reply {
  id: number;
  committed?: boolean;
  statements?: number;
  failed?: string;
}

interface Pending {
  resolve: (outcome: ThreadOutcome) => void;
  reject: (error: Error) => void;
}

/** A thread that writes group commits to the database at `path` on a connection of its own. */
export class WriterThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #nextId = 0;
  #running = true;
  #failure: string | null = null;

  /** Starts the thread on the database file at `path`, which must exist and be migrated. */
  constructor(path: string, statements: ThreadStatements) {
    const driverPath = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, driverPath, statements, beforeCommitPoint: FaultPoint.WriteBeforeCommit },
      // What the thread allocates is one batch's values at a time, dead by the next, so a small
      // young generation bounds its heap; measured in alternating runs, it costs no throughput.
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    // Held only while a batch is out (see `write`), so an idle store does not keep the process alive.
    this.#worker.unref();
    this.#worker.on("message", (reply: Reply) => this.#settle(reply));
    this.#exited = new Promise((resolve) => {
      this.#worker.once("error", (error: unknown) => this.#stop(error instanceof Error ? error.message : String(error)));
      this.#worker.once("exit", () => {
        this.#stop("the writer thread exited");
        resolve();
      });
    });
  }

  /** Whether the thread still takes batches; false once closed or after it failed. */
  get running(): boolean {
    return this.#running;
  }

  /** Why the thread stopped, if it failed. */
  get failure(): string | null {
    return this.#failure;
  }

  /**
   * Writes `batch` in one IMMEDIATE transaction on the thread: resolves once it committed (or
   * rolled back for the main thread to write it); rejects if the thread failed or stopped, in
   * which case the batch may or may not have committed.
   */
  write(batch: ThreadBatch): Promise<ThreadOutcome> {
    if (!this.#running) return Promise.reject(new Error(this.#failure ?? "the writer thread was closed"));
    const id = this.#nextId++;
    return new Promise<ThreadOutcome>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, batch });
    });
  }

  /** Waits for the batches already sent, then stops the thread and closes its connection. */
  async close(): Promise<void> {
    if (this.#running) {
      this.#worker.ref();
      // Messages are taken in order: every batch sent before this one is answered first.
      this.#worker.postMessage("close");
    }
    await this.#exited;
  }

  #settle(reply: Reply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0 && this.#running) this.#worker.unref();
    if (reply.failed !== undefined) pending.reject(new Error(reply.failed));
    else if (reply.committed === true) pending.resolve({ committed: true, statements: reply.statements ?? 0 });
    else pending.resolve({ committed: false });
  }

  #stop(reason: string): void {
    if (!this.#running) return;
    this.#running = false;
    this.#failure = reason;
    for (const pending of this.#pending.values()) pending.reject(new Error(reason));
    this.#pending.clear();
  }
}
